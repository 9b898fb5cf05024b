"""The Grid Engine backend's options, declared once (types, defaults, help)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jobspawner import Option, hookimpl, program_options

OPTIONS = [
    Option("sge_root", str, None, "`SGE_ROOT` for every command (the hub need not have it)."),
    Option("sge_cell", str, None, "`SGE_CELL` for every command."),
    *program_options("qsub", "qstat", "qdel", "qacct", "qconf"),
    Option("status_users", list, None, "`qstat -u`: a user, a list, or `*` (default: `*`, "
           "every user's jobs in one query).", many=True),
    Option("pending_reasons", bool, True, "Run `qstat -j` for waiting, held and error jobs "
           "to tell the user why."),
    Option("use_qacct", bool, True, "Ask `qacct` how a job that left qstat ended (it reads "
           "the whole accounting file)."),
    Option("default_queue", str, None, "The queue marked as default in resource discovery."),
    Option("pe", str, "smp", "Parallel environment for `cpus` (empty: none)."),
    Option("memory_resource", str, "h_vmem", "Resource requested for memory (empty: none)."),
    Option("memory_per_job", bool, False, "Do not divide the memory by the slots."),
    Option("gpu_resource", str, "gpu", "Resource requested for GPUs."),
    Option("gpu_type_resource", str, None, "Resource requested for the GPU model."),
    Option("disk_resource", str, None, "Resource requested for local disk."),
    Option("export_env", bool, False, "Add `-V` (export the submitting environment)."),
    Option("directives", list, None, "Extra `#$` lines, without `#$`."),
]  # fmt: skip


@hookimpl
def backend_options() -> list[Option]:
    return OPTIONS


@hookimpl
def resource_fields(options: Mapping[str, Any]) -> frozenset[str]:
    """Grid Engine has no QOS, clusters, servers or node counts (a parallel environment
    spreads the slots); a GPU model and disk space need the site's resource names
    (``gpu_type_resource``, ``disk_resource``)."""
    fields = {"queue", "account", "reservation", "constraint", "runtime", "memory", "cpus"}
    if options.get("gpu_resource", "gpu"):
        fields.add("gpus")
    if options.get("gpu_type_resource"):
        fields.add("gpu_type")
    if options.get("disk_resource"):
        fields.add("disk")
    return frozenset(fields)
