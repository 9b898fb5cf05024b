"""The default LSF job script (Jinja2 source, rendered by the core in its sandbox).

Memory: ``-M`` and ``rusage[mem=...]`` are written in the unit of the backend option
``memory_unit`` (``KB``, ``MB`` default, ``GB``, ``TB``), which must match the cluster's
``LSF_UNIT_FOR_LIMITS``. ``rusage_unit`` (default: ``memory_unit``) is the unit of
``rusage[mem=...]`` alone: when ``LSF_UNIT_FOR_LIMITS`` is not set, ``-M`` is in KB but the
``mem`` resource in requirement strings is in MB (``memory_unit: KB, rusage_unit: MB``).
With ``memory_suffix: true`` the unit is also written after the number (``-M 4096MB``),
which LSF >= 9.1 understands whatever ``LSF_UNIT_FOR_LIMITS`` says. With
``memory_per_slot: true`` the job's memory is divided by its slot count (sites where
``RESOURCE_RESERVE_PER_TASK=Y`` or where ``-M`` is enforced per task).

Walltime: ``-W`` takes ``[hour:]minute``; the runtime is rounded up to whole minutes.
"""

from __future__ import annotations

import re

from jobspawner import FeatureGrammar, hookimpl

#: What may stand inside ``select[...]``: boolean resource names with ``&&``, ``||``, ``!``
#: and balanced parentheses. No brackets, comparisons or spaces, so the value can neither
#: close ``select[]`` nor add a section (``rusage[]``, ``span[]``, ``order[]``).
CONSTRAINT = FeatureGrammar(
    name=re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}"),
    binary=("&&", "||"),
    unary=("!",),
    groups=(("(", ")"),),
    example="avx512&&!bigmem",
    reserved=frozenset({"select", "rusage", "order", "span", "same", "cu", "affinity", "defined"}),
)


@hookimpl
def check_constraint(constraint: str) -> str:
    """Refuse what is not a boolean expression of LSF resource names."""
    return CONSTRAINT.check(constraint) or ""


TEMPLATE = """\
#!/bin/bash
{% set unit = (opts.memory_unit | default("MB")) | upper %}
{% set rusage_unit = (opts.rusage_unit | default(unit)) | upper %}
{% macro in_unit(mb, u) -%}
{% if u == "KB" %}{{ mb * 1024 }}{% elif u == "GB" %}{{ (mb + 1023) // 1024 -}}
{% elif u == "TB" %}{{ (mb + 1048575) // 1048576 }}{% else %}{{ mb }}{% endif -%}
{% if opts.memory_suffix | default(false) %}{{ u }}{% endif %}
{%- endmacro %}
{% set slots = cpus if cpus else 1 %}
#BSUB -J {{ job_name | quote }}
#BSUB -o {{ output_file | quote }}
#BSUB -e {{ output_file | quote }}
{% if queue %}
#BSUB -q {{ queue | quote }}
{% endif %}
{% if runtime_s is not none %}
{% set minutes = (runtime_s + 59) // 60 %}
{% if minutes >= 60 %}
#BSUB -W {{ "%d:%02d" | format(minutes // 60, minutes % 60) }}
{% else %}
#BSUB -W {{ minutes if minutes > 0 else 1 }}
{% endif %}
{% endif %}
{% if cpus is not none %}
#BSUB -n {{ cpus | quote }}
{% endif %}
{% if memory_mb is not none %}
{% set per_slot = opts.memory_per_slot | default(false) %}
{% set mem = (memory_mb + slots - 1) // slots if per_slot else memory_mb %}
#BSUB -M {{ in_unit(mem, unit) }}
#BSUB -R "rusage[mem={{ in_unit(mem, rusage_unit) }}]"
{% endif %}
{% if gpus %}
#BSUB -gpu "num={{ gpus | int }}{% if gpu_type %}:gmodel={{ gpu_type | directive }}{% endif %}"
{% endif %}
{% if account %}
#BSUB -P {{ account | quote }}
{% endif %}
{% if reservation %}
#BSUB -U {{ reservation | quote }}
{% endif %}
{% if constraint %}
#BSUB -R {{ ("select[" ~ constraint ~ "]") | quote }}
{% endif %}
{% if nodes == 1 %}
#BSUB -R "span[hosts=1]"
{% elif nodes and cpus %}
#BSUB -R "span[ptile={{ (cpus + nodes - 1) // nodes }}]"
{% endif %}
{% if cluster %}
#BSUB -clusters {{ cluster | quote }}
{% endif %}
{% include "jobspawner/job_body.sh" %}
"""
