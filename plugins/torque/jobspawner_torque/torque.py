"""The ``torque`` backend: Torque / PBS classic (``qsub``, ``qstat -x``, ``qdel``).

Backend options (``c.JobSpawner.backend_options``): declared once, with type, default and help,
in :mod:`jobspawner_torque.options`; ``docs/backends/torque.md`` lists them, generated from
those declarations.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from jobspawner import Command, CommandResult, JobSpec, JobStatus, Option, hookimpl

from . import options, pbs, templates
from .parsers import parse_submit_output, parse_torque_status, parse_tracejob
from .shared_hooks import cancel_command, describe_status, parse_resources, resources_commands
from .templates import check_constraint


@hookimpl
def script_template() -> str:
    return templates.TORQUE


@hookimpl
def submit_command(spec: JobSpec, script: str) -> Command:
    return pbs.qsub_command(spec.options, script)


@hookimpl
def parse_submit(result: CommandResult) -> str:
    return parse_submit_output(result, "qsub")


@hookimpl
def status_command(job_ids: Sequence[str], options: Mapping[str, Any]) -> Command:
    # -x alone selects the full display as XML; one call for every id.
    return Command([pbs.tool(options, "qstat"), "-x", *job_ids])


@hookimpl
def parse_status(job_ids: Sequence[str], result: CommandResult) -> dict[str, JobStatus]:
    return parse_torque_status(job_ids, result)


@hookimpl
def history_command(job_ids: Sequence[str], options: Mapping[str, Any]) -> list[Command]:
    """``tracejob -n 3 <id>``, one command per job (tracejob takes one id), when enabled."""
    if options.get("history") != "tracejob":
        return []
    return [Command([pbs.tool(options, "tracejob"), "-n", "3", i]) for i in job_ids]


@hookimpl
def parse_history(job_ids: Sequence[str], result: CommandResult) -> dict[str, JobStatus]:
    return parse_tracejob(job_ids, result)


__all__ = [
    "cancel_command",
    "check_constraint",
    "describe_status",
    "parse_resources",
    "resources_commands",
]  # re-exported hooks


@hookimpl
def backend_options() -> list[Option]:
    return options.TORQUE


@hookimpl
def resource_fields() -> frozenset[str]:
    return templates.TORQUE_FIELDS
