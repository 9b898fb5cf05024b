"""The default Grid Engine job script (a Jinja2 template rendered by the core).

Directives are ``#$`` lines; an unset resource leaves its directive out. Backend options
used here (``opts``): ``pe`` (parallel environment for ``cpus``, default ``smp``; empty for
none), ``memory_resource`` (default ``h_vmem``; empty for none), ``memory_per_job`` (do not
divide the memory by the slots), ``gpu_resource`` (default ``gpu``), ``gpu_type_resource``,
``disk_resource``, ``export_env`` (add ``-V``) and ``directives`` (extra ``#$`` lines).

A ``constraint`` is a list of boolean complexes (node features) joined with ``,``, e.g.
``bigmem,ssd``; each is requested as ``name=TRUE``. Resources such as ``h_rt`` or
``h_vmem`` are refused (:func:`check_constraint`): they are the site's.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from jobspawner import FeatureGrammar, hookimpl

#: Grid Engine's built-in complexes (limits, load values, host and queue attributes).
BUILTIN_COMPLEXES = frozenset(
    {"arch", "calendar", "cpu", "display_win_gui", "h_core", "h_cpu", "h_data", "h_fsize",
     "h_rss", "h_rt", "h_stack", "h_vmem", "hostname", "load_avg", "load_long", "load_medium",
     "load_short", "m_core", "m_socket", "m_thread", "m_topology", "m_topology_inuse",
     "mem_free", "mem_total", "mem_used", "min_cpu_interval", "np_load_avg", "np_load_long",
     "np_load_medium", "np_load_short", "num_proc", "qname", "rerun", "s_core", "s_cpu",
     "s_data", "s_fsize", "s_rss", "s_rt", "s_stack", "s_vmem", "seq_no", "slots",
     "swap_free", "swap_rate", "swap_rsvd", "swap_total", "swap_used", "tmpdir",
     "virtual_free", "virtual_total", "virtual_used", "exclusive", "gpu", "tmp_free"}
)  # fmt: skip

#: Node features: boolean complex names joined with ``,``.
CONSTRAINT = FeatureGrammar(
    name=re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}"),
    binary=(",",),
    example="bigmem,ssd",
    reserved=BUILTIN_COMPLEXES,
)


@hookimpl
def check_constraint(constraint: str, options: Mapping[str, Any]) -> str:
    """Refuse what is not a list of boolean complexes, and the site's resource names."""
    site = {
        str(options.get(key, default)).lower()
        for key, default in (
            ("memory_resource", "h_vmem"),
            ("gpu_resource", "gpu"),
            ("gpu_type_resource", ""),
            ("disk_resource", ""),
        )
    }
    return CONSTRAINT.check(constraint, reserved=frozenset(site - {""})) or ""


TEMPLATE = """\
#!/bin/bash
{% set o = opts if opts is defined else {} %}
#$ -N {{ job_name | quote }}
#$ -S /bin/bash
#$ -o {{ output_file | quote }}
#$ -j y
#$ -wd {{ workdir | quote }}
#$ -r n
{% if o.get("export_env") %}
#$ -V
{% endif %}
{% if queue %}
#$ -q {{ queue | quote }}
{% endif %}
{% if runtime %}
#$ -l {{ ("h_rt=" ~ runtime) | quote }}
{% endif %}
{% set pe = o.get("pe", "smp") %}
{% if cpus is not none and pe %}
#$ -pe {{ pe | quote }} {{ cpus | quote }}
{% endif %}
{% set mem_res = o.get("memory_resource", "h_vmem") %}
{% if memory_mb is not none and mem_res %}
{% if cpus and pe and not o.get("memory_per_job") %}
{% set mem = (memory_mb + cpus - 1) // cpus %}
{% else %}
{% set mem = memory_mb %}
{% endif %}
#$ -l {{ (mem_res ~ "=" ~ mem ~ "M") | quote }}
{% endif %}
{% set gpu_res = o.get("gpu_resource", "gpu") %}
{% if gpus and gpu_res %}
#$ -l {{ (gpu_res ~ "=" ~ gpus) | quote }}
{% endif %}
{% if gpu_type is defined and gpu_type and o.get("gpu_type_resource") %}
#$ -l {{ (o.get("gpu_type_resource") ~ "=" ~ gpu_type) | quote }}
{% endif %}
{% if disk_mb is defined and disk_mb is not none and o.get("disk_resource") %}
#$ -l {{ (o.get("disk_resource") ~ "=" ~ disk_mb ~ "M") | quote }}
{% endif %}
{% if constraint is defined and constraint %}
#$ -l {{ (constraint.split(",") | join("=TRUE,") ~ "=TRUE") | quote }}
{% endif %}
{% if account %}
#$ -P {{ account | quote }}
{% endif %}
{% if reservation is defined and reservation %}
#$ -ar {{ reservation | quote }}
{% endif %}
{% for line in o.get("directives", []) %}
#$ {{ line | directive }}
{% endfor %}
{% include "jobspawner/job_body.sh" %}
"""
