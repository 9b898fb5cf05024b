"""The HTCondor backend's options, declared once (types, defaults, help)."""

from __future__ import annotations

from jobspawner import Option, hookimpl, program_options

OPTIONS = [
    *program_options("condor_submit", "condor_q", "condor_history", "condor_rm",
                     "condor_status"),
    Option("submit_description", str, None, "Jinja2 template of the submit description, "
           "replacing the built-in one."),
    Option("submit_lines", list, None, "Extra raw description lines added before `queue`.",
           many=True),
    Option("requirements", str, None, "A ClassAd expression every job must satisfy (ANDed "
           "with the `constraint`)."),
    Option("should_transfer_files", str, "NO", "`NO` (a notebook server needs the shared "
           "home); `IF_NEEDED`/`YES` add `stream_output`."),
    Option("getenv", str, None, "Value of the `getenv` command (left out when unset)."),
    Option("environment", dict, None, "Extra variables for the job's `environment` command."),
    Option("arguments", list, None, "Arguments given to the job script."),
    Option("error_file", str, None, "Where standard error goes (default: the output file)."),
    Option("script_suffix", str, ".condor.sh", "Replaces the output file's extension to name "
           "the job script."),
    Option("log_suffix", str, ".condor.log", "Replaces the output file's extension to name "
           "the job event log."),
    Option("history_scanlimit", int, None, "`condor_history -scanlimit`, to bound the scan of "
           "big history files."),
    Option("status_constraint", str, None, "A `condor_status -constraint` for resource "
           "discovery (big pools)."),
    Option("pool_name", str, "pool", "Name of the pool-wide entry in resource discovery."),
]  # fmt: skip


@hookimpl
def backend_options() -> list[Option]:
    return OPTIONS


@hookimpl
def resource_fields() -> frozenset[str]:
    """HTCondor matches jobs to slots: no queues, QOS, reservations, clusters or servers,
    and one slot per job (no ``nodes``)."""
    return frozenset(
        {"account", "gpu_type", "constraint", "runtime", "memory", "disk", "cpus", "gpus"}
    )
