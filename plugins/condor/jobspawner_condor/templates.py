# ruff: noqa: E501  (template lines are as long as the submit description needs)
"""The two texts an HTCondor job needs: the job script and the submit description.

HTCondor does not read directives from a script: the script is the job's *executable* and
the resources go into a separate submit description (``key = value`` lines ending in
``queue``). Both are Jinja2 templates rendered by :func:`jobspawner.facade.templates.render`
(sandboxed, ``StrictUndefined``). Sites override the script with
``c.JobSpawner.batch_script`` and the description with the backend option
``submit_description``.

The description sees every job variable (``cpus``, ``memory_mb``, ``runtime_s``, ``account``,
``workdir``, ``output_file``...) plus ``condor``, a mapping of values this backend computes:
``executable`` (the script's path), ``log_file`` (the job event log), ``error_file``,
``requirements``, ``arguments`` and ``environment`` (already in HTCondor's quoting),
``getenv``, ``should_transfer_files``, ``extra_lines``. Every optional line is left out when
its value is unset. Values go through the ``directive`` filter, which refuses line breaks:
a value can never add a line to the description.
"""

from __future__ import annotations

import re

from jobspawner import FeatureGrammar, hookimpl

#: The user's part of ``requirements``: a balanced boolean expression of machine attribute
#: names with ``&&``, ``||``, ``!`` and parentheses. It is written as ``(site) && (user)``,
#: so the site's ``requirements`` always holds. Attributes condor_submit looks for to add
#: its own clauses (``Memory``, ``Disk``, ``Arch``...) and literals are refused.
CONSTRAINT = FeatureGrammar(
    name=re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}"),
    binary=("&&", "||"),
    unary=("!",),
    groups=(("(", ")"),),
    example="HasAVX2&&!IsLaptop",
    reserved=frozenset(
        {
            "true",
            "false",
            "undefined",
            "error",
            "is",
            "isnt",
            "my",
            "target",
            "arch",
            "opsys",
            "opsysandver",
            "opsysmajorver",
            "disk",
            "memory",
            "cpus",
            "gpus",
            "filesystemdomain",
            "uiddomain",
            "requestmemory",
            "requestdisk",
            "requestcpus",
            "requestgpus",
            "requirements",
            "rank",
        }
    ),
)


@hookimpl
def check_constraint(constraint: str) -> str:
    """Refuse what is not a boolean expression of machine attribute names."""
    return CONSTRAINT.check(constraint) or ""


SCRIPT_TEMPLATE = """\
#!/bin/bash
# jobspawner HTCondor job {{ job_name }}
set -e
{% include "jobspawner/job_body.sh" %}
"""

SUBMIT_DESCRIPTION_TEMPLATE = """\
# jobspawner HTCondor submit description for {{ job_name }}
universe = vanilla
executable = {{ condor.executable | directive }}
{% if condor.arguments %}
arguments = {{ condor.arguments | directive }}
{% endif %}
initialdir = {{ workdir | directive }}
output = {{ output_file | directive }}
error = {{ condor.error_file | directive }}
log = {{ condor.log_file | directive }}
batch_name = {{ job_name | directive }}
+JobspawnerUser = "{{ username | directive }}"
+JobspawnerServerName = "{{ server_name | directive }}"
{% if cpus is not none %}
request_cpus = {{ cpus | directive }}
{% endif %}
{% if memory_mb is not none %}
request_memory = {{ memory_mb | directive }}
{% endif %}
{% if gpus is not none %}
request_gpus = {{ gpus | directive }}
{% endif %}
{% if gpu_type %}
require_gpus = DeviceName == "{{ gpu_type | directive }}"
{% endif %}
{% if disk_mb is not none %}
request_disk = {{ disk_mb | directive }}M
{% endif %}
{% if runtime_s is not none %}
+MaxRuntime = {{ runtime_s | directive }}
periodic_remove = (JobStatus == 2) && ((time() - EnteredCurrentStatus) > {{ runtime_s | directive }})
{% endif %}
{% if account %}
accounting_group = {{ account | directive }}
{% endif %}
{% if condor.requirements %}
requirements = {{ condor.requirements | directive }}
{% endif %}
{% if condor.getenv is not none %}
getenv = {{ condor.getenv | directive }}
{% endif %}
{% if condor.environment %}
environment = {{ condor.environment | directive }}
{% endif %}
should_transfer_files = {{ condor.should_transfer_files | directive }}
{% if condor.should_transfer_files != "NO" %}
when_to_transfer_output = ON_EXIT
stream_output = True
{% endif %}
{% for line in condor.extra_lines %}
{{ line | directive }}
{% endfor %}
queue
"""
