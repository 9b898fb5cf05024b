"""The ``condor`` backend: HTCondor's command-line tools behind jobspawner's hooks.

Submission needs two files where other schedulers need one: the job script (the job's
*executable*, it must exist before ``condor_submit`` runs) and the submit description
(resources, files, policy). :func:`prepare_commands` therefore adds to the core's output
file a command that writes the script as the user, the core's way
(:func:`jobspawner.user_file_command`: a fixed ``sh -c`` program taking the path as an
argument, the file created new and ``0700`` in the user's private log folder);
:func:`submit_command` runs ``condor_submit -terse -``
with the description on standard input. Only pure hooks: ``condor_q -json`` for status,
``condor_history -json`` for jobs that left the queue, ``condor_rm`` for cancel (its per-job
answers read by :func:`parse_cancel`), ``condor_status -json`` for resources.

Backend options (``c.JobSpawner.backend_options``): declared once, with type, default and
help, in :data:`jobspawner_condor.options.OPTIONS`; ``docs/backends/condor.md`` lists
them, generated from those declarations.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from typing import Any

from jobspawner import (
    CancelOutcome,
    Command,
    CommandResult,
    JobSpec,
    JobState,
    JobStatus,
    QueueInfo,
    describe_generic,
    hookimpl,
    private_output_commands,
    tool,
    user_file_command,
)
from jobspawner import (
    render_template as render,
)

from . import parsers
from .options import backend_options, resource_fields
from .templates import SCRIPT_TEMPLATE, SUBMIT_DESCRIPTION_TEMPLATE, check_constraint

__all__ = [
    "backend_options",
    "check_constraint",
    "resource_fields",
]  # hook implementations (.options, .templates)

_tool = tool


# --- file names ------------------------------------------------------------------------------


def _derived(spec: JobSpec, option: str, default: str) -> str:
    stem, _ext = os.path.splitext(spec.output_file)
    return stem + str(spec.option(option, default))


def script_path(spec: JobSpec) -> str:
    """Where the job script (the job's executable) is written: next to the output file."""
    return _derived(spec, "script_suffix", ".condor.sh")


def log_path(spec: JobSpec) -> str:
    """The job event log HTCondor writes for this job."""
    return _derived(spec, "log_suffix", ".condor.log")


# --- HTCondor quoting ------------------------------------------------------------------------


def quote_word(word: str) -> str:
    """One word in HTCondor's "new" argument/environment syntax."""
    if word and not re.search(r"[\s'\"]", word):
        return word
    return "'" + word.replace("'", "''").replace('"', '""') + "'"


def quote_arguments(words: Sequence[str]) -> str:
    """``arguments``/``environment`` value in the new syntax (double-quoted as a whole)."""
    return '"' + " ".join(quote_word(str(w)) for w in words) + '"'


def quote_environment(env: Mapping[str, Any]) -> str:
    """``environment`` value in the new syntax: ``"NAME=value NAME='spaced value'"``."""
    return '"' + " ".join(f"{k}={quote_word(str(v))}" for k, v in env.items()) + '"'


def _requirements(spec: JobSpec) -> str | None:
    parts = [str(p) for p in (spec.option("requirements"), spec.variables.get("constraint")) if p]
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else " && ".join(f"({p})" for p in parts)


def description_variables(spec: JobSpec) -> dict[str, Any]:
    """The template variables of the submit description (the job's plus ``condor``)."""
    options = spec.options
    env = options.get("environment") or {}
    args = options.get("arguments") or []
    getenv = options.get("getenv")
    lines = options.get("submit_lines") or []
    if isinstance(lines, str):
        lines = [lines]
    transfer = str(options.get("should_transfer_files") or "NO").upper()
    condor = {
        "executable": script_path(spec),
        "log_file": log_path(spec),
        "error_file": str(options.get("error_file") or spec.output_file),
        "requirements": _requirements(spec),
        "arguments": quote_arguments(list(args)) if args else None,
        "environment": quote_environment(dict(env)) if env else None,
        "getenv": None if getenv is None else str(getenv),
        "should_transfer_files": transfer,
        "extra_lines": [str(line) for line in lines],
    }
    variables = dict(spec.variables)
    for name in ("cpus", "memory_mb", "gpus", "gpu_type", "disk_mb", "runtime_s", "account"):
        variables.setdefault(name, None)
    variables.setdefault("username", spec.username)
    variables.setdefault("server_name", spec.server_name)
    variables.setdefault("job_name", spec.job_name)
    variables.setdefault("workdir", spec.workdir)
    variables.setdefault("output_file", spec.output_file)
    variables["condor"] = condor
    return variables


def render_description(spec: JobSpec) -> str:
    """The submit description for ``spec`` (site template from ``submit_description``)."""
    template = spec.option("submit_description") or SUBMIT_DESCRIPTION_TEMPLATE
    return render(str(template), description_variables(spec), name="submit_description")


# --- hooks: submission ---------------------------------------------------------------------


@hookimpl
def script_template() -> str:
    return SCRIPT_TEMPLATE


def write_script_command(spec: JobSpec, script: str) -> Command:
    """Writes ``script`` to :func:`script_path` as the user (a new file, mode 0700)."""
    return user_file_command(script_path(spec), script, mode="700")


@hookimpl
def prepare_commands(spec: JobSpec, script: str) -> list[Command]:
    """The core's private log folder and output file, then the job script (the executable)."""
    return [*private_output_commands(spec.output_file), write_script_command(spec, script)]


@hookimpl
def submit_command(spec: JobSpec) -> Command:
    return Command(
        [_tool(spec.options, "condor_submit"), "-terse", "-"], stdin=render_description(spec)
    )


@hookimpl
def parse_submit(result: CommandResult) -> str:
    return parsers.parse_submit_output(result)


# --- hooks: status ---------------------------------------------------------------------------


def _id_constraint(job_ids: Sequence[str]) -> str:
    parts = []
    for job_id in job_ids:
        cluster, _, proc = job_id.partition(".")
        if cluster.isdigit() and (proc or "0").isdigit():
            parts.append(f"(ClusterId == {int(cluster)} && ProcId == {int(proc or 0)})")
    return " || ".join(parts) or "false"


@hookimpl
def status_command(job_ids: Sequence[str], options: Mapping[str, Any]) -> Command:
    return Command(
        [
            _tool(options, "condor_q"),
            "-allusers",
            "-json",
            "-attributes",
            ",".join(parsers.JOB_ATTRIBUTES),
            *job_ids,
        ]
    )


@hookimpl
def parse_status(job_ids: Sequence[str], result: CommandResult) -> dict[str, JobStatus]:
    return parsers.statuses_from_ads(job_ids, parsers.parse_json_ads(result))


@hookimpl
def history_command(job_ids: Sequence[str], options: Mapping[str, Any]) -> Command:
    argv = [
        _tool(options, "condor_history"),
        "-json",
        "-attributes",
        ",".join(parsers.JOB_ATTRIBUTES),
        "-limit",
        str(len(job_ids)),
        "-constraint",
        _id_constraint(job_ids),
    ]
    if options.get("history_scanlimit"):
        argv += ["-scanlimit", str(int(options["history_scanlimit"]))]
    return Command(argv)


@hookimpl
def parse_history(job_ids: Sequence[str], result: CommandResult) -> dict[str, JobStatus]:
    return parsers.statuses_from_ads(job_ids, parsers.parse_json_ads(result))


@hookimpl
def cancel_command(job_ids: Sequence[str], options: Mapping[str, Any]) -> Command:
    return Command([_tool(options, "condor_rm"), *job_ids])


@hookimpl
def parse_cancel(job_ids: Sequence[str], result: CommandResult) -> dict[str, CancelOutcome]:
    """``condor_rm`` answers for every job id (``Job 42.0 marked for removal``, ``already
    marked for removal``, ``not found``): those jobs need no confirming status query."""
    return {i: CancelOutcome.GONE for i in parsers.removed_by_rm(result) if i in job_ids}


# --- hooks: describing a status to the notebook user -------------------------------------

_IDLE_REASONS = {
    "no match found": (
        "no machine in the pool can take it right now: either none matches what it asks "
        "for ({resources}) or all that do are busy"
    ),
    "insufficient priority": (
        "other users have a higher priority in the pool right now; it starts when their "
        "jobs leave room"
    ),
    "preemption_requirements == false": (
        "the machines that fit are busy with jobs that cannot be preempted"
    ),
    "submitter limit exceeded": "your share of the pool is in use by your other jobs",
    "group quota exceeded": "your accounting group has used its quota of the pool",
}

#: What a HoldReasonCode means, in a notebook user's words (HTCondor's CONDOR_HOLD_CODE).
_HOLD_HINTS = {
    1: "It was put on hold by an administrator or with condor_hold",
    3: "Its own periodic_hold policy put it on hold",
    6: "The job script could not be started on the execute machine",
    7: "Its output file could not be opened; check that the log folder is writable",
    8: "Its input file could not be opened",
    12: "Its output could not be transferred back",
    13: "Its input files could not be transferred",
    14: "Its working folder could not be used on the execute machine",
    15: "It was submitted on hold",
    21: "The execute machine put it on hold",
    22: "Its job event log could not be written",
    26: "A policy of the pool put it on hold",
    34: "It used more memory than it requested; ask for more memory",
    46: "It ran longer than allowed",
    47: "It ran longer than allowed",
}


def _resources(status: JobStatus) -> str:
    parts = []
    cpus = status.extra.get("request_cpus")
    if cpus:
        parts.append(f"{cpus} CPU{'s' if cpus != '1' else ''}")
    mem = status.extra.get("request_memory_mb")
    if mem:
        parts.append(f"{mem} MiB of memory")
    gpus = status.extra.get("request_gpus")
    if gpus and gpus != "0":
        parts.append(f"{gpus} GPU{'s' if gpus != '1' else ''}")
    return ", ".join(parts) or "the resources it requested"


@hookimpl
def describe_status(status: JobStatus) -> str:
    if status.state is JobState.PENDING:
        if not status.reason:
            return (
                "Your job is in the HTCondor queue, waiting for the negotiator to find it "
                "a machine."
            )
        words = _IDLE_REASONS.get(status.reason.strip().lower())
        if words is None and "concurrency limit" in status.reason.lower():
            words = f"a concurrency limit is reached ({status.reason})"
        text = words.format(resources=_resources(status)) if words else status.reason
        return f"Your job is waiting in the HTCondor queue: {text}."
    if status.state is JobState.HELD:
        code = status.extra.get("hold_reason_code")
        hint = _HOLD_HINTS.get(int(code)) if code and code.isdigit() else None
        text = f"Your job is on hold: {status.reason or 'HTCondor gave no reason'}."
        if hint:
            text += f" {hint}."
        return text + " It will not start until it is released; stop this server to remove it."
    removed_by = (status.reason or "").upper().replace("_", "")
    if status.state is JobState.CANCELLED and "PERIODICREMOVE" in removed_by:
        return (
            f"Your job was removed by a run-time policy (usually its time limit): {status.reason}."
        )
    if status.state is JobState.RUNNING and status.native_state == "6":
        return "Your job has stopped running and HTCondor is transferring its output."
    return str(describe_generic(status))


# --- hooks: resources ------------------------------------------------------------------------


@hookimpl
def resources_commands(options: Mapping[str, Any]) -> list[Command]:
    argv = [
        _tool(options, "condor_status"),
        "-json",
        "-attributes",
        ",".join(parsers.SLOT_ATTRIBUTES),
    ]
    if options.get("status_constraint"):
        argv += ["-constraint", str(options["status_constraint"])]
    return [Command(argv)]


@hookimpl
def parse_resources(
    results: Sequence[CommandResult], options: Mapping[str, Any]
) -> list[QueueInfo]:
    ads: list[dict[str, Any]] = []
    for result in results:
        ads += parsers.parse_json_ads(result)
    return parsers.queues_from_slots(ads, pool_name=str(options.get("pool_name") or "pool"))
