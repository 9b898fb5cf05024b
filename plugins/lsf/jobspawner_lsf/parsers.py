"""Pure parsers for the output of LSF's commands (no I/O, never ``assert``).

Every function takes text (or a :class:`~jobspawner.CommandResult`) and returns plain
values; odd lines are skipped. :class:`~jobspawner.CommandError` is raised only when the
scheduler did not answer at all.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from jobspawner import CommandError, CommandResult, JobState, JobStatus, QueueInfo, size_mib

#: The ``bjobs -o`` fields the status query asks for. ``pend_reason`` is last so that the
#: delimited form stays readable even if a reason contained the delimiter.
STATUS_FIELDS = ("jobid", "stat", "exec_host", "exit_code", "pend_reason")

#: Delimiter of the non-JSON ``bjobs -noheader -o "... delimiter='|'"`` form.
DELIMITER = "|"

#: Native LSF job states (``STAT``) and what they mean for a notebook spawn.
STATES: Mapping[str, JobState] = {
    "PEND": JobState.PENDING,
    "WAIT": JobState.PENDING,  # chunk-job member waiting for its turn
    "PROV": JobState.PENDING,  # dispatched to a power-saved host that is waking up
    "PSUSP": JobState.HELD,  # suspended by its owner or an admin while pending
    "RUN": JobState.RUNNING,
    "USUSP": JobState.SUSPENDED,  # suspended by its owner or an admin while running
    "SSUSP": JobState.SUSPENDED,  # suspended by LSF (load, run window)
    "DONE": JobState.DONE,
    "PDONE": JobState.DONE,
    "EXIT": JobState.FAILED,
    "PERR": JobState.FAILED,
    "ZOMBI": JobState.FAILED,  # killed while its host was unreachable; will become EXIT
    "UNKWN": JobState.UNKNOWN,  # mbatchd lost contact with the host; the job may still run
}

#: Reasons LSF attaches to some states, for the states that carry no ``pend_reason``.
STATE_REASONS: Mapping[str, str] = {
    "PROV": "the execution host is being powered up",
    "WAIT": "waiting for its turn in a chunk job",
    "PSUSP": "suspended while pending by its owner or an administrator",
    "USUSP": "suspended by its owner or an administrator",
    "SSUSP": "suspended by LSF (host load or the queue's run window)",
    "UNKWN": "LSF has lost contact with the execution host",
    "ZOMBI": "killed while its execution host was unreachable",
}

#: What an EXIT job's exit code means under LSF in particular (LSF signals the job: SIGUSR2
#: at the run limit, SIGINT then SIGTERM then SIGKILL for bkill and the memory limit), given
#: as the scheduler's words; what a code means anywhere (137: killed) is said by
#: jobspawner.contract.exit_words, the one table every report of an end uses.
EXIT_HINTS: Mapping[int, str] = {
    140: "probably killed by LSF at its run time limit (-W)",
    130: "probably killed by bkill or for exceeding its memory limit (-M)",
}

_SUBMITTED = re.compile(r"Job <(?P<id>\d+)> is submitted to (?:default )?queue <(?P<queue>[^>]*)>")
_NOT_FOUND = re.compile(r"Job <(?P<id>[^>]+)> is not found")
_JOB_ID = re.compile(r"^\d+(?:\[\d+\])?$")
#: Lines LSF prints while mbatchd is busy or unreachable (before the real output).
_WAIT_LINE = re.compile(r"Please wait \.\.\.\s*$")


# --- bsub ---------------------------------------------------------------------------------------


def submitted_job_id(text: str) -> str | None:
    """The job id in ``Job <123> is submitted to [default ]queue <q>.``, anywhere in ``text``
    (esub messages and banners around it are ignored)."""
    match = _SUBMITTED.search(text)
    return match.group("id") if match else None


def parse_submit(result: CommandResult) -> str:
    """The job id printed by ``bsub``; :class:`CommandError` if there is none."""
    job_id = submitted_job_id(result.stdout) or submitted_job_id(result.stderr)
    if job_id is None:
        raise CommandError.from_result(
            result,
            problem=(
                f"exited with status {result.returncode} and printed no line like "
                "`Job <123> is submitted to queue <normal>.`"
            ),
        )
    return job_id


# --- bjobs ------------------------------------------------------------------------------------


def not_found_ids(text: str) -> list[str]:
    """Ids named in ``Job <N> is not found`` messages (jobs LSF has forgotten)."""
    return [m.group("id") for m in _NOT_FOUND.finditer(text)]


def first_exec_host(value: str | None) -> str | None:
    """The first host of an ``EXEC_HOST`` value, as a plain host name.

    Handles ``h1:h2`` (one entry per slot), ``4*h1:2*h2`` (slot counts), space separated
    lists, and ``host@cluster`` (multicluster). ``""`` and ``-`` mean no host.
    """
    if not value:
        return None
    for entry in re.split(r"[:\s]+", value.strip()):
        host = entry.split("*", 1)[-1].split("@", 1)[0].strip()
        if host and host != "-":
            return host
    return None


def pending_reasons(text: str | None) -> list[str]:
    """The distinct reasons in a ``PEND_REASON`` value, without host counts and ``;``.

    ``"New job is waiting for scheduling; Not enough job slot(s): 3 hosts;"`` gives
    ``["New job is waiting for scheduling", "Not enough job slot(s)"]``.
    """
    if not text or text.strip() == "-":
        return []
    reasons: list[str] = []
    for part in re.split(r";|\n", text):
        part = re.sub(r":\s*\d+\s+hosts?\s*$", "", part.strip()).strip()
        if part and part != "-" and part not in reasons:
            reasons.append(part)
    return reasons


def status_from_fields(fields: Mapping[str, str]) -> JobStatus:
    """A :class:`JobStatus` from one job's ``bjobs -o`` values (keys upper-cased)."""
    native = (fields.get("STAT") or "").strip().upper()
    state = STATES.get(native, JobState.UNKNOWN)
    reasons = pending_reasons(fields.get("PEND_REASON")) if state is JobState.PENDING else []
    reason = "; ".join(reasons) or STATE_REASONS.get(native)
    if native and native not in STATES:
        reason = f"LSF reports the unknown job state {native}"
    exit_code: int | None = None
    raw_code = (fields.get("EXIT_CODE") or "").strip()
    if state.finished:
        if re.fullmatch(r"-?\d+", raw_code):
            exit_code = int(raw_code)
        elif state is JobState.DONE:
            exit_code = 0
    if (
        state is JobState.FAILED
        and exit_code is not None
        and exit_code in EXIT_HINTS
        and not reason
    ):
        reason = EXIT_HINTS[exit_code]
    host = first_exec_host(fields.get("EXEC_HOST"))
    extra = {"exec_host": fields["EXEC_HOST"]} if fields.get("EXEC_HOST") else {}
    return JobStatus(
        state=state,
        native_state=native or None,
        host=host if state in (JobState.RUNNING, JobState.SUSPENDED, JobState.UNKNOWN) else None,
        reason=reason,
        exit_code=exit_code,
        extra=extra,
    )


