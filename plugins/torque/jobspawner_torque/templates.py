"""Default job scripts (Jinja2 sources) for Torque, PBS Pro and Moab.

Every directive is written only when its value is set; values go through ``quote``.
"""

from __future__ import annotations

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

#: Torque: ``nodes=N:ppn=C[:gpus=G][:property]`` and ``mem``.
_TORQUE_RESOURCES = """\
{% if nodes or cpus or gpus or constraint %}
#PBS -l nodes={{ nodes or 1 }}{% if cpus %}:ppn={{ cpus | quote }}{% endif %}\
{% if gpus %}:gpus={{ gpus | quote }}{% endif %}\
{% if constraint %}:{{ constraint | quote }}{% endif %}

{% endif %}
{% if memory_mb %}
#PBS -l mem={{ memory_mb | quote }}mb
{% endif %}
"""

#: PBS Pro: one chunk statement ``select=N:ncpus=C:mem=M:ngpus=G``; ``-k oed`` writes the
#: output file directly (so the hub can show its tail while the job runs).
_PBSPRO_RESOURCES = """\
{% if nodes or cpus or memory_mb or gpus %}
#PBS -l select={{ nodes or 1 }}{% if cpus %}:ncpus={{ cpus | quote }}{% endif %}\
{% if memory_mb %}:mem={{ memory_mb | quote }}mb{% endif %}\
{% if gpus %}:ngpus={{ gpus | quote }}{% endif %}

{% endif %}
{% if nodes and nodes > 1 %}
#PBS -l place=scatter
{% endif %}
{% if opts.get("direct_output", True) %}
#PBS -k oed
{% endif %}
"""

#: Moab (msub) reads the same #PBS directives; it adds QoS.
_MOAB_EXTRA = """\
{% if qos %}
#PBS -l qos={{ qos | quote }}
{% endif %}
"""

TORQUE = _HEAD + _TORQUE_RESOURCES + _TAIL
PBSPRO = _HEAD + _PBSPRO_RESOURCES + _TAIL
MOAB = _HEAD + _TORQUE_RESOURCES + _MOAB_EXTRA + _TAIL
