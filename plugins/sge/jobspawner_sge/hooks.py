"""jobspawner backend ``sge``: Grid Engine (Son of Grid Engine 8.1, Sun/Oracle GE 6.2, Univa).

Only pure hooks, which build ``qsub``/``qstat``/``qacct``/``qdel``/``qconf`` commands and
read their output (:mod:`jobspawner_sge.parsers`); the core runs them:

* status: ``qstat -xml -u <users>`` for every job at once (qstat cannot filter by id), the
  detail query ``qstat -j`` for the reason of waiting or failed (``Eqw``) jobs, and one
  ``qacct -j`` per job that left qstat (Grid Engine forgets finished jobs at once).
* cancel: ``qdel``, read per job by ``parse_cancel`` (a refused delete fails at once instead
  of retrying); the core's cancel re-runs the status query until the jobs are gone.

Backend options (``c.JobSpawner.backend_options``): declared once, with type, default and
help, in :data:`jobspawner_sge.options.OPTIONS`; ``docs/backends/sge.md`` lists
them, generated from those declarations.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from jobspawner import (
    CancelOutcome,
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
    submit_problem,
)

from . import parsers
from .options import backend_options, resource_fields
from .templates import TEMPLATE, check_constraint

__all__ = [
    "backend_options",
    "check_constraint",
    "resource_fields",
]  # hook implementations (.options, .templates)

#: A Grid Engine job id (``123`` or an array task ``123.4``).
_JOB_ID = re.compile(r"\d+(?:\.\d+)?")


# --- helpers -----------------------------------------------------------------------------------


def _env(options: Mapping[str, Any]) -> dict[str, str]:
    env = {}
    if options.get("sge_root"):
        env["SGE_ROOT"] = str(options["sge_root"])
    if options.get("sge_cell"):
        env["SGE_CELL"] = str(options["sge_cell"])
    return env


def _cmd(options: Mapping[str, Any], program: str, *args: str, stdin: str | None = None) -> Command:
    return Command([str(options.get(program) or program), *args], stdin=stdin, env=_env(options))


def _ids(job_ids: Sequence[str]) -> list[str]:
    """The ids that look like Grid Engine job ids (never pass anything else to a command)."""
    return [i for i in dict.fromkeys(str(j).strip() for j in job_ids) if _JOB_ID.fullmatch(i)]


def _users(options: Mapping[str, Any]) -> str:
    users = options.get("status_users") or "*"
    if isinstance(users, (list, tuple, set)):
        users = ",".join(str(u) for u in users) or "*"
    return str(users)


def _flag(options: Mapping[str, Any], name: str, default: bool = True) -> bool:
    return flag(options, name, default)


# --- job script and submit ---------------------------------------------------------------------


@hookimpl
def script_template() -> str:
    return TEMPLATE


@hookimpl
def submit_command(spec: JobSpec, script: str) -> Command:
    """``qsub -terse`` with the script on standard input.

    A job name Grid Engine would refuse (it may not start with a digit, nor contain ``/``,
    ``:``, ``@``...) is replaced on the command line, which overrides the script's ``-N``.
    """
    args = ["-terse"]
    if not parsers.valid_job_name(spec.job_name):
        args += ["-N", parsers.safe_job_name(spec.job_name)]
    return _cmd(spec.options, "qsub", *args, stdin=script)


@hookimpl
def parse_submit(result: CommandResult) -> str:
    if not result.ok:
        raise CommandError.from_result(result, problem=submit_problem(result))
    job_id = parsers.parse_job_id(result.stdout)
    if job_id is None:
        raise CommandError.from_result(
            result,
            problem=(
                "printed no job id (expected a number from `qsub -terse`, or "
                '`Your job N ("name") has been submitted`)'
            ),
        )
    return job_id


# --- status ------------------------------------------------------------------------------------


@hookimpl
def status_command(job_ids: Sequence[str], options: Mapping[str, Any]) -> Command:
    """``qstat -xml -u <users>``: qstat cannot select ids, the parser filters them."""
    return _cmd(options, "qstat", "-xml", "-u", _users(options))


@hookimpl
def parse_status(
    job_ids: Sequence[str], result: CommandResult, options: Mapping[str, Any]
) -> dict[str, JobStatus]:
    if not result.ok:
        raise CommandError.from_result(result, problem="did not answer")
    try:
        jobs = parsers.parse_qstat_xml(result.stdout)
    except parsers.QstatXmlError as e:
        raise CommandError.from_result(result, problem=str(e)) from None
    wanted = set(job_ids)
    found: dict[str, JobStatus] = {}
    for job in jobs:
        if job.job_id in wanted:
            found[job.job_id] = job.status()
        elif job.tasks:  # array task ids such as "12.3"
            key = f"{job.job_id}.{job.tasks}"
            if key in wanted:
                found[key] = job.status()
    return found


def _needs_reason(status: JobStatus) -> bool:
    """Waiting, held and error (``Eqw``) jobs: ``qstat -j`` tells why."""
    return status.state in (JobState.PENDING, JobState.HELD) or (
        status.state is JobState.FAILED and "E" in (status.native_state or "")
    )


@hookimpl
def detail_command(statuses: Mapping[str, JobStatus], options: Mapping[str, Any]) -> Command | None:
    """``qstat -j id,id`` for the jobs that wait or failed: error reasons and scheduling
    information (the core reuses an answer while the job's state holds)."""
    waiting = _ids([i for i, s in statuses.items() if _needs_reason(s)])
    if not waiting or not _flag(options, "pending_reasons"):
        return None
    return _cmd(options, "qstat", "-j", ",".join(waiting))


@hookimpl
def parse_detail(result: CommandResult, statuses: Mapping[str, JobStatus]) -> dict[str, JobStatus]:
    details = parsers.parse_qstat_j(result.stdout)
    better = {}
    for job_id, status in statuses.items():
        detail = details.get(job_id.split(".")[0])
        reason = parsers.summarize_detail(detail) if detail and _needs_reason(status) else None
        if reason:
            better[job_id] = replace(status, reason=reason)
    return better


@hookimpl
def history_command(job_ids: Sequence[str], options: Mapping[str, Any]) -> list[Command]:
    """``qacct -j <id>``, one command per job (qacct takes one job per call)."""
    if not _flag(options, "use_qacct"):
        return []
    ids = dict.fromkeys(i.split(".")[0] for i in _ids(job_ids))
    return [_cmd(options, "qacct", "-j", i) for i in ids]


@hookimpl
def parse_history(job_ids: Sequence[str], result: CommandResult) -> dict[str, JobStatus]:
    records = parsers.parse_qacct(result.stdout)
    return {i: records[i] for i in job_ids if i in records}


# --- cancel --------------------------------------------------------------------------------------


@hookimpl
def cancel_command(job_ids: Sequence[str], options: Mapping[str, Any]) -> Command:
    return _cmd(options, "qdel", *_ids(job_ids))


#: What each ``qdel`` answer means for the cancel: a waiting job it ``deleted`` or a job it
#: does not know is gone; someone else's job is refused; ``registered`` (a running job is
#: being killed, state dr) is confirmed with qstat.
_QDEL_OUTCOMES = {
    "deleted": CancelOutcome.GONE,
    "unknown": CancelOutcome.GONE,
    "denied": CancelOutcome.REFUSED,
}


@hookimpl
def parse_cancel(job_ids: Sequence[str], result: CommandResult) -> dict[str, CancelOutcome]:
    said = parsers.parse_qdel(result.stdout + "\n" + result.stderr)
    outcomes = {}
    for job_id in job_ids:
        outcome = _QDEL_OUTCOMES.get(said.get(job_id.split(".")[0], ""))
        if outcome is not None:
            outcomes[job_id] = outcome
    return outcomes


# --- words for the user --------------------------------------------------------------------------

_FRIENDLY: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r'cannot run in PE "([^"]+)" because it only offers (\d+) slots'),
        "not enough free CPU slots for your request (parallel environment {0} can give "
        "{1} now); it starts when enough slots are free",
    ),
    (
        re.compile(r"Job is in hold state"),
        "it is on hold (waiting for another job, or held by you or an admin with qhold)",
    ),
    (
        re.compile(r"dropped because it is full"),
        "all queues that fit your request are full; it starts when a slot frees up",
    ),
    (
        re.compile(r"exceeds limit|cannot run because it exceeds"),
        "you have reached a resource quota (too many jobs or slots in use)",
    ),
    (
        re.compile(r"unknown resource|cannot run at host .* because it offers only"),
        "no host offers the resources you asked for (memory, GPUs...) right now",
    ),
    (
        re.compile(r"dropped because it is (disabled|temporarily not available|overloaded)"),
        "the queues that fit your request are {0}",
    ),
)


