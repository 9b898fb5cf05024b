"""Default job scripts (Jinja2 sources) for Torque, PBS Pro and Moab.

Every directive is written only when its value is set; values go through ``quote``.
"""

from __future__ import annotations

import re

from jobspawner import FeatureGrammar, hookimpl

#: Node properties as Torque and Moab read them in ``nodes=N:ppn=C:prop1:prop2``: names
#: joined with ``:``. No ``=``, ``+``, ``#`` or ``,``: nothing that adds a resource or a node
#: spec, and none of the node-spec keywords.
CONSTRAINT = FeatureGrammar(
    name=re.compile(r"[A-Za-z][A-Za-z0-9_.-]{0,63}"),
    binary=(":",),
    example="bigmem:ib",
    reserved=frozenset(
        {
            "ppn",
            "gpus",
            "mics",
            "procs",
            "nodes",
            "walltime",
            "mem",
            "pmem",
            "vmem",
            "pvmem",
            "ncpus",
            "cput",
            "pcput",
            "file",
            "host",
            "naccesspolicy",
            "qos",
            "select",
            "place",
            "excl",
            "shared",
            "feature",
        }
    ),
)


@hookimpl
def check_constraint(constraint: str) -> str:
    """Refuse what is not a list of node properties."""
    return CONSTRAINT.check(constraint) or ""


_HEAD = """\
#!/bin/bash
#PBS -N {{ job_name | quote }}
#PBS -o {{ output_file | quote }}
#PBS -j oe
{% if queue and scheduler_server %}
#PBS -q {{ queue | quote }}@{{ scheduler_server | quote }}
{% elif queue %}
#PBS -q {{ queue | quote }}
{% elif scheduler_server %}
#PBS -q @{{ scheduler_server | quote }}
{% endif %}
{% if runtime %}
#PBS -l walltime={{ runtime | quote }}
{% endif %}
{% if account %}
#PBS -A {{ account | quote }}
{% endif %}
"""

_TAIL = """\
{% include "jobspawner/job_body.sh" %}
"""

#: Torque: ``nodes=N:ppn=C[:gpus=G][:gpu model][:property]`` and ``mem``. Torque has no GPU
#: model resource: sites tag the nodes that carry a model with a node property of its name
#: (``pbsnodes -o`` shows them), so ``gpu_type`` is requested as that property.
_TORQUE_RESOURCES = """\
{% if nodes or cpus or gpus or gpu_type or constraint %}
#PBS -l nodes={{ nodes or 1 }}{% if cpus %}:ppn={{ cpus | quote }}{% endif %}\
{% if gpus %}:gpus={{ gpus | quote }}{% endif %}\
{% if gpu_type %}:{{ gpu_type | quote }}{% endif %}\
{% if constraint %}:{{ constraint | quote }}{% endif %}

{% endif %}
{% if memory_mb %}
#PBS -l mem={{ memory_mb | quote }}mb
{% endif %}
"""

#: PBS Pro: one chunk statement ``select=N:ncpus=C:mem=M:ngpus=G[:MODEL_RESOURCE=TYPE]``;
#: the GPU model is a site-defined host resource (``gpu_model_resource``, e.g. ``gpu_model``).
#: Node features are site-defined Boolean host resources: ``constraint`` ``bigmem:ib``
#: becomes ``:bigmem=True:ib=True``.
#: ``-k oed`` writes the output file directly (so the hub can show its tail while the job
#: runs).
_PBSPRO_RESOURCES = """\
{% set model = opts.get("gpu_model_resource") if gpu_type else None %}
{% if nodes or cpus or memory_mb or gpus or model or constraint %}
#PBS -l select={{ nodes or 1 }}{% if cpus %}:ncpus={{ cpus | quote }}{% endif %}\
{% if memory_mb %}:mem={{ memory_mb | quote }}mb{% endif %}\
{% if gpus %}:ngpus={{ gpus | quote }}{% endif %}\
{% if model %}:{{ model | quote }}={{ gpu_type | quote }}{% endif %}\
{% for feature in (constraint or "").split(":") if feature %}:{{ feature | quote }}=True\
{% endfor %}

{% endif %}
{% if nodes and nodes > 1 %}
#PBS -l place=scatter
{% endif %}
{% if opts.get("direct_output", True) %}
#PBS -k oed
{% endif %}
"""

#: Moab (msub) reads the same #PBS directives; it adds QoS and reservations (``advres``).
_MOAB_EXTRA = """\
{% if qos %}
#PBS -l qos={{ qos | quote }}
{% endif %}
{% if reservation %}
#PBS -l advres={{ reservation | quote }}
{% endif %}
"""

#: The resource fields each template honours (``resource_fields``).
TORQUE_FIELDS = frozenset(
    {"queue", "scheduler_server", "runtime", "account", "nodes", "cpus", "gpus", "gpu_type",
     "constraint", "memory"}
)  # fmt: skip
MOAB_FIELDS = TORQUE_FIELDS | {"qos", "reservation"}
#: PBS Pro has no QOS and its reservations are queues (``-q R123``): both are refused, as
#: are ``cluster`` and ``disk``; ``gpu_type`` needs ``gpu_model_resource``.
PBSPRO_FIELDS = frozenset(
    {"queue", "scheduler_server", "runtime", "account", "nodes", "cpus", "gpus", "memory",
     "constraint"}
)  # fmt: skip

TORQUE = _HEAD + _TORQUE_RESOURCES + _TAIL
PBSPRO = _HEAD + _PBSPRO_RESOURCES + _TAIL
MOAB = _HEAD + _TORQUE_RESOURCES + _MOAB_EXTRA + _TAIL
