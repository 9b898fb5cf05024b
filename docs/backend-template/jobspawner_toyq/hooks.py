"""The toyq backend: pure hooks only (which commands to run, how to read their output).

The core runs the commands as the user, polls every job with one ``toyq status`` call,
confirms cancels and reads logs: a command-line backend implements no action hook.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from jobspawner import (
    CancelOutcome,
    Command,
    CommandError,
    CommandResult,
    JobSpec,
    JobState,
    JobStatus,
    Option,
    QueueInfo,
    hookimpl,
    program_options,
    tool,
)

# --- options: declared once, checked at hub start, documented from here ---------------------


@hookimpl
def backend_options() -> list[Option]:
    return [
        *program_options("toyq"),
        Option("grace", int, 0, "Seconds added to every job's time limit."),
    ]


@hookimpl
def resource_fields() -> frozenset[str]:
    """toyq knows one limit, the run time; any other request stops the hub at start."""
    return frozenset({"runtime"})


# --- the job script and its submission --------------------------------------------------------

TEMPLATE = """\
#!/bin/bash
# toyq job {{ job_name }}
{% include "jobspawner/job_body.sh" %}
"""


@hookimpl
def script_template() -> str:
    return TEMPLATE


@hookimpl
def submit_command(spec: JobSpec, script: str) -> Command:
    argv = [tool(spec.options, "toyq"), "submit", "-o", spec.output_file, "-N", spec.job_name]
    runtime_s = spec.variables.get("runtime_s")
    if runtime_s:
        argv += ["-t", str(int(runtime_s) + int(spec.option("grace", 0)))]
    return Command(argv, stdin=script)  # the script travels on standard input


_SUBMITTED = re.compile(r"Submitted job ([0-9]+)")


@hookimpl
def parse_submit(result: CommandResult) -> str:
    match = _SUBMITTED.search(result.stdout)
    if not result.ok or not match:
        raise CommandError.from_result(result, problem="did not submit the job")
    return match.group(1)


# --- status ---------------------------------------------------------------------------------

_STATES = {
    "running": JobState.RUNNING,
    "done": JobState.DONE,
    "failed": JobState.FAILED,
    "cancelled": JobState.CANCELLED,
}


@hookimpl
def status_command(job_ids: Sequence[str], options: Mapping[str, Any]) -> Command:
    return Command([tool(options, "toyq"), "status", *job_ids])


@hookimpl
def parse_status(job_ids: Sequence[str], result: CommandResult) -> dict[str, JobStatus]:
    """``ID STATE EXIT`` lines; a job toyq does not list is left out (the core then calls it
    ended). A failed query raises, so its jobs are unknown, never gone."""
    if not result.ok:
        raise CommandError.from_result(result, problem="could not list the jobs")
    found: dict[str, JobStatus] = {}
    for line in result.stdout.splitlines():
        parts = line.split()
        if len(parts) != 3 or parts[0] not in job_ids or parts[1] not in _STATES:
            continue
        job_id, state, code = parts
        found[job_id] = JobStatus(
            _STATES[state],
            native_state=state,
            exit_code=int(code) if code.isdigit() else None,
            host="localhost" if state == "running" else None,
        )
    return found


# --- cancel ---------------------------------------------------------------------------------


@hookimpl
def cancel_command(job_ids: Sequence[str], options: Mapping[str, Any]) -> Command:
    return Command([tool(options, "toyq"), "cancel", *job_ids])


@hookimpl
def parse_cancel(job_ids: Sequence[str], result: CommandResult) -> dict[str, CancelOutcome]:
    """A job toyq does not know is gone: nothing left to confirm."""
    gone = set(re.findall(r"no job ([0-9]+)", result.stderr))
    return {job_id: CancelOutcome.GONE for job_id in job_ids if job_id in gone}


# --- resources ------------------------------------------------------------------------------


@hookimpl
def resources_commands(options: Mapping[str, Any]) -> list[Command]:
    return [Command([tool(options, "toyq"), "queues"])]


@hookimpl
def parse_resources(results: Sequence[CommandResult]) -> list[QueueInfo]:
    queues = []
    for line in results[0].stdout.splitlines():
        name, _, cpus = line.partition(" ")
        if name:
            queues.append(
                QueueInfo(name, default=not queues, cpus_per_node=int(cpus) if cpus else None)
            )
    return queues
