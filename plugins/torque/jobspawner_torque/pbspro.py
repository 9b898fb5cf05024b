"""The ``pbspro`` backend: PBS Professional / OpenPBS (``qsub``, ``qstat -f -F json -x``).

``-x`` includes finished jobs when the server keeps job history (``job_history_enable``);
without history a finished job is unknown to ``qstat`` and the core reports it as ended
("vanished"), outcome unknown.

Options: ``qsub``, ``qstat``, ``qdel``, ``pbsnodes`` (command paths); ``direct_output``
(default true: ``#PBS -k oed`` so the output file is written while the job runs).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from jobspawner import Command, CommandResult, JobSpec, JobStatus, QueueInfo, hookimpl

from . import pbs, templates
from .describe import describe_pbs
from .parsers import parse_pbspro_status, parse_submit_output


@hookimpl
def script_template() -> str:
    return templates.PBSPRO


@hookimpl
def submit_command(spec: JobSpec, script: str) -> Command:
    return pbs.qsub_command(spec.options, script)


@hookimpl
def parse_submit(result: CommandResult) -> str:
    return parse_submit_output(result, "qsub")


@hookimpl
def status_command(job_ids: Sequence[str], options: Mapping[str, Any]) -> Command:
    return Command([pbs.tool(options, "qstat"), "-f", "-F", "json", "-x", *job_ids])


@hookimpl
def parse_status(job_ids: Sequence[str], result: CommandResult) -> dict[str, JobStatus]:
    return parse_pbspro_status(job_ids, result)


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