def extract_json(text: str) -> Any:
    """The JSON document in ``text``, skipping lines printed before or after it
    (``LSF is processing your request. Please wait ...``); ``None`` if there is none."""
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end < start:
        return None
    try:
        return json.loads(text[start : end + 1])
    except ValueError:
        return None


def records_from_json(text: str) -> list[dict[str, str]] | None:
    """The ``RECORDS`` of ``bjobs -o ... -json`` output; ``None`` if it holds no such document."""
    doc = extract_json(text)
    if not isinstance(doc, dict) or not isinstance(doc.get("RECORDS"), list):
        return None
    records = []
    for record in doc["RECORDS"]:
        if isinstance(record, dict):
            records.append({str(k).upper(): "" if v is None else str(v) for k, v in record.items()})
    return records


def records_from_delimited(
    text: str, fields: Sequence[str] = STATUS_FIELDS, delimiter: str = DELIMITER
) -> list[dict[str, str]]:
    """Rows of ``bjobs -noheader -o "<fields> delimiter='|'"`` output; other lines skipped.

    LSF prints ``-`` for fields that are not set; they become ``""``.
    """
    keys = [f.split(":", 1)[0].upper() for f in fields]
    records = []
    for line in text.splitlines():
        parts = line.split(delimiter)
        if len(parts) < len(keys) or not _JOB_ID.match(parts[0].strip()):
            continue
        # a delimiter inside the last field (the reason) stays in that field
        head, tail = parts[: len(keys) - 1], delimiter.join(parts[len(keys) - 1 :])
        values = [v.strip() for v in [*head, tail]]
        records.append({k: ("" if v == "-" else v) for k, v in zip(keys, values, strict=False)})
    return records


