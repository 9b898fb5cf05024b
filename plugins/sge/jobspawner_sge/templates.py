"""The default Grid Engine job script (a Jinja2 template rendered by the core).

Directives are ``#$`` lines; an unset resource leaves its directive out. Backend options
used here (``opts``): ``pe`` (parallel environment for ``cpus``, default ``smp``; empty for
none), ``memory_resource`` (default ``h_vmem``; empty for none), ``memory_per_job`` (do not
divide the memory by the slots), ``gpu_resource`` (default ``gpu``), ``gpu_type_resource``,
``disk_resource``, ``export_env`` (add ``-V``) and ``directives`` (extra ``#$`` lines).
"""

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
#$ -l {{ constraint | quote }}
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
