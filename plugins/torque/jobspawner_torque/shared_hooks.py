"""Hook implementations that torque, pbspro and moab share (each module re-exports them;
pluggy registers every hook implementation a plugin module holds, imported ones included)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from jobspawner import Command, CommandResult, JobStatus, QueueInfo, hookimpl

from . import pbs
from .describe import describe_pbs


@hookimpl
def cancel_command(job_ids: Sequence[str], options: Mapping[str, Any]) -> Command:
    return pbs.qdel_command(options, job_ids)


@hookimpl
def describe_status(status: JobStatus) -> str:
    return describe_pbs(status)


@hookimpl
def resources_commands(options: Mapping[str, Any]) -> list[Command]:
    return pbs.pbs_resources_commands(options)


@hookimpl
def parse_resources(results: Sequence[CommandResult]) -> list[QueueInfo]:
    return pbs.pbs_parse_resources(results)
