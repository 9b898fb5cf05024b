"""The ``moab`` backend: Moab Workload Manager (``msub``, ``showq --xml``, ``mjobctl -c``).

Status comes from ``showq --xml`` (active, eligible and blocked jobs); jobs that left it are
looked up in ``showq -c --xml`` (completed jobs, kept for Moab's purge time). Resource
discovery asks the resource manager underneath (Torque's ``qstat -Q -f`` and ``pbsnodes``).

Backend options (``c.JobSpawner.backend_options``): declared once, with type, default and help,
in :mod:`jobspawner_torque.options`; ``docs/backends/torque.md`` lists them, generated from
those declarations.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from jobspawner import Command, CommandResult, JobSpec, JobStatus, Option, hookimpl

from . import options, pbs, templates
from .describe import describe_moab
from .parsers import parse_moab_status, parse_submit_output
from .shared_hooks import parse_resources, resources_commands
from .templates import check_constraint


@hookimpl
def script_template() -> str:
    return templates.MOAB


@hookimpl
def submit_command(spec: JobSpec, script: str) -> Command:
    return Command([pbs.tool(spec.options, "msub")], stdin=script)


@hookimpl
def parse_submit(result: CommandResult) -> str:
    return parse_submit_output(result, "msub")


@hookimpl
def status_command(job_ids: Sequence[str], options: Mapping[str, Any]) -> Command:
    if options.get("status_tool") == "mdiag":
        return Command([pbs.tool(options, "mdiag"), "-j", "--xml"])
    return Command([pbs.tool(options, "showq"), "--xml"])


@hookimpl
def parse_status(job_ids: Sequence[str], result: CommandResult) -> dict[str, JobStatus]:
    return parse_moab_status(job_ids, result)


@hookimpl
def history_command(job_ids: Sequence[str], options: Mapping[str, Any]) -> Command:
    return Command([pbs.tool(options, "showq"), "-c", "--xml"])


@hookimpl
def parse_history(job_ids: Sequence[str], result: CommandResult) -> dict[str, JobStatus]:
    return parse_moab_status(job_ids, result)


@hookimpl
def cancel_command(job_ids: Sequence[str], options: Mapping[str, Any]) -> Command:
    return Command([pbs.tool(options, "mjobctl"), "-c", *job_ids])


@hookimpl
def describe_status(status: JobStatus) -> str:
    return describe_moab(status)


__all__ = ["check_constraint", "parse_resources", "resources_commands"]  # re-exported hooks


@hookimpl
def backend_options() -> list[Option]:
    return options.MOAB


@hookimpl
def resource_fields() -> frozenset[str]:
    return templates.MOAB_FIELDS