def parse_bjobs(
    job_ids: Sequence[str], result: CommandResult, use_json: bool = True
) -> dict[str, JobStatus]:
    """``{job_id: JobStatus}`` for the jobs a ``bjobs -o ...`` call listed.

    Ids that LSF no longer knows (``Job <N> is not found`` on stderr, or an ``ERROR`` record
    in JSON) are left out, so the core asks the history command and then reports them
    vanished. Raises :class:`CommandError` when bjobs printed neither records nor
    "not found" messages (LSF down, bad option, ...).
    """
    records = records_from_json(result.stdout) if use_json else None
    if records is None:
        records = records_from_delimited(result.stdout)
        # a JSON query answered by an old bjobs that ignores -json: the delimited form is not
        # there either, so this only helps the fallback; keep the JSON error otherwise
    wanted = set(job_ids)
    found: dict[str, JobStatus] = {}
    errors: list[str] = []
    for record in records:
        if record.get("ERROR"):
            errors.append(record["ERROR"])
            continue
        job_id = record.get("JOBID", "").strip()
        if not job_id and len(job_ids) == 1 and len(records) == 1:
            job_id = job_ids[0]  # a format without jobid, asked about one job
        if not job_id or (wanted and job_id not in wanted) or not record.get("STAT"):
            continue
        found[job_id] = status_from_fields(record)
    gone = not_found_ids(result.stderr) + not_found_ids(result.stdout)
    gone += [i for e in errors for i in not_found_ids(e)]
    if not found and not gone:
        if result.ok and not records and not _meaningful(result.stdout + result.stderr):
            return {}  # nothing at all: no job of ours is known
        raise CommandError.from_result(
            result,
            problem=(
                f"exited with status {result.returncode} and printed neither job records nor "
                "`Job <N> is not found` messages"
            ),
        )
    return found


def _meaningful(text: str) -> bool:
    """True if ``text`` has lines other than LSF's "please wait" lines."""
    return any(line.strip() and not _WAIT_LINE.search(line) for line in text.splitlines())


# --- bacct ------------------------------------------------------------------------------------

_DONE_EXITED = re.compile(
    r"Total number of done jobs:\s*(?P<done>\d+)\s+Total number of exited jobs:\s*(?P<exited>\d+)"
)


def parse_bacct_summary(job_ids: Sequence[str], text: str) -> dict[str, JobStatus]:
    """How jobs ended, from ``bacct <ids>``'s summary.

    The summary only counts done and exited jobs, so it answers only when every job asked
    about ended the same way (all done: exit code 0; all exited: failed). Anything else
    (mixed outcomes, "No matching job found", unreadable text) gives ``{}``.
    """
    match = _DONE_EXITED.search(text)
    if not match or not job_ids:
        return {}
    done, exited = int(match.group("done")), int(match.group("exited"))
    if done + exited != len(job_ids):
        return {}
    if exited == 0:
        status = JobStatus(JobState.DONE, native_state="DONE", exit_code=0, reason="from bacct")
    elif done == 0:
        status = JobStatus(JobState.FAILED, native_state="EXIT", reason="from bacct")
    else:
        return {}
    return dict.fromkeys(job_ids, status)


# --- bqueues / bparams ------------------------------------------------------------------------

_LIMIT_NAMES = ("RUNLIMIT", "MEMLIMIT", "PROCLIMIT", "TASKLIMIT", "CPULIMIT", "SWAPLIMIT")


def parse_default_queues(text: str) -> list[str]:
    """The queue names in ``bparams``'s ``Default Queues:  normal idle`` line."""
    match = re.search(r"^\s*Default Queues?:\s*(.*)$", text, re.MULTILINE | re.IGNORECASE)
    return match.group(1).split() if match else []


def parse_minutes(value: str) -> int | None:
    """Seconds from a bqueues time limit (``720.0 min``, ``60.0 min of hostA``, ``12:00``)."""
    value = value.strip()
    match = re.match(r"^(\d+(?:\.\d+)?)\s*min", value)
    if match:
        return round(float(match.group(1)) * 60)
    match = re.match(r"^(?:(\d+):)?(\d+)$", value)
    if match:
        return (int(match.group(1) or 0) * 60 + int(match.group(2))) * 60
    return None


def parse_memory_mb(value: str, default_unit: str = "KB") -> int | None:
    """MiB from a bqueues memory limit (``2 G``, ``500 M``, ``2048 K``, ``4 GB``); a bare
    number is in ``default_unit`` (the cluster's ``LSF_UNIT_FOR_LIMITS``)."""
    match = re.match(r"^(\d+(?:\.\d+)?)\s*([KMGTP])?B?\b", value.strip(), re.IGNORECASE)
    if not match:
        return None
    mib = size_mib(match.group(1) + (match.group(2) or ""), bare=default_unit[:1] or "K")
    return None if mib is None else math.ceil(mib)


