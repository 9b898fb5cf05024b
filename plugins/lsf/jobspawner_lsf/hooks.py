"""The LSF backend's hook implementations (entry point ``lsf`` in ``jobspawner.backends``).

Pure hooks only: the core runs the commands (as the user, through its exec prefix) and
these functions build them and read their output.

Backend options (``c.JobSpawner.backend_options``): declared once, with type, default and
help, in :data:`jobspawner_lsf.options.OPTIONS`; ``docs/backends/lsf.md`` lists
them, generated from those declarations.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from jobspawner import (
    Command,
    CommandError,
    CommandResult,
    JobSpec,
    JobState,
    JobStatus,
    QueueInfo,
    describe_generic,
    flag,
    hookimpl,
    tool,
)

from . import parsers
from .describe import describe_reason
from .options import backend_options, resource_fields
from .templates import TEMPLATE, check_constraint

__all__ = [
    "backend_options",
    "check_constraint",
    "resource_fields",
]  # hook implementations (.options, .templates)

_tool = tool
_flag = flag


@hookimpl
def script_template() -> str:
    return TEMPLATE


@hookimpl
def submit_command(spec: JobSpec, script: str) -> Command:
    # like `bsub < script`: bsub reads the #BSUB directives from the script on stdin
    return Command([_tool(spec.options, "bsub")], stdin=script)


@hookimpl
def parse_submit(result: CommandResult) -> str:
    return parsers.parse_submit(result)


@hookimpl
def status_command(job_ids: Sequence[str], options: Mapping[str, Any]) -> Command:
    fields = " ".join(parsers.STATUS_FIELDS)
    bjobs = _tool(options, "bjobs")
    if _flag(options, "bjobs_json", True):
        return Command([bjobs, "-a", "-u", "all", "-o", fields, "-json", *job_ids])
    spec = f"{fields} delimiter='{parsers.DELIMITER}'"
    return Command([bjobs, "-a", "-u", "all", "-noheader", "-o", spec, *job_ids])


@hookimpl
def parse_status(
    job_ids: Sequence[str], result: CommandResult, options: Mapping[str, Any]
) -> dict[str, JobStatus]:
    return parsers.parse_bjobs(job_ids, result, use_json=_flag(options, "bjobs_json", True))


@hookimpl
def history_command(job_ids: Sequence[str], options: Mapping[str, Any]) -> Command | None:
    if not _flag(options, "history", True) or not job_ids:
        return None
    return Command([_tool(options, "bacct"), *job_ids])


@hookimpl
def parse_history(job_ids: Sequence[str], result: CommandResult) -> dict[str, JobStatus]:
    if not result.ok and "Total number" not in result.stdout:
        return {}
    return parsers.parse_bacct_summary(job_ids, result.stdout)


@hookimpl
def describe_status(status: JobStatus) -> str | None:
    if status.state in (JobState.PENDING, JobState.HELD, JobState.SUSPENDED):
        return describe_generic(status, describe_reason(status.reason))
    if status.state is JobState.UNKNOWN and status.native_state == "UNKWN":
        return (
            "LSF has lost contact with the host of your job; it may still be running. "
            "Waiting for LSF to reconnect."
        )
    return None  # the core's generic sentence


@hookimpl
def cancel_command(job_ids: Sequence[str], options: Mapping[str, Any]) -> Command:
    return Command([_tool(options, "bkill"), *job_ids])


@hookimpl
def resources_commands(options: Mapping[str, Any]) -> list[Command]:
    return [Command([_tool(options, "bqueues"), "-l"]), Command([_tool(options, "bparams")])]


@hookimpl
def parse_resources(
    results: Sequence[CommandResult], options: Mapping[str, Any]
) -> list[QueueInfo]:
    if not results:
        return []
    unit = str(options.get("memory_unit") or "MB")
    if not results[0].ok and "QUEUE:" not in results[0].stdout:
        raise CommandError.from_result(results[0], problem="did not list any queue")
    queues = parsers.parse_bqueues_long(results[0].stdout, memory_unit=unit)
    defaults = parsers.parse_default_queues(results[1].stdout) if len(results) > 1 else []
    return parsers.mark_defaults(queues, defaults)
