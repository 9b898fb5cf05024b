"""The ``pbspro`` backend: PBS Professional / OpenPBS (``qsub``, ``qstat -E -x -f -F json``).

``-x`` includes finished jobs when the server keeps job history (``job_history_enable``);
without history a finished job is unknown to ``qstat`` and the core reports it as ended
("vanished"), outcome unknown. ``-E`` asks for all the jobs in one request: without it,
OpenPBS built from its main branch prints only the first of several jobs in JSON
(openpbs/openpbs#2672, seen on the server the fixtures in tests/torque/fixtures/openpbs were
recorded from), and the others would look ended.

Backend options (``c.JobSpawner.backend_options``): declared once, with type, default and help,
in :mod:`jobspawner_torque.options`; ``docs/backends/torque.md`` lists them, generated from
those declarations.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from jobspawner import Command, CommandResult, JobSpec, JobStatus, Option, hookimpl

from . import options, pbs, templates
from .parsers import parse_pbspro_status, parse_submit_output
from .shared_hooks import cancel_command, describe_status, parse_resources, resources_commands
from .templates import check_constraint


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
    return Command([pbs.tool(options, "qstat"), "-E", "-x", "-f", "-F", "json", *job_ids])


@hookimpl
def parse_status(job_ids: Sequence[str], result: CommandResult) -> dict[str, JobStatus]:
    return parse_pbspro_status(job_ids, result)


__all__ = [
    "cancel_command",
    "check_constraint",
    "describe_status",
    "parse_resources",
    "resources_commands",
]  # re-exported hooks


@hookimpl
def backend_options() -> list[Option]:
    return options.PBSPRO


@hookimpl
def resource_fields(options: Mapping[str, Any]) -> frozenset[str]:
    """``gpu_type`` only when the site names its GPU model resource (``gpu_model_resource``)."""
    if options.get("gpu_model_resource"):
        return templates.PBSPRO_FIELDS | {"gpu_type"}
    return templates.PBSPRO_FIELDS