def _columns(header: str, values: str) -> dict[str, str]:
    """Split a ``values`` line under a ``header`` line of column names by position (LSF
    left-aligns each value under its column name)."""
    starts = [(m.start(), m.group(0)) for m in re.finditer(r"\S+", header)]
    out: dict[str, str] = {}
    for n, (start, name) in enumerate(starts):
        begin = 0 if n == 0 else start
        end = starts[n + 1][0] if n + 1 < len(starts) else len(values)
        out[name] = values[begin:end].strip()
    return out


def _stat_columns(header: str, values: str) -> dict[str, str]:
    """The PARAMETERS/STATISTICS table: whitespace separated, same number of words."""
    names, words = header.split(), values.split()
    return (
        dict(zip(names, words, strict=True))
        if len(names) == len(words)
        else _columns(header, values)
    )


def parse_bqueues_long(text: str, memory_unit: str = "KB") -> list[QueueInfo]:
    """Queues and their limits from ``bqueues -l``.

    Reads ``QUEUE: name``, the description line, the PARAMETERS/STATISTICS table
    (PRIO, STATUS, MAX, NJOBS, PEND, RUN...), the ``DEFAULT LIMITS:`` and
    ``MAXIMUM LIMITS:`` blocks (RUNLIMIT, MEMLIMIT, PROCLIMIT/TASKLIMIT) and ``HOSTS:``.
    """
    queues: list[QueueInfo] = []
    for block in re.split(r"^(?=QUEUE:\s)", text, flags=re.MULTILINE):
        lines = block.splitlines()
        if not lines or not lines[0].startswith("QUEUE:"):
            continue
        name = lines[0].split(":", 1)[1].strip()
        if not name:
            continue
        extra: dict[str, str] = {}
        stats: dict[str, str] = {}
        limits: dict[str, dict[str, str]] = {"DEFAULT": {}, "MAXIMUM": {}}
        section: str | None = None
        i = 1
        while i < len(lines):
            line = lines[i]
            stripped = line.strip()
            if stripped.startswith("-- ") and "description" not in extra:
                extra["description"] = stripped[3:].strip()
            elif stripped.startswith("PRIO") and i + 1 < len(lines):
                stats = _stat_columns(line, lines[i + 1])
                i += 1
            elif stripped.startswith("DEFAULT LIMITS"):
                section = "DEFAULT"
            elif stripped.startswith("MAXIMUM LIMITS"):
                section = "MAXIMUM"
            elif stripped and stripped.split()[0] in _LIMIT_NAMES:
                # older LSF prints the maximum limits without a "MAXIMUM LIMITS:" heading
                if i + 1 < len(lines):
                    limits[section or "MAXIMUM"].update(_columns(line, lines[i + 1]))
                    i += 1
            elif stripped and not line.startswith(" ") and section:
                section = None  # next top-level heading ends the limits blocks
                continue
            elif stripped.startswith("HOSTS:"):
                extra["hosts"] = stripped.split(":", 1)[1].strip()
            i += 1
        for key in ("PRIO", "NJOBS", "PEND", "RUN", "MAX"):
            if stats.get(key) not in (None, "", "-"):
                extra[key.lower()] = stats[key]
        max_run = limits["MAXIMUM"].get("RUNLIMIT")
        default_run = limits["DEFAULT"].get("RUNLIMIT")
        memory = limits["MAXIMUM"].get("MEMLIMIT")
        procs = limits["MAXIMUM"].get("TASKLIMIT") or limits["MAXIMUM"].get("PROCLIMIT")
        if procs:
            extra["max_tasks"] = procs.split()[-1]
        total = stats.get("MAX", "")
        queues.append(
            QueueInfo(
                name=name,
                state=stats.get("STATUS") or None,
                max_time_s=parse_minutes(max_run) if max_run else None,
                default_time_s=parse_minutes(default_run) if default_run else None,
                memory_per_node_mb=parse_memory_mb(memory, memory_unit) if memory else None,
                total_cpus=int(total) if total.isdigit() else None,
                extra=extra,
            )
        )
    return queues


def mark_defaults(queues: Iterable[QueueInfo], defaults: Sequence[str]) -> list[QueueInfo]:
    """The same queues with ``default=True`` on those named in ``defaults``."""
    from dataclasses import replace

    return [replace(q, default=q.name in defaults) for q in queues]
