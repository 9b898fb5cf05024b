"""Pure parsers for Grid Engine output (Son of Grid Engine 8.1, Sun GE 6.2, Univa).

Every function takes text and returns data; nothing here runs a command. Unreadable lines are
skipped, never asserted on. The formats are documented next to each parser.
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from jobspawner import JobState, JobStatus, QueueInfo, clock_seconds, size_mib

# --- job ids and names -------------------------------------------------------------------------

#: ``qsub -terse`` prints the id, or ``<id>.<first>-<last>:<step>`` for an array job.
_TERSE = re.compile(r"^\s*(\d+)(?:\.\d+-\d+:\d+)?\s*$")
#: ``Your job 341683 ("STDIN") has been submitted`` (qmaster's text has no final period, the
#: qsub client's variant has one); arrays say ``Your job-array 12.1-3:1 ("x") ...``.
_SENTENCE = re.compile(r"Your job(?:-array)? (\d+)(?:\.\S+)? \(\".*\"\) has been submitted\.?")

#: A job name Grid Engine accepts: not starting with a digit, none of its forbidden characters.
_VALID_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*")


def parse_job_id(text: str) -> str | None:
    """The job id in ``qsub`` output (``-terse`` or the ``Your job N`` sentence), or None."""
    for line in text.splitlines():
        m = _TERSE.match(line) or _SENTENCE.search(line)
        if m:
            return m.group(1)
    return None


def valid_job_name(name: str) -> bool:
    """True when Grid Engine accepts ``name`` as a job name (``qsub -N``)."""
    return bool(_VALID_NAME.fullmatch(name))


def safe_job_name(name: str) -> str:
    """``name`` made acceptable to ``qsub -N``: forbidden characters become ``_`` and a name
    that starts with a digit (or anything but a letter or ``_``) gets a ``j`` in front."""
    cleaned = re.sub(r"[^A-Za-z0-9_.\-]", "_", name)
    if not cleaned or not re.match(r"[A-Za-z_]", cleaned):
        cleaned = "j" + cleaned
    return cleaned


# --- states ------------------------------------------------------------------------------------

#: What each state letter means, for reasons (qstat(1)).
_LETTER_REASONS = {
    "d": "being deleted",
    "h": "on hold",
    "R": "restarted",
    "s": "suspended (qmod -sj)",
    "S": "its queue is suspended",
    "T": "its queue passed a suspend threshold",
    "t": "being transferred to its host",
}


def map_state(code: str) -> JobState:
    """The normalised state of a qstat state code (``qw``, ``hqw``, ``hRwq``, ``r``, ``t``,
    ``Rr``, ``Rt``, ``s``, ``ts``, ``S``, ``T``, ``dr``, ``dt``, ``Eqw``, ``z``...).

    ``E`` (error) wins over everything (a failure: the job cannot start until an admin clears
    it); suspension letters win over running; ``d`` (deletion under way) keeps the state of the
    other letters, since the job still holds its slots until the scheduler drops it.
    """
    code = code.strip()
    if not code:
        return JobState.UNKNOWN
    if "E" in code:
        return JobState.FAILED
    if "z" in code:
        return JobState.DONE
    if any(c in code for c in "sST"):
        return JobState.SUSPENDED
    if "r" in code or "t" in code:
        return JobState.RUNNING
    if "h" in code:
        return JobState.HELD
    if "q" in code or "w" in code:
        return JobState.PENDING
    return JobState.UNKNOWN


def state_reason(code: str) -> str | None:
    """A short reason from the letters of a state code (``dr`` -> ``being deleted``)."""
    if "E" in code:
        return "the job is in error state"
    parts = [text for letter, text in _LETTER_REASONS.items() if letter in code]
    return ", ".join(parts) or None


def host_of(queue: str | None) -> str | None:
    """The host of a queue instance name (``all.q@node1.example.org`` -> the host part)."""
    if not queue or "@" not in queue:
        return None
    host = queue.split("@", 1)[1].strip()
    return host or None


# --- qstat -xml ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class QstatJob:
    """One ``<job_list>`` element of ``qstat -xml``."""

    job_id: str
    state: str
    queue: str | None = None
    name: str | None = None
    owner: str | None = None
    slots: int | None = None
    tasks: str | None = None

    @property
    def host(self) -> str | None:
        return host_of(self.queue)

    def status(self) -> JobStatus:
        state = map_state(self.state)
        extra = {k: v for k, v in (("queue", self.queue), ("owner", self.owner)) if v}
        if self.slots is not None:
            extra["slots"] = str(self.slots)
        return JobStatus(
            state=state,
            native_state=self.state,
            host=self.host if state in (JobState.RUNNING, JobState.SUSPENDED) else None,
            reason=state_reason(self.state),
            extra=extra,
        )


class QstatXmlError(ValueError):
    """The text is not a qstat XML document."""


def parse_qstat_xml(text: str) -> list[QstatJob]:
    """Every job of a ``qstat -xml`` document (default, ``-ext``/``-urg`` and ``-F`` forms).

    Running jobs carry ``<queue_name>queue@host</queue_name>``; in the full (``-F``) form the
    queue is the enclosing ``<Queue-List><name>``. Pending jobs have an empty queue. A job
    whose tasks run on several hosts appears once per task: the first one wins.
    Raises :class:`QstatXmlError` when the text is not XML at all.
    """
    try:
        root = ET.fromstring(text.strip())
    except ET.ParseError as e:
        raise QstatXmlError(f"qstat printed no readable XML: {e}") from e
    jobs: list[QstatJob] = []
    seen: set[str] = set()

    def visit(element: ET.Element, queue: str | None) -> None:
        for child in element:
            if child.tag == "Queue-List":
                visit(child, (child.findtext("name") or "").strip() or None)
            elif child.tag == "job_list":
                job = _job_from_xml(child, queue)
                if job is not None and job.job_id not in seen:
                    seen.add(job.job_id)
                    jobs.append(job)
            else:
                visit(child, queue)

    visit(root, None)
    return jobs


def _job_from_xml(element: ET.Element, queue: str | None) -> QstatJob | None:
    job_id = (element.findtext("JB_job_number") or "").strip()
    if not job_id.isdigit():
        return None
    own_queue = (element.findtext("queue_name") or "").strip() or queue
    slots_text = (element.findtext("slots") or "").strip()
    return QstatJob(
        job_id=job_id,
        state=(element.findtext("state") or "").strip(),
        queue=own_queue,
        name=(element.findtext("JB_name") or "").strip() or None,
        owner=(element.findtext("JB_owner") or "").strip() or None,
        slots=int(slots_text) if slots_text.isdigit() else None,
        tasks=(element.findtext("tasks") or "").strip() or None,
    )


# --- qstat -j ------------------------------------------------------------------------------------


@dataclass
class JobDetail:
    """What ``qstat -j`` says about one job that matters to its owner."""

    job_id: str
    error_reasons: list[str] = field(default_factory=list)
    scheduling_info: list[str] = field(default_factory=list)


_ERROR_PREFIX = re.compile(r"^\s*\d{2}/\d{2}/\d{4} \d{2}:\d{2}:\d{2} \[[^\]]*\]:\s*(?:error:\s*)?")
#: Debris the shepherd appends to some error reasons (credentials and ids).
_ERROR_SUFFIX = re.compile(r"\s+KRB5CCNAME=\S*( uid=.*)?$")
_KEY = re.compile(r"^([A-Za-z_][A-Za-z0-9_ ]*?)(?:\s+\d+)?:\s*(.*)$")


def parse_qstat_j(text: str) -> dict[str, JobDetail]:
    """The error reasons and scheduling information per job of ``qstat -j id[,id...]``.

    Jobs are separated by a line of ``=``; ``error reason    1:   <date> [uid:pid]: error: ...``
    lines say why a job is in error state (``Eqw``); ``scheduling info:`` starts a list (one
    message per following indented line) of why the scheduler did not start a waiting job.
    """
    details: dict[str, JobDetail] = {}
    current: JobDetail | None = None
    in_scheduling = False
    for raw in text.splitlines():
        if raw.startswith("====="):
            current, in_scheduling = None, False
            continue
        if in_scheduling and raw[:1].isspace() and raw.strip():
            if current is not None:
                current.scheduling_info.append(raw.strip())
            continue
        in_scheduling = False
        m = _KEY.match(raw)
        if not m:
            continue
        key, value = m.group(1).strip(), m.group(2).strip()
        if key == "job_number" and value.isdigit():
            current = details.setdefault(value, JobDetail(value))
        elif current is None:
            continue
        elif key == "error reason":
            reason = _ERROR_SUFFIX.sub("", _ERROR_PREFIX.sub("", value))
            current.error_reasons.append(reason.strip())
        elif key == "scheduling info":
            in_scheduling = True
            if value:
                current.scheduling_info.append(value)
    return details


#: Scheduling messages that say nothing useful to a notebook user.
_NOISE = (
    re.compile(r"Collecting of scheduler job information is turned off"),
    re.compile(r"not contained in its hard queue list"),
    re.compile(r"is not in pe list"),
    re.compile(r"^Job is in error state$"),
    re.compile(r"There are no messages available"),
    re.compile(r"^\(-l .*\) cannot run in queue \".*\" because"),
)


def summarize_detail(detail: JobDetail, limit: int = 3) -> str | None:
    """One reason text for a job: its error reason, or its distinct scheduling messages
    (up to ``limit``, queue-instance noise left out)."""
    if detail.error_reasons:
        return detail.error_reasons[-1]
    messages: list[str] = []
    for line in detail.scheduling_info:
        if any(p.search(line) for p in _NOISE) or line in messages:
            continue
        messages.append(line)
    if not messages:
        useful = [m for m in detail.scheduling_info if "turned off" not in m]
        messages = useful[:1]
    return "; ".join(messages[:limit]) or None


# --- qacct -j ----------------------------------------------------------------------------------

#: The Grid Engine ``failed`` codes a user can act on (sge_status(5)), in plain words.
FAILED_CODES = {
    1: "the job failed before it started on its host",
    7: "the queue prolog could not start",
    8: "the queue prolog failed",
    10: "the parallel environment could not start",
    11: "the job could not be started on its host",
    17: "the job was killed by a signal",
    19: "the job's host lost track of it (crash?)",
    21: "the scheduler lost track of the job",
    25: "the job is being rescheduled",
    26: "the job's output file could not be opened",
    27: "the job's shell could not be found",
    28: "the job could not change to its working directory",
    37: "the job exceeded its run time or memory limit",
    100: "the job was ended by a signal (qdel, or a limit)",
}


def _first_int(value: str | None) -> int | None:
    m = re.match(r"\s*(-?\d+)", value or "")
    return int(m.group(1)) if m else None


def parse_qacct(text: str) -> dict[str, JobStatus]:
    """Finished jobs from ``qacct -j`` output (records after a line of ``=``).

    ``failed 0`` and ``exit_status 0`` is DONE, anything else FAILED with the exit status
    and the ``failed`` text as reason. Lines such as ``error: job id 7 not found`` give no
    record. Several records of one job (restarts) -> the last one counts.
    """
    found: dict[str, JobStatus] = {}
    record: dict[str, str] = {}

    def flush() -> None:
        job_id = record.get("jobnumber", "").strip()
        if job_id.isdigit():
            found[job_id] = _qacct_status(record)

    for line in text.splitlines():
        if line.startswith("====="):
            flush()
            record = {}
            continue
        parts = line.split(None, 1)
        if len(parts) == 2 and not line.startswith("error:"):
            record[parts[0]] = parts[1].strip()
    flush()
    return found


def _qacct_status(record: dict[str, str]) -> JobStatus:
    failed = _first_int(record.get("failed")) or 0
    exit_status = _first_int(record.get("exit_status"))
    failed_text = record.get("failed", "0").partition(":")[2].strip()
    keys = ("failed", "exit_status", "qname", "end_time")
    extra: dict[str, str] = {k: record[k] for k in keys if k in record}
    host = (record.get("hostname") or "").strip() or None
    if failed == 0 and exit_status == 0:
        return JobStatus(JobState.DONE, native_state="z", host=host, exit_code=0, extra=extra)
    if failed == 0:
        reason = f"the job exited with status {exit_status}"
    else:
        reason = FAILED_CODES.get(failed) or f"Grid Engine failure {failed}"
        if failed_text:
            reason += f" (failed {failed}: {failed_text})"
        # the exit status's meaning (137: killed by signal 9) is said with the exit code, from
        # jobspawner.contract.exit_words, the one table every report of an end uses
    return JobStatus(
        JobState.FAILED,
        native_state="z",
        host=host,
        reason=reason,
        exit_code=exit_status,
        extra=extra,
    )


# --- qdel --------------------------------------------------------------------------------------

_QDEL_PATTERNS = (
    (re.compile(r"has registered the job (\d+)"), "registered"),
    (re.compile(r"has deleted job (\d+)"), "deleted"),
    (re.compile(r"job \"(\d+)\" does not exist"), "unknown"),
    (re.compile(r"do not have the necessary privileges to delete the job \"(\d+)\""), "denied"),
    (re.compile(r"job (\d+) is already in deletion"), "registered"),
)


def parse_qdel(text: str) -> dict[str, str]:
    """Per job id, what ``qdel`` said: ``registered`` (deletion under way), ``deleted``,
    ``unknown`` (no such job: already gone) or ``denied`` (someone else's job).

    Son of Grid Engine prints all of it on standard output, one line per id, and exits 1 when
    any id failed.
    """
    out: dict[str, str] = {}
    for line in text.splitlines():
        for pattern, outcome in _QDEL_PATTERNS:
            m = pattern.search(line)
            if m:
                out[m.group(1)] = outcome
                break
    return out


# --- resources ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClusterQueue:
    """One row of ``qstat -g c``."""

    name: str
    load: str
    used: int
    reserved: int
    available: int
    total: int
    unavailable: int


def _int(text: str) -> int | None:
    return int(text) if text.lstrip("-").isdigit() else None


def parse_qstat_gc(text: str) -> list[ClusterQueue]:
    """The rows of ``qstat -g c``: ``CLUSTER QUEUE CQLOAD USED RES AVAIL TOTAL aoACDS cdsuE``
    (Sun GE 6.0 has no RES column)."""
    rows: list[ClusterQueue] = []
    header: list[str] = []
    for line in text.splitlines():
        parts = line.split()
        if not parts or line.startswith("-"):
            continue
        if parts[:2] == ["CLUSTER", "QUEUE"]:
            header = parts[2:]
            continue
        values = dict(zip(header, parts[1:], strict=False))
        used, avail, total = (_int(values.get(k, "")) for k in ("USED", "AVAIL", "TOTAL"))
        if used is None or avail is None or total is None:
            continue
        rows.append(
            ClusterQueue(
                name=parts[0],
                load=values.get("CQLOAD", ""),
                used=used,
                reserved=_int(values.get("RES", "0")) or 0,
                available=avail,
                total=total,
                unavailable=_int(values.get("cdsuE", "0")) or 0,
            )
        )
    return rows


def parse_queue_conf(text: str) -> dict[str, dict[str, str]]:
    """Queue configurations from ``qconf -sq <queues>``: ``{qname: {attribute: value}}``.

    Each queue starts with its ``qname`` line; continuation lines (trailing backslash) are
    joined.
    """
    queues: dict[str, dict[str, str]] = {}
    current: dict[str, str] | None = None
    for line in text.replace("\\\n", " ").splitlines():
        parts = line.split(None, 1)
        if len(parts) != 2:
            continue
        key, value = parts[0], " ".join(parts[1].split())
        if key == "qname":
            current = queues.setdefault(value, {})
        if current is not None:
            current[key] = value
    return queues


def parse_duration(text: str | None) -> int | None:
    """Seconds of a Grid Engine time value (``12:00:00``, ``1:30:0``, ``3600``), None for
    ``INFINITY`` or anything unreadable."""
    return clock_seconds(text, bare="seconds")


def parse_memory_mb(text: str | None) -> int | None:
    """MiB of a Grid Engine memory value (``4G``, ``512M``, ``1.5g``, bytes), None for
    ``INFINITY`` or anything unreadable. Lower-case units are powers of 1000."""
    mib = size_mib((text or "").strip(), bare="B", decimal_lowercase=True)
    return None if mib is None else math.floor(mib)


def _slots(value: str | None) -> int | None:
    """The largest slot count of a queue's ``slots`` value (``4`` or ``1,[node1=8]``)."""
    numbers = [int(n) for n in re.findall(r"(?:^|[=,])\s*(\d+)", value or "")]
    return max(numbers) if numbers else None


def queue_info(
    row: ClusterQueue | None, name: str, conf: dict[str, str], default: bool = False
) -> QueueInfo:
    """One :class:`QueueInfo` from a ``qstat -g c`` row and the queue's configuration."""
    hostlist = conf.get("hostlist", "")
    hosts = hostlist.split() if hostlist and hostlist != "NONE" else []
    plain_hosts = None if any(h.startswith("@") for h in hosts) else len(hosts)
    keys = ("hostlist", "pe_list", "seq_no", "qtype", "slots")
    extra: dict[str, str] = {k: conf[k] for k in keys if k in conf}
    if row is not None:
        extra.update(load=row.load, used=str(row.used), unavailable=str(row.unavailable))
    state = None
    if row is not None:
        state = "unavailable" if row.total and row.unavailable >= row.total else "open"
    return QueueInfo(
        name=name,
        default=default,
        state=state,
        max_time_s=parse_duration(conf.get("h_rt")),
        nodes=plain_hosts if hosts else None,
        cpus_per_node=_slots(conf.get("slots")),
        memory_per_node_mb=parse_memory_mb(conf.get("h_vmem")),
        idle_cpus=row.available if row else None,
        total_cpus=row.total if row else None,
        gres=conf.get("pe_list") if conf.get("pe_list") not in (None, "NONE") else None,
        extra=extra,
    )
