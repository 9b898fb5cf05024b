"""Pure parsers for Torque, PBS Pro/OpenPBS and Moab command output.

Every function takes text (or a :class:`CommandResult`) and returns plain data or
:class:`JobStatus` values. None of them asserts: a line or a job that cannot be read is
skipped, and :class:`CommandError` is raised only when the scheduler did not answer.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from jobspawner import CommandError, CommandResult, JobState, JobStatus, QueueInfo

from .common import (
    duration_s,
    exit_reason,
    first_host,
    match_ids,
    parse_time,
    size_mb,
    to_int,
)

# --- submit ----------------------------------------------------------------------------------

#: ``123``, ``123.server``, ``123[].server.domain``, ``Moab.45``.
_JOB_ID = re.compile(r"^[A-Za-z0-9_\-]+(?:\[\d*\])?(?:\.[A-Za-z0-9_\-]+)*$")


def parse_submit_output(result: CommandResult, tool: str = "qsub") -> str:
    """The job id printed by ``qsub`` (``<seq>.<server>``) or ``msub`` (a blank line, then
    the id). Raise :class:`CommandError` when the command failed or printed no id."""
    lines = [line.strip() for line in result.stdout.splitlines() if line.strip()]
    if result.ok and lines and _JOB_ID.match(lines[-1]):
        return lines[-1]
    problem = (
        f"did not print a job id ({tool} prints `<sequence>.<server>` on success)"
        if result.ok
        else f"was refused by the scheduler (exit {result.returncode})"
    )
    raise CommandError.from_result(result, problem=problem)


# --- errors shared by qstat/qdel ----------------------------------------------------------

#: ``qstat: Unknown Job Id 123.srv`` (PBS Pro, Torque < 6), ``... Unknown Job Id Error 123``
#: (Torque 6), ``qstat: 123.srv Job has finished, use -x ...`` (PBS Pro without -x),
#: ``qdel: Job has finished 123.srv`` (OpenPBS 23, recorded), ``qdel: Job 123.srv has
#: finished`` (the older wording).
_UNKNOWN_LINE = re.compile(
    r"^\S+: (?:Unknown Job Id(?: Error)? (?P<a>\S+)"
    r"|(?P<b>\S+) Job has finished.*"
    r"|Job has finished (?P<d>\S+)"
    r"|Job (?P<c>\S+) has finished.*)\s*$"
)
#: Exit statuses meaning "no such job" / "job has finished" (PBSE_UNKJOBID, PBSE_HISTJOBID).
UNKNOWN_JOB_CODES = (153, 35)


def unknown_ids(stderr: str) -> list[str] | None:
    """Ids reported unknown/finished on stderr; ``None`` if some other error is there."""
    ids = []
    for line in stderr.splitlines():
        if not line.strip():
            continue
        m = _UNKNOWN_LINE.match(line.strip())
        if not m:
            return None
        ids.append(m.group("a") or m.group("b") or m.group("c") or m.group("d"))
    return ids


def check_query(result: CommandResult) -> None:
    """Raise :class:`CommandError` unless ``result`` is an answer (maybe "unknown job")."""
    if result.ok:
        return
    if result.returncode in UNKNOWN_JOB_CODES and unknown_ids(result.stderr) is not None:
        return
    raise CommandError.from_result(result, problem="did not answer the status query")


# --- PBS state codes -------------------------------------------------------------------------

#: Torque and PBS Pro ``job_state`` codes. ``C``/``F``/``X`` are resolved by exit status.
PBS_STATES: dict[str, JobState] = {
    "Q": JobState.PENDING,  # queued
    "W": JobState.PENDING,  # waiting for its requested start time (qsub -a)
    "T": JobState.PENDING,  # in transit to a new location
    "M": JobState.PENDING,  # moved to another server (peer scheduling); it runs there
    "H": JobState.HELD,
    "S": JobState.SUSPENDED,
    "U": JobState.SUSPENDED,  # cycle-harvesting job suspended (keyboard activity)
    "R": JobState.RUNNING,
    "E": JobState.RUNNING,  # exiting after having run: still holds its nodes
    "B": JobState.RUNNING,  # array job with a subjob running
    "C": JobState.DONE,
    "F": JobState.DONE,
    "X": JobState.DONE,
}

_PBS_REASONS = {
    "W": "waiting for its requested start time",
    "T": "being moved to another queue or server",
    "M": "moved to another server",
    "E": "exiting",
    "U": "suspended because the workstation is in use",
}

_HOLD_TYPES = {
    "u": "held by you (qrls to release)",
    "o": "held by an operator",
    "s": "held by the system",
    "p": "held: bad password",
    "n": "held",
}


def _pbs_status(
    state: str,
    exit_code: int | None,
    host: str | None,
    comment: str | None,
    hold_types: str | None = None,
    expected: Any = None,
    extra: dict[str, str] | None = None,
) -> JobStatus:
    code = state.strip().upper()[:1]
    mapped = PBS_STATES.get(code, JobState.UNKNOWN)
    reason = comment or _PBS_REASONS.get(code)
    if mapped is JobState.DONE:
        if exit_code is not None and exit_code != 0:
            mapped = JobState.FAILED
            reason = exit_reason(exit_code) or comment
    elif mapped is JobState.HELD and hold_types and not comment:
        reason = _HOLD_TYPES.get(hold_types.strip()[:1], "held")
    elif mapped is JobState.UNKNOWN:
        reason = f"unrecognised job state {state!r}"
    return JobStatus(
        state=mapped,
        native_state=state,
        host=host,
        reason=reason,
        expected_start=parse_time(expected) if mapped is JobState.PENDING else None,
        exit_code=exit_code if mapped.finished else None,
        extra=extra or {},
    )


# --- Torque: qstat -x (XML) --------------------------------------------------------------

_XML_INVALID = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_VARLIST = re.compile(r"<Variable_List>.*?</Variable_List>", re.DOTALL)
_JOB_BLOCK = re.compile(r"<Job>(.*?)</Job>", re.DOTALL)


def _field(block: str, name: str) -> str | None:
    m = re.search(rf"<{name}>(.*?)</{name}>", block, re.DOTALL)
    return m.group(1) if m else None


def torque_xml_jobs(text: str) -> list[dict[str, Any]]:
    """The ``<Job>`` elements of ``qstat -x`` as dicts (nested elements become dicts).

    Tolerates what real servers print: control characters and unescaped ``&``/``<`` in
    ``Variable_List``, several ``<Data>`` documents, and a missing trailing newline.
    """
    text = text.strip()
    if not text:
        return []
    cleaned = _XML_INVALID.sub("", text)
    for candidate in (cleaned, _VARLIST.sub("", cleaned)):
        try:
            root = ET.fromstring(f"<Root>{_strip_decl(candidate)}</Root>")
        except ET.ParseError:
            continue
        return [_element_dict(job) for job in root.iter("Job")]
    # Last resort: read the few fields we need from each <Job> block with patterns.
    jobs = []
    for block in _JOB_BLOCK.findall(_VARLIST.sub("", cleaned)):
        job: dict[str, Any] = {}
        for name in ("Job_Id", "job_state", "exec_host", "exit_status", "comment", "Hold_Types"):
            value = _field(block, name)
            if value is not None:
                job[name] = _unescape(value)
        if "Job_Id" in job:
            jobs.append(job)
    return jobs


def _strip_decl(text: str) -> str:
    return re.sub(r"<\?xml[^>]*\?>", "", text)


def _unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _element_dict(element: ET.Element) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for child in element:
        out[child.tag] = _element_dict(child) if len(child) else (child.text or "")
    return out


def torque_job_status(job: Mapping[str, Any]) -> JobStatus:
    """One Torque job (a dict from :func:`torque_xml_jobs`) as a :class:`JobStatus`."""
    state = str(job.get("job_state") or "")
    exit_code = to_int(job.get("exit_status"))
    comment = _text(job.get("comment"))
    extra = {k: str(job[k]) for k in ("queue", "Job_Name", "exec_host") if _text(job.get(k))}
    status = _pbs_status(
        state,
        exit_code,
        first_host(_text(job.get("exec_host"))),
        comment,
        _text(job.get("Hold_Types")),
        extra=extra,
    )
    if state.upper().startswith("C") and exit_code is None and status.state is JobState.DONE:
        # Deleted before it ran: Torque completes it without an exit status.
        return JobStatus(
            JobState.CANCELLED, state, None, comment or "deleted before it started", None
        )
    return status


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, dict):
        return None
    text = str(value).strip()
    return text or None


def parse_torque_status(job_ids: Sequence[str], result: CommandResult) -> dict[str, JobStatus]:
    """``qstat -x <ids>`` -> ``{requested id: status}``; unknown ids are left out."""
    check_query(result)
    jobs = {str(j.get("Job_Id", "")).strip(): j for j in torque_xml_jobs(result.stdout)}
    jobs.pop("", None)
    mapping = match_ids(job_ids, jobs)
    return {mapping[found]: torque_job_status(jobs[found]) for found in mapping}


# --- Torque history: tracejob (server logs) ------------------------------------------------

_TRACE_HEADER = re.compile(r"^Job: (\S+)\s*$")
_TRACE_EXIT = re.compile(r"\bExit_status=(-?\d+)")


def parse_tracejob(job_ids: Sequence[str], result: CommandResult) -> dict[str, JobStatus]:
    """Finished jobs from ``tracejob`` output (one ``Job: <id>`` section per job).

    A section with ``Exit_status=N`` or ``state COMPLETE`` is a finished job; one with ``Job
    deleted`` and no run is a cancelled one. Sections that only show the job queued or
    running say nothing about its end and are left out (the job stays "vanished"). Lines
    about unreadable log files (stderr, tracejob still exits 0) are ignored.
    """
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in result.stdout.splitlines():
        header = _TRACE_HEADER.match(line)
        if header:
            current = sections.setdefault(header.group(1), [])
        elif current is not None and line.strip():
            current.append(line)
    mapping = match_ids(job_ids, sections)
    out: dict[str, JobStatus] = {}
    for printed, requested in mapping.items():
        text = "\n".join(sections[printed])
        exit_match = _TRACE_EXIT.search(text)
        if exit_match:
            code = int(exit_match.group(1))
            state = JobState.DONE if code == 0 else JobState.FAILED
            reason = exit_reason(code) or ("" if code == 0 else f"exit status {code}")
            out[requested] = JobStatus(state, "C", reason=reason or None, exit_code=code)
        elif "Job deleted" in text or "job deleted" in text:
            out[requested] = JobStatus(JobState.CANCELLED, "C", reason="deleted")
        elif "state COMPLETE" in text:
            out[requested] = JobStatus(JobState.DONE, "C")
    return out


# --- PBS Pro: qstat -f -F json -x ------------------------------------------------------------

_JSON_PAIR = re.compile(r'^(\s*"[^"]+"\s*:\s*)(.*?)(\s*,?\s*)$')


def _repair_json(text: str) -> str:
    """Quote bare values PBS Pro prints unquoted (numeric-looking job names like ``12e``)."""
    lines = []
    for line in text.splitlines():
        m = _JSON_PAIR.match(line)
        if m and m.group(2) and m.group(2)[0] not in '"{[':
            value = m.group(2)
            try:
                json.loads(value)
            except ValueError:
                line = f"{m.group(1)}{json.dumps(value)}{m.group(3)}"
        lines.append(line)
    return "\n".join(lines)


def pbspro_json_document(text: str) -> dict[str, Any] | None:
    """The JSON document of ``qstat -F json`` (repaired if needed), or ``None``."""
    if not text.strip():
        return None
    for candidate in (text, _repair_json(text)):
        try:
            doc = json.loads(candidate, strict=False)
        except ValueError:
            continue
        return doc if isinstance(doc, dict) else None
    return None


#: PBS Pro's ``substate`` of a finished job that was deleted (``JOB_SUBSTATE_TERMINATED``;
#: 92 is finished, 93 failed).
PBSPRO_SUBSTATE_TERMINATED = 91


def pbspro_job_status(job: Mapping[str, Any]) -> JobStatus:
    """One PBS Pro job (a value of the ``Jobs`` object) as a :class:`JobStatus`."""
    state = str(job.get("job_state") or "")
    estimated = job.get("estimated")
    expected = estimated.get("start_time") if isinstance(estimated, dict) else None
    extra = {k: str(job[k]) for k in ("queue", "Job_Name", "exec_host") if _text(job.get(k))}
    comment = _text(job.get("comment"))
    if comment and comment.startswith("Job run at") and not state.upper().startswith("Q"):
        extra["comment"] = comment
        comment = None
    status = _pbs_status(
        state,
        to_int(job.get("Exit_status")),
        first_host(_text(job.get("exec_host")) or _text(job.get("exec_vnode"))),
        comment,
        _text(job.get("Hold_Types")),
        expected,
        extra,
    )
    if status.state.finished and to_int(job.get("substate")) == PBSPRO_SUBSTATE_TERMINATED:
        # Deleted (qdel): finished with "and terminated by <user>" and, if it ran, exit 271.
        return replace(status, state=JobState.CANCELLED, reason="deleted")
    return status


def parse_pbspro_status(job_ids: Sequence[str], result: CommandResult) -> dict[str, JobStatus]:
    """``qstat -f -F json -x <ids>`` -> ``{requested id: status}``.

    The server being unreachable (exit 255; stdout holds the header without ``Jobs``)
    raises :class:`CommandError`. Ids that are unknown (exit 153; history disabled or
    expired) are left out: for the core they have vanished, i.e. ended in an unknown way.
    """
    check_query(result)
    doc = pbspro_json_document(result.stdout)
    if doc is None:
        if result.stdout.strip():
            raise CommandError.from_result(result, problem="printed JSON that cannot be read")
        return {}
    jobs = doc.get("Jobs") or {}
    if not isinstance(jobs, dict):
        return {}
    mapping = match_ids(job_ids, jobs)
    return {
        mapping[found]: pbspro_job_status(jobs[found])
        for found in mapping
        if isinstance(jobs[found], dict)
    }


# --- Moab: showq / checkjob / mdiag -j --xml -------------------------------------------------

MOAB_STATES: dict[str, JobState] = {
    "idle": JobState.PENDING,
    "starting": JobState.PENDING,
    "staging": JobState.PENDING,
    "migrated": JobState.PENDING,
    "blocked": JobState.PENDING,
    "notqueued": JobState.PENDING,
    "deferred": JobState.HELD,
    "hold": JobState.HELD,
    "userhold": JobState.HELD,
    "systemhold": JobState.HELD,
    "batchhold": JobState.HELD,
    "running": JobState.RUNNING,
    "canceling": JobState.RUNNING,
    "suspended": JobState.SUSPENDED,
    "completed": JobState.DONE,
    "removed": JobState.CANCELLED,
    "vacated": JobState.FAILED,
}


def moab_xml_jobs(text: str) -> list[tuple[dict[str, str], str | None]]:
    """``(attributes, showq queue option)`` for each ``<job>`` of Moab XML output.

    Accepts ``showq --xml`` (jobs inside ``<queue option="active|eligible|blocked|
    completed">``), ``checkjob --xml`` and ``mdiag -j --xml`` (``<job>`` under ``<Data>``),
    and several ``<Data>`` documents printed one after the other.
    """
    text = _XML_INVALID.sub("", text.strip())
    if not text:
        return []
    root = ET.fromstring(f"<Root>{_strip_decl(text)}</Root>")
    out = []
    for queue in root.iter("queue"):
        for job in queue.iter("job"):
            out.append((dict(job.attrib), queue.get("option")))
    seen = {id(job) for queue in root.iter("queue") for job in queue.iter("job")}
    for job in root.iter("job"):
        if id(job) not in seen:
            attrs = dict(job.attrib)
            for req in job.iter("req"):  # checkjob: allocated nodes live on <req>
                attrs.setdefault("AllocNodeList", req.get("AllocNodeList", ""))
            out.append((attrs, None))
    return out


def moab_job_status(attrs: Mapping[str, str], option: str | None = None) -> JobStatus:
    """One Moab job as a :class:`JobStatus`."""
    state = attrs.get("State") or attrs.get("EState") or ""
    mapped = MOAB_STATES.get(state.lower(), JobState.UNKNOWN)
    if mapped is JobState.UNKNOWN and state.lower().endswith("hold"):
        mapped = JobState.HELD
    reason = attrs.get("BlockReason") or None
    description = attrs.get("Description") or attrs.get("BlockMsg")
    if reason and description:
        reason = f"{reason}: {description}"
    if option == "blocked" and not reason and mapped is JobState.PENDING:
        reason = "blocked"
    if mapped is JobState.PENDING and not reason and state.lower() == "idle":
        reason = "Idle"
    if mapped is JobState.HELD and not reason:
        reason = state
    code_text = (attrs.get("CompletionCode") or "").strip()
    exit_code = to_int(code_text)
    if mapped is JobState.DONE:
        if code_text.upper() == "CNCLD":
            mapped, reason = JobState.CANCELLED, "cancelled"
        elif exit_code:
            mapped, reason = JobState.FAILED, exit_reason(exit_code) or reason
    host = attrs.get("MasterHost") or first_host(attrs.get("AllocNodeList"))
    start = to_int(attrs.get("StartTime"))
    return JobStatus(
        state=mapped,
        native_state=state,
        host=first_host(host) if mapped in (JobState.RUNNING, JobState.SUSPENDED) else None,
        reason=reason if mapped is not JobState.UNKNOWN else f"unrecognised state {state!r}",
        expected_start=parse_time(start) if mapped is JobState.PENDING and start else None,
        exit_code=exit_code if mapped.finished else None,
        extra={k: v for k, v in attrs.items() if k in ("Class", "JobName", "DRMJID", "Account")},
    )


def parse_moab_status(job_ids: Sequence[str], result: CommandResult) -> dict[str, JobStatus]:
    """Moab XML (``showq --xml``, ``showq -c --xml``, ``mdiag -j --xml``) -> statuses."""
    if not result.ok:
        raise CommandError.from_result(result, problem="did not answer the status query")
    try:
        jobs = moab_xml_jobs(result.stdout)
    except ET.ParseError as e:
        problem = f"printed XML that cannot be read: {e}"
        raise CommandError.from_result(result, problem=problem) from e
    found: dict[str, tuple[dict[str, str], str | None]] = {}
    for attrs, option in jobs:
        for key in ("JobID", "DRMJID", "GJID"):
            if attrs.get(key):
                found.setdefault(attrs[key], (attrs, option))
    mapping = match_ids(job_ids, found)
    out: dict[str, JobStatus] = {}
    for printed, requested in mapping.items():
        if requested not in out:
            out[requested] = moab_job_status(*found[printed])
    return out


# --- qstat -f / qstat -Q -f / qstat -B -f / pbsnodes -a (text) -----------------------------

_HEADER = re.compile(r"^(Job Id|Queue|Server):\s*(\S+)\s*$")
_PAIR = re.compile(r"^\s+([A-Za-z_][\w.]*) = ?(.*)$")


def qstat_full_text(text: str) -> list[tuple[str, str, dict[str, str]]]:
    """``(kind, name, attributes)`` blocks of ``qstat -f``/``-Q -f``/``-B -f``/``pbsnodes -a``.

    ``kind`` is ``Job Id``, ``Queue``, ``Server`` or ``Node`` (an unindented line that is
    not a header names a node). Tab-indented lines continue the previous value; other lines
    that do not parse are appended to the previous value too (values with raw newlines).
    """
    blocks: list[tuple[str, str, dict[str, str]]] = []
    attrs: dict[str, str] | None = None
    last: str | None = None
    for raw in text.splitlines():
        line = raw.rstrip("\n")
        if not line.strip():
            last = None if line == "" else last
            continue
        header = _HEADER.match(line)
        if header:
            attrs, last = {}, None
            blocks.append((header.group(1), header.group(2), attrs))
            continue
        if not line[0].isspace() and attrs is not None and last is not None and "=" not in line:
            attrs[last] += line  # unindented continuation (a value with raw newlines)
            continue
        if not line[0].isspace():
            attrs, last = {}, None
            blocks.append(("Node", line.strip(), attrs))
            continue
        if attrs is None:
            continue
        pair = _PAIR.match(line)
        if line.startswith("\t") and last is not None:
            attrs[last] += line.strip("\t")
        elif pair and not line.startswith("\t"):
            last = pair.group(1)
            attrs[last] = pair.group(2)
        elif last is not None:
            attrs[last] += line.strip()
    return blocks


def parse_resources_text(results: Sequence[CommandResult]) -> list[QueueInfo]:
    """Queues from ``qstat -B -f`` (default queue), ``qstat -Q -f`` and ``pbsnodes -a``.

    Node totals (CPUs, memory, GPUs, states) are attached to every execution queue: PBS
    queues do not list their nodes unless the site ties nodes to queues.
    """
    blocks = [b for r in results if r.ok for b in qstat_full_text(r.stdout)]
    default = next((a.get("default_queue") for k, _, a in blocks if k == "Server"), None)
    nodes = [(name, a) for k, name, a in blocks if k == "Node"]
    node_states: dict[str, int] = {}
    total = idle = 0
    cpus_per_node = mem_per_node = gpus_per_node = None
    for _, a in nodes:
        state = a.get("state", "unknown").split(",")[0].strip()
        node_states[state] = node_states.get(state, 0) + 1
        cpus = to_int(a.get("resources_available.ncpus") or a.get("np")) or 0
        used = to_int(a.get("resources_assigned.ncpus"))
        if used is None:
            used = len([j for j in (a.get("jobs") or "").split(",") if j.strip()])
        total += cpus
        if state in ("free", "job-sharing", "partially-free"):
            idle += max(cpus - used, 0)
        cpus_per_node = max(cpus_per_node or 0, cpus) or None
        mem = size_mb(a.get("resources_available.mem")) or _status_mem(a.get("status"))
        if mem:
            mem_per_node = max(mem_per_node or 0, mem)
        gpus = to_int(a.get("resources_available.ngpus") or a.get("gpus"))
        if gpus:
            gpus_per_node = max(gpus_per_node or 0, gpus)
    queues = []
    for kind, name, a in blocks:
        if kind != "Queue":
            continue
        execution = a.get("queue_type", "Execution").lower().startswith("e")
        enabled = a.get("enabled", "True") == "True"
        started = a.get("started", "True") == "True"
        state = "up" if enabled and started else ("draining" if enabled else "closed")
        extra = {k: v for k, v in a.items() if k in ("queue_type", "route_destinations")}
        if a.get("comment"):
            extra["comment"] = a["comment"]
        queues.append(
            QueueInfo(
                name=name,
                default=name == default,
                state=state,
                max_time_s=duration_s(a.get("resources_max.walltime")),
                default_time_s=duration_s(a.get("resources_default.walltime")),
                nodes=len(nodes) if execution and nodes else None,
                cpus_per_node=cpus_per_node if execution else None,
                memory_per_node_mb=mem_per_node if execution else None,
                gpus_per_node=gpus_per_node if execution else None,
                idle_cpus=idle if execution and nodes else None,
                total_cpus=total if execution and nodes else None,
                node_states=dict(node_states) if execution else {},
                extra=extra,
            )
        )
    return queues


def _status_mem(status: str | None) -> int | None:
    m = re.search(r"(?:^|,)physmem=([^,]+)", status or "")
    return size_mb(m.group(1)) if m else None
