"""The LSF backend's options, declared once (types, defaults, help)."""

from __future__ import annotations

from jobspawner import Option, hookimpl, program_options

_UNITS = ("KB", "MB", "GB", "TB", "PB", "EB")

OPTIONS = [
    *program_options("bsub", "bjobs", "bkill", "bqueues", "bparams", "bacct"),
    Option("bjobs_json", bool, True, "One `bjobs -o ... -json` call for all jobs (LSF >= "
           "10.1.0.2); false uses `bjobs -noheader -o \"... delimiter='|'\"`."),
    Option("history", bool, True, "Ask `bacct` how jobs ended that `bjobs` no longer lists "
           "(bacct reads the whole accounting file)."),
    Option("memory_unit", str, "MB", "Unit of `-M` and `rusage[mem=]`; must match "
           "`LSF_UNIT_FOR_LIMITS`.", choices=_UNITS),
    Option("rusage_unit", str, None, "Unit of `rusage[mem=]` alone (default: `memory_unit`).",
           choices=_UNITS),
    Option("memory_suffix", bool, False, "Write the unit after the number (`-M 4096MB`, "
           "LSF >= 9.1)."),
    Option("memory_per_slot", bool, False, "Divide the job's memory by its slot count."),
]  # fmt: skip


@hookimpl
def backend_options() -> list[Option]:
    return OPTIONS


@hookimpl
def resource_fields() -> frozenset[str]:
    """LSF has no QOS or scheduler server; disk space is a site resource (``rusage``).
    ``nodes`` spreads the cores (``span[ptile=...]``), so it needs ``cpus``."""
    return frozenset(
        {"queue", "account", "reservation", "cluster", "gpu_type", "constraint", "runtime",
         "memory", "cpus", "nodes", "gpus"}
    )  # fmt: skip
