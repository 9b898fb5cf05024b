"""The Slurm backend's hook implementations (entry point ``slurm`` in ``jobspawner.backends``).

Only pure hooks: what to run (:mod:`.commands`) and how to read it (:mod:`.parsers`,
:mod:`.resources`); the core runs the commands. Jobs on several clusters (``sbatch -M``)
get one ``scancel`` per cluster (:func:`cancel_command` returns several commands).

Backend options (``c.JobSpawner.backend_options``): declared once, with type, default and
help, in :data:`jobspawner_slurm.options.OPTIONS`; ``docs/backends/slurm.md`` lists
them, generated from those declarations.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from jobspawner import (
    CancelOutcome,
    Command,
    CommandResult,
    JobSpec,
    JobStatus,
    QueueInfo,
    hookimpl,
)

from . import commands, parsers, reasons
from .options import backend_options, resource_fields
from .resources import parse_resources_texts
from .templates import check_constraint, job_script

__all__ = [
    "backend_options",
    "check_constraint",
    "resource_fields",
]  # hook implementations (.options, .templates)


@hookimpl
def script_template() -> str:
    return job_script()


@hookimpl
def submit_command(spec: JobSpec, script: str) -> Command:
    return commands.sbatch_command(script, spec.options)


@hookimpl
def parse_submit(result: CommandResult, spec: JobSpec) -> str:
    cluster = spec.variables.get("cluster") if spec.variables else None
    return parsers.parse_sbatch(result, cluster=str(cluster) if cluster else None)


@hookimpl
def status_command(job_ids: Sequence[str], options: Mapping[str, Any]) -> Command:
    return commands.squeue_command(job_ids, options)


@hookimpl
def parse_status(job_ids: Sequence[str], result: CommandResult) -> dict[str, JobStatus]:
    return parsers.parse_squeue(job_ids, result, commands.SQUEUE_FIELDS)


@hookimpl
def history_command(job_ids: Sequence[str], options: Mapping[str, Any]) -> Command | None:
    return commands.sacct_command(job_ids, options)


@hookimpl
def parse_history(job_ids: Sequence[str], result: CommandResult) -> dict[str, JobStatus]:
    return parsers.parse_sacct(job_ids, result, commands.SACCT_FIELDS)


@hookimpl
def describe_status(status: JobStatus) -> str:
    return reasons.describe(status)


@hookimpl
def cancel_command(job_ids: Sequence[str], options: Mapping[str, Any]) -> list[Command]:
    """One ``scancel`` per cluster the jobs live on (``scancel -M`` takes one cluster)."""
    groups = commands.group_by_cluster(job_ids)
    return [commands.scancel_command(ids, options) for ids in groups.values()]


@hookimpl
def parse_cancel(job_ids: Sequence[str], result: CommandResult) -> dict[str, CancelOutcome]:
    said = parsers.parse_scancel(result)
    outcomes = {}
    for job_id in job_ids:
        outcome = said.get(parsers.split_job_id(job_id)[0])
        if outcome is not None:
            outcomes[job_id] = outcome
    return outcomes


@hookimpl
def resources_commands(options: Mapping[str, Any]) -> list[Command]:
    return commands.resources_commands(options)


@hookimpl
def parse_resources(results: Sequence[CommandResult]) -> Sequence[QueueInfo]:
    sinfo = results[0].stdout if results else ""
    scontrol = results[1].stdout if len(results) > 1 and results[1].ok else None
    return parse_resources_texts(sinfo, scontrol)
