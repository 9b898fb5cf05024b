"""The default LSF job script (Jinja2 source, rendered by the core in its sandbox).

Memory: ``-M`` and ``rusage[mem=...]`` are written in the unit of the backend option
``memory_unit`` (``KB``, ``MB`` default, ``GB``, ``TB``), which must match the cluster's
``LSF_UNIT_FOR_LIMITS``; with ``memory_suffix: true`` the unit is also written after the
number (``-M 4096MB``), which LSF >= 9.1 understands whatever ``LSF_UNIT_FOR_LIMITS`` says.
With ``memory_per_slot: true`` the job's memory is divided by its slot count (sites where
``RESOURCE_RESERVE_PER_TASK=Y`` or where ``-M`` is enforced per task).

Walltime: ``-W`` takes ``[hour:]minute``; the runtime is rounded up to whole minutes.
"""

from __future__ import annotations

#: Memory units LSF understands in ``LSF_UNIT_FOR_LIMITS``, as MiB per unit
#: (``KB`` is 1/1024 MiB, handled as a multiplier in the template).
MEMORY_UNITS = ("KB", "MB", "GB", "TB")

TEMPLATE = """\
#!/bin/bash
{% set unit = (opts.memory_unit | default("MB")) | upper %}
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
{% if unit == "KB" %}
{% set amount = mem * 1024 %}
{% elif unit == "GB" %}
{% set amount = (mem + 1023) // 1024 %}
{% elif unit == "TB" %}
{% set amount = (mem + 1048575) // 1048576 %}
{% else %}
{% set amount = mem %}
{% endif %}
{% set suffix = unit if opts.memory_suffix | default(false) else "" %}
#BSUB -M {{ amount }}{{ suffix }}
#BSUB -R "rusage[mem={{ amount }}{{ suffix }}]"
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
cd {{ workdir | quote }}
{% if env %}
{{ env | exports }}
{% endif %}
{% if prologue %}
{{ prologue }}
{% endif %}
{% if epilogue %}
{{ command | quote }} || rc=$?
{{ epilogue }}
exit ${rc:-0}
{% else %}
exec {{ command | quote }}
{% endif %}
"""
