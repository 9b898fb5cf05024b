"""Pure parsers for what sbatch, squeue, sacct, sinfo and scontrol print.

Nothing here runs a command. Every parser reads text by *named columns* (the column lists
the command builders in :mod:`jobspawner_slurm.commands` ask for), skips lines it cannot
read, and raises :class:`~jobspawner.CommandError` only when the scheduler did not answer.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from datetime import datetime

from jobspawner import (
    CancelOutcome,
    CommandError,
    CommandResult,
    JobState,
    JobStatus,
    clock_seconds,
    submit_problem,
)

from .hostlist import first_host
from .states import long_name, normalise

# --- small value parsers -----------------------------------------------------------------

_UNSET = {"", "n/a", "N/A", "None", "(null)", "Unknown", "NONE"}


def parse_time(text: str | None) -> datetime | None:
    """An ISO timestamp as printed with ``SLURM_TIME_FORMAT=standard``; None otherwise."""
    text = (text or "").strip()
    if text in _UNSET:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def parse_duration(text: str | None) -> int | None:
    """Seconds of a Slurm time limit (``2-00:00:00``, ``1:00:00``, ``30:00``, ``5``, ``2-12``).

    ``UNLIMITED``/``INFINITE``/``n/a`` give None. Without a day part, ``a:b`` is minutes and
    seconds and a bare number is minutes; with one, ``d-h``, ``d-h:m`` and ``d-h:m:s`` (the
    forms of ``--time``, read by the core's parser).
    """
    return clock_seconds((text or "").strip(), bare="minutes", day_dash=True)


def decode_wait_status(raw: str | None) -> tuple[int | None, int | None]:
    """(exit code, signal) from squeue's ``exit_code`` (a raw wait status, e.g. 768 = exit 3).

    Also reads sacct's ``code:signal`` form (``1:0``, ``0:15``).
    """
    text = (raw or "").strip()
    if ":" in text:
        code, _, sig = text.partition(":")
        try:
            return int(code), int(sig)
        except ValueError:
            return None, None
    if not text.lstrip("-").isdigit():
        return None, None
    status = int(text)
    if status < 0:
        return status, 0
    return (status >> 8) & 0xFF, status & 0x7F


def shell_exit_code(code: int | None, signal: int | None) -> int | None:
    """One exit code the way a shell reports it: ``128 + signal`` for a killed process."""
    if signal:
        return 128 + signal
    return code


# --- job ids (with an optional cluster) --------------------------------------------------


def split_job_id(job_id: str) -> tuple[str, str | None]:
    """``"123;mpp2"`` -> ``("123", "mpp2")``; ``"123"`` -> ``("123", None)``."""
    base, sep, cluster = job_id.partition(";")
    return base.strip(), (cluster.strip() or None) if sep else None


def _match_id(printed: str, cluster: str | None, wanted: set[str]) -> str | None:
    """The requested id (with or without its cluster) that a printed id stands for."""
    if cluster and f"{printed};{cluster}" in wanted:
        return f"{printed};{cluster}"
    return printed if printed in wanted else None


def _rows(
    text: str, fields: Sequence[str], delimiter: str
) -> Iterable[tuple[str | None, dict[str, str]]]:
    """(cluster, {field: value}) for each line of a multi-column output.

    ``CLUSTER: name`` lines (``-M`` output) set the cluster of the lines that follow.
    """
    cluster: str | None = None
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith("CLUSTER:"):
            cluster = stripped.split(":", 1)[1].strip() or None
            continue
        parts = line.split(delimiter)
        if len(parts) < len(fields):
            continue
        row = {name: parts[i].strip() for i, name in enumerate(fields)}
        yield row.get("cluster") or cluster, row


# --- sbatch --------------------------------------------------------------------------------

_PARSABLE = re.compile(r"^(\d+(?:_\d+)?)(?:;(\S+))?$")
_SUBMITTED = re.compile(r"Submitted batch job (\d+)(?: on cluster (\S+))?")


def parse_sbatch(result: CommandResult, cluster: str | None = None) -> str:
    """The job id from ``sbatch --parsable`` (``123`` or ``123;cluster``).

    Also reads the plain ``Submitted batch job 123 [on cluster c]`` line. Returns
    ``"id;cluster"`` when the job went to a named cluster (from the output or ``cluster``).
    """
    if not result.ok:
        raise CommandError.from_result(result, problem=submit_problem(result))
    for line in reversed(result.stdout.strip().splitlines()):
        line = line.strip()
        m = _PARSABLE.match(line) or _SUBMITTED.search(line)
        if m:
            job_id, on = m.group(1), m.group(2) or cluster
            return f"{job_id};{on}" if on else job_id
    raise CommandError.from_result(
        result,
        problem="printed no job id (expected `<id>` or `<id>;<cluster>` from --parsable)",
    )


# --- squeue --------------------------------------------------------------------------------

_SQUEUE_ERROR = "slurm_load_jobs error"
_INVALID_ID = "Invalid job id specified"


def squeue_statuses(rows: Iterable[dict[str, str]], job_ids: Sequence[str]) -> dict[str, JobStatus]:
    """``{job_id: JobStatus}`` for the requested ids among squeue-style ``rows`` (the first
    row of a job counts); used by the REST backends, whose answers become such rows."""
    wanted = set(job_ids)
    found: dict[str, JobStatus] = {}
    for row in rows:
        job_id = row.get("jobid", "")
        if job_id in wanted and job_id not in found:
            status = squeue_status(row)
            if status is not None:
                found[job_id] = status
    return found


def squeue_status(row: dict[str, str]) -> JobStatus | None:
    """The :class:`JobStatus` of one squeue row (keys: see :data:`commands.SQUEUE_FIELDS`)."""
    native = row.get("state", "")
    if not native:
        return None
    reason_text = row.get("reason", "")
    state = normalise(native, reason_text)
    reason = None if reason_text in _UNSET else reason_text
    host = None
    if state in (JobState.RUNNING, JobState.SUSPENDED) or state.finished:
        batch = row.get("batchhost", "")
        host = first_host(batch) if batch not in _UNSET else None
        host = host or first_host(row.get("nodelist"))
    start = parse_time(row.get("starttime"))
    expected = start if state in (JobState.PENDING, JobState.HELD) else None
    exit_code = None
    extra: dict[str, str] = {}
    if state.finished and "exit_code" in row:
        code, sig = decode_wait_status(row["exit_code"])
        exit_code = shell_exit_code(code, sig)
        if sig:
            extra["signal"] = str(sig)
    if state is JobState.RUNNING and start is not None:
        extra["started"] = start.isoformat()
    # a running job's end at its time limit (current after ``scontrol update TimeLimit``)
    end = (
        parse_time(row.get("endtime")) if state in (JobState.RUNNING, JobState.SUSPENDED) else None
    )
    for key in ("partition", "nodelist"):
        value = row.get(key, "")
        if value and value not in _UNSET and not value.startswith("("):
            extra[key] = value
    return JobStatus(
        state=state,
        native_state=long_name(native),
        host=host,
        reason=reason,
        expected_start=expected,
        exit_code=exit_code,
        end_time=end,
        extra=extra,
    )


#: How many distinct squeue lines keep their parsed status (a hub's jobs, a few rounds).
ROW_CACHE_SIZE = 16_384


@functools.lru_cache(maxsize=ROW_CACHE_SIZE)
def _squeue_line(
    line: str, fields: tuple[str, ...], delimiter: str
) -> tuple[str, str | None, JobStatus | None] | None:
    """(printed job id, the row's own cluster, status) of one squeue line, or None.

    A line that did not change since the last round (a running job's, most of them) gives
    the same answer: it is parsed once and then read from this cache. :class:`JobStatus`
    is frozen, so the cached one is shared as the poller already shares each answer."""
    parts = line.split(delimiter)
    if len(parts) < len(fields):
        return None
    row = {name: parts[i].strip() for i, name in enumerate(fields)}
    return row.get("jobid", ""), row.get("cluster") or None, squeue_status(row)


def parse_squeue(
    job_ids: Sequence[str],
    result: CommandResult,
    fields: Sequence[str],
    delimiter: str = "|",
) -> dict[str, JobStatus]:
    """``{job_id: JobStatus}`` for the requested ids that squeue listed.

    A single unknown id makes squeue exit 1 with ``Invalid job id specified``: that is "not
    listed" (``{}``), not a failure. Any other error means the controller did not answer:
    :class:`CommandError`.
    """
    text = result.stdout
    if not result.ok:
        if _INVALID_ID in result.stderr and not text.strip():
            return {}
        raise CommandError.from_result(result, problem="could not list the jobs")
    if _SQUEUE_ERROR in result.stderr and not text.strip():
        raise CommandError.from_result(result, problem="could not list the jobs")
    wanted = set(job_ids)
    found: dict[str, JobStatus] = {}
    columns = tuple(fields)
    cluster: str | None = None  # from ``CLUSTER: name`` lines (``-M`` output)
    for line in text.splitlines():
        parsed = _squeue_line(line, columns, delimiter)
        if parsed is None:
            stripped = line.strip()
            if stripped.startswith("CLUSTER:"):
                cluster = stripped.split(":", 1)[1].strip() or None
            continue
        printed, row_cluster, status = parsed
        key = _match_id(printed, row_cluster or cluster, wanted)
        if key is None or key in found or status is None:
            continue
        found[key] = status
    return found


# --- sacct ---------------------------------------------------------------------------------

_NO_ACCOUNTING = "accounting storage is disabled"


def _sacct_status(row: dict[str, str], batch: dict[str, str] | None) -> JobStatus | None:
    native = row.get("state", "")
    state = normalise(native)
    if not state.finished and batch is not None and normalise(batch.get("state", "")).finished:
        # the database has not caught up with the allocation; its batch step has ended
        row, native, state = batch, batch.get("state", ""), normalise(batch.get("state", ""))
    if not state.finished:
        return None  # squeue no longer lists it: it is not running, whatever sacct says
    code, sig = decode_wait_status(row.get("exitcode"))
    extra: dict[str, str] = {}
    if sig:
        extra["signal"] = str(sig)
    reason = None
    by = re.search(r"\bby (\d+)", native)
    if by:
        reason = f"cancelled by uid {by.group(1)}"
        extra["cancelled_by_uid"] = by.group(1)
    for key in ("start", "end"):
        when = parse_time(row.get(key))
        if when is not None:
            extra[key] = when.isoformat()
    return JobStatus(
        state=state,
        native_state=long_name(native),
        host=first_host(row.get("nodelist")),
        reason=reason,
        exit_code=shell_exit_code(code, sig),
        extra=extra,
    )


def parse_sacct(
    job_ids: Sequence[str],
    result: CommandResult,
    fields: Sequence[str],
    delimiter: str = "|",
) -> dict[str, JobStatus]:
    """``{job_id: JobStatus}`` for finished jobs that sacct knows (allocation lines only).

    Without accounting storage sacct exits 1 (``Slurm accounting storage is disabled``):
    no history, ``{}``. Other failures raise :class:`CommandError`.
    """
    if not result.ok:
        if _NO_ACCOUNTING in (result.stderr + result.stdout).lower():
            return {}
        raise CommandError.from_result(result, problem="could not read the accounting records")
    return sacct_statuses(_rows(result.stdout, fields, delimiter), job_ids)


def sacct_statuses(
    rows: Iterable[tuple[str | None, dict[str, str]]], job_ids: Sequence[str]
) -> dict[str, JobStatus]:
    """``{job_id: JobStatus}`` for the requested ids among sacct-style ``(cluster, row)``
    pairs (keys: see :data:`commands.SACCT_FIELDS`; ``jobid`` ``123`` for the allocation,
    ``123.batch`` for its batch step): finished jobs only. Used for ``sacct`` and by the REST
    backends, whose accounting answers become such rows."""
    wanted = set(job_ids)
    allocations: dict[str, tuple[str | None, dict[str, str]]] = {}
    batches: dict[str, dict[str, str]] = {}
    for cluster, row in rows:
        jid = row.get("jobid", "")
        base, _, step = jid.partition(".")
        if step == "batch":
            batches.setdefault(f"{base};{cluster}" if cluster else base, row)
        elif not step:
            allocations.setdefault(f"{base};{cluster}" if cluster else base, (cluster, row))
    found: dict[str, JobStatus] = {}
    for _key, (cluster, row) in allocations.items():
        jid = row["jobid"]
        key = _match_id(jid, cluster, wanted)
        if key is None or key in found:
            continue
        batch = batches.get(f"{jid};{cluster}" if cluster else jid)
        status = _sacct_status(row, batch)
        if status is not None:
            found[key] = status
    return found


_SCANCEL_ERROR = re.compile(r"Kill job error on job id (\d+(?:_\d+)?): (.+)$")


def parse_scancel(result: CommandResult) -> dict[str, CancelOutcome]:
    """What ``scancel`` said per job id: ``Invalid job id specified`` (already gone) or
    ``Access/permission denied`` (someone else's job: scancel exits 0 on old Slurm and 210 on
    22.05, so only this line tells). Ids it printed nothing about are left out."""
    said: dict[str, CancelOutcome] = {}
    for line in (result.stdout + "\n" + result.stderr).splitlines():
        m = _SCANCEL_ERROR.search(line)
        if not m:
            continue
        if "Invalid job id" in m.group(2):
            said[m.group(1)] = CancelOutcome.GONE
        elif "permission denied" in m.group(2).lower():
            said[m.group(1)] = CancelOutcome.REFUSED
    return said