def friendly_reason(reason: str | None) -> str | None:
    """A scheduler reason translated into plain words (None if there is no translation)."""
    if not reason:
        return None
    for pattern, text in _FRIENDLY:
        m = pattern.search(reason)
        if m:
            return text.format(*m.groups())
    return None


@hookimpl
def describe_status(status: JobStatus) -> str:
    native = status.native_state or ""
    if status.state is JobState.FAILED and "E" in native:
        why = f": {status.reason}" if status.reason else ""
        return (
            f"Grid Engine could not start your job (state {native}){why}. "
            "Stop the server and fix the problem, or ask an admin to clear the error."
        )
    if status.state is JobState.RUNNING and "d" in native:
        return "Your job is being deleted."
    reason = friendly_reason(status.reason)
    return describe_generic(status, reason)


# --- resources -----------------------------------------------------------------------------------


@hookimpl
def resources_commands(options: Mapping[str, Any]) -> list[Command]:
    """``qstat -g c`` (slots per cluster queue) and ``qconf -sq '*'`` (their limits)."""
    return [_cmd(options, "qstat", "-g", "c"), _cmd(options, "qconf", "-sq", "*")]


@hookimpl
def parse_resources(
    results: Sequence[CommandResult], options: Mapping[str, Any]
) -> list[QueueInfo]:
    rows = parsers.parse_qstat_gc(results[0].stdout) if results else []
    confs = parsers.parse_queue_conf(results[1].stdout) if len(results) > 1 else {}
    default = options.get("default_queue")
    names = [r.name for r in rows] + [n for n in confs if n not in {r.name for r in rows}]
    by_name = {r.name: r for r in rows}
    return [
        parsers.queue_info(by_name.get(n), n, confs.get(n, {}), default=(n == default))
        for n in names
    ]
