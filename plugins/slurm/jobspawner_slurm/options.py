"""The Slurm backend's options, declared once (types, defaults, help)."""

from __future__ import annotations

from jobspawner import Option, hookimpl, program_options

OPTIONS = [
    *program_options("sbatch", "squeue", "sacct", "scancel", "sinfo", "scontrol", "srun"),
    Option("use_srun", bool, False, "Start the server with `srun` as a job step "
           "(`srun --ntasks=1 --nodes=1 --cpus-per-task=N --export=ALL`)."),
    Option("srun_args", list, None, "Extra `srun` arguments, with `use_srun`."),
    Option("gpu_directive", str, "gres", "`gres` writes `--gres=gpu[:type]:N` (any Slurm); "
           "`gpus` writes `--gpus=[type:]N` (Slurm >= 19.05, `select/cons_tres`).",
           choices=("gres", "gpus")),
    Option("export", str, "NONE", "The `--export` value; `NONE` gives the job the user's "
           "login environment and none of the hub's variables."),
    Option("requeue", bool, False, "Leave out `--no-requeue` (a requeued notebook server "
           "has lost its hub connection)."),
    Option("extra_directives", list, None, "Extra `#SBATCH` lines, without `#SBATCH`, "
           "e.g. `[\"--licenses=jupyter\"]`."),
    Option("submit_args", list, None, "Extra `sbatch` arguments."),
    Option("status_timeout", float, None, "Seconds allowed to `squeue`/`sacct` (default: "
           "the command timeout)."),
    Option("cluster", str, None, "Cluster whose partitions resource discovery lists (`-M`)."),
]  # fmt: skip

#: The job template's own options: backends that submit the Slurm script another way
#: (slurmrestd, FirecREST) declare these too.
_TEMPLATE_NAMES = {"use_srun", "srun", "srun_args", "gpu_directive", "export", "requeue"}
TEMPLATE_OPTIONS = [o for o in OPTIONS if o.name in {*_TEMPLATE_NAMES, "extra_directives"}]


@hookimpl
def backend_options() -> list[Option]:
    return OPTIONS


#: The resource fields the Slurm job script honours (``scheduler_server`` and ``disk`` have no
#: Slurm equivalent here; the REST backends render the same script).
RESOURCE_FIELDS = frozenset(
    {"queue", "account", "qos", "reservation", "cluster", "gpu_type", "constraint", "runtime",
     "memory", "cpus", "nodes", "gpus"}
)  # fmt: skip


@hookimpl
def resource_fields() -> frozenset[str]:
    return RESOURCE_FIELDS
