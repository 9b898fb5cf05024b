"""Pure readers of HTCondor command output: no I/O, never ``assert``, odd ads are skipped.

* :func:`parse_submit_output` reads ``condor_submit`` (normal, ``-terse`` and verbose).
* :func:`parse_json_ads` reads ``condor_q``/``condor_history``/``condor_status -json``,
  which print *nothing at all* (not ``[]``) when no ad matches.
* :func:`job_status` turns one job ClassAd into a :class:`JobStatus`.
* :func:`queues_from_slots` turns slot ads into :class:`QueueInfo` values.
* :func:`removed_by_rm` reads ``condor_rm``'s per-job results.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from jobspawner import CommandError, CommandResult, JobState, JobStatus, QueueInfo

#: JobStatus codes (HTCondor's job-status table) -> (normalised state, name).
JOB_STATUS: dict[int, tuple[JobState, str]] = {
    1: (JobState.PENDING, "Idle"),
    2: (JobState.RUNNING, "Running"),
    3: (JobState.CANCELLED, "Removed"),
    4: (JobState.DONE, "Completed"),
    5: (JobState.HELD, "Held"),
    6: (JobState.RUNNING, "Transferring Output"),
    7: (JobState.SUSPENDED, "Suspended"),
}

#: The job attributes the status and history queries ask for.
JOB_ATTRIBUTES = (
    "ClusterId",
    "ProcId",
    "JobStatus",
    "EnteredCurrentStatus",
    "RemoteHost",
    "LastRemoteHost",
    "HoldReason",
    "HoldReasonCode",
    "HoldReasonSubCode",
    "RemoveReason",
    "LastRejMatchReason",
    "LastRejMatchTime",
    "ExitCode",
    "ExitBySignal",
    "ExitSignal",
    "RequestCpus",
    "RequestMemory",
    "RequestGPUs",
    "NumJobStarts",
    "Owner",
)

#: The slot attributes resource discovery asks for.
SLOT_ATTRIBUTES = (
    "Name",
    "Machine",
    "SlotType",
    "State",
    "Activity",
    "Cpus",
    "Memory",
    "GPUs",
    "Disk",
    "TotalCpus",
    "TotalMemory",
    "TotalGPUs",
    "TotalSlotCpus",
    "TotalSlotMemory",
    "TotalSlotGPUs",
    "PartitionableSlot",
    "DynamicSlot",
    "OpSys",
    "Arch",
)

_RM_RESULT = re.compile(
    r"^Job (\d+\.\d+) (marked for removal|already marked for removal|not found)\s*$", re.M
)
_TERSE = re.compile(r"^\s*(\d+)\.(\d+)\s+-\s+(\d+)\.(\d+)\s*$", re.M)
_SUBMITTED = re.compile(r"^\s*(\d+) job\(s\) submitted to cluster (\d+)\.\s*$", re.M)
_VERBOSE = re.compile(r"^\*\* Proc (\d+)\.(\d+):\s*$", re.M)


def parse_submit_output(result: CommandResult) -> str:
    """The first job id (``cluster.proc``) ``condor_submit`` created.

    Reads ``-terse`` (``42.0 - 42.0``), the normal ``1 job(s) submitted to cluster 42.`` and
    the verbose ``** Proc 42.0:`` forms. Raises :class:`CommandError` when the command failed
    or printed no id.
    """
    if result.ok:
        m = _TERSE.search(result.stdout)
        if m:
            return f"{m.group(1)}.{m.group(2)}"
        m = _SUBMITTED.search(result.stdout)
        if m and int(m.group(1)) > 0:
            return f"{m.group(2)}.0"
        m = _VERBOSE.search(result.stdout)
        if m:
            return f"{m.group(1)}.{m.group(2)}"
    raise CommandError.from_result(
        result,
        problem=(
            f"exited with status {result.returncode} and " if not result.ok else "succeeded but "
        )
        + "printed no job id (expected `<cluster>.<proc> - <cluster>.<proc>` from -terse, "
        "or `N job(s) submitted to cluster C.`)",
    )


def parse_json_ads(result: CommandResult) -> list[dict[str, Any]]:
    """The ads of a ``-json`` query; ``[]`` for HTCondor's empty output (no ad matched).

    Raises :class:`CommandError` when the command failed or the output is not the JSON
    list of ads the tools print.
    """
    if not result.ok:
        raise CommandError.from_result(result)
    text = result.stdout
    start = text.find("[")
    if not text.strip() or start < 0:
        if text.strip():
            raise CommandError.from_result(result, problem="printed no JSON list of ads")
        return []
    try:
        data = json.loads(text[start:])
    except ValueError as e:
        raise CommandError.from_result(result, problem=f"printed unreadable JSON ({e})") from e
    if not isinstance(data, list):
        raise CommandError.from_result(result, problem="printed JSON that is not a list of ads")
    return [ad for ad in data if isinstance(ad, dict)]


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
        return int(value)
    return None


def _text(value: Any) -> str | None:
    if isinstance(value, str) and value.strip() and not value.startswith("/Expr("):
        return value.strip()
    return None


def host_of(slot: Any) -> str | None:
    """The machine part of a slot name: ``slot1_2@host.domain`` -> ``host.domain``."""
    text = _text(slot)
    if text is None:
        return None
    host = text.rsplit("@", 1)[-1].strip()
    return host or None


def job_id_of(ad: Mapping[str, Any]) -> str | None:
    cluster, proc = _int(ad.get("ClusterId")), _int(ad.get("ProcId"))
    if cluster is None or proc is None:
        return None
    return f"{cluster}.{proc}"


def job_status(ad: Mapping[str, Any]) -> JobStatus | None:
    """A :class:`JobStatus` for one job ad, or ``None`` when the ad has no usable JobStatus."""
    code = _int(ad.get("JobStatus"))
    if code not in JOB_STATUS:
        return None
    state, name = JOB_STATUS[code]
    extra = {"job_status": name}
    for attr, key in (
        ("RequestCpus", "request_cpus"),
        ("RequestMemory", "request_memory_mb"),
        ("RequestGPUs", "request_gpus"),
        ("HoldReasonCode", "hold_reason_code"),
        ("HoldReasonSubCode", "hold_reason_subcode"),
        ("NumJobStarts", "num_job_starts"),
        ("Owner", "owner"),
    ):
        value = _int(ad.get(attr)) if attr != "Owner" else _text(ad.get(attr))
        if value is not None:
            extra[key] = str(value)
    host = None
    reason = None
    exit_code = None
    if state is JobState.PENDING:
        reason = _text(ad.get("LastRejMatchReason"))
    elif state is JobState.HELD:
        reason = _text(ad.get("HoldReason"))
    elif state is JobState.RUNNING or state is JobState.SUSPENDED:
        host = host_of(ad.get("RemoteHost")) or host_of(ad.get("LastRemoteHost"))
        if code == 6:
            reason = "transferring output"
    elif state is JobState.CANCELLED:
        reason = _text(ad.get("RemoveReason"))
        host = host_of(ad.get("LastRemoteHost"))
    else:  # completed
        host = host_of(ad.get("LastRemoteHost"))
        if ad.get("ExitBySignal") is True:
            signal = _int(ad.get("ExitSignal"))
            state = JobState.FAILED
            reason = f"killed by signal {signal}" if signal is not None else "killed by a signal"
        else:
            exit_code = _int(ad.get("ExitCode"))
            if exit_code not in (None, 0):
                state = JobState.FAILED
    return JobStatus(
        state=state,
        native_state=str(code),
        host=host,
        reason=reason,
        exit_code=exit_code,
        extra=extra,
    )


def statuses_from_ads(
    job_ids: Sequence[str], ads: Iterable[Mapping[str, Any]]
) -> dict[str, JobStatus]:
    """``{job_id: JobStatus}`` for the asked-for ids found in ``ads`` (others left out)."""
    wanted = set(job_ids)
    found: dict[str, JobStatus] = {}
    for ad in ads:
        job_id = job_id_of(ad)
        if job_id is None or job_id not in wanted or job_id in found:
            continue
        status = job_status(ad)
        if status is not None:
            found[job_id] = status
    return found


def queues_from_slots(ads: Iterable[Mapping[str, Any]], pool_name: str = "pool") -> list[QueueInfo]:
    """The pool as a whole (first, ``default``) and then each machine, from slot ads.

    A machine's size comes from ``TotalCpus``/``TotalMemory``/``TotalGPUs``; what is free
    is what its unclaimed slots offer (a partitionable slot advertises its remainder).
    """
    machines: dict[str, dict[str, Any]] = {}
    for ad in ads:
        name = _text(ad.get("Machine")) or host_of(ad.get("Name"))
        if name is None:
            continue
        m = machines.setdefault(
            name,
            {"cpus": 0, "memory": 0, "gpus": 0, "idle": 0, "states": {}, "slots": 0},
        )
        m["slots"] += 1
        state = _text(ad.get("State")) or "Unknown"
        m["states"][state] = m["states"].get(state, 0) + 1
        for key, attr in (("cpus", "TotalCpus"), ("memory", "TotalMemory"), ("gpus", "TotalGPUs")):
            value = _int(ad.get(attr))
            if value is not None:
                m[key] = max(m[key], value)
        if state == "Unclaimed":
            m["idle"] += _int(ad.get("Cpus")) or 0
    out: list[QueueInfo] = []
    if not machines:
        return out
    pool_states: dict[str, int] = {}
    for m in machines.values():
        state = "Unclaimed" if m["idle"] > 0 else "Claimed"
        pool_states[state] = pool_states.get(state, 0) + 1
    out.append(
        QueueInfo(
            name=pool_name,
            default=True,
            state="up",
            nodes=len(machines),
            cpus_per_node=max(m["cpus"] for m in machines.values()) or None,
            memory_per_node_mb=max(m["memory"] for m in machines.values()) or None,
            gpus_per_node=max(m["gpus"] for m in machines.values()) or None,
            idle_cpus=sum(m["idle"] for m in machines.values()),
            total_cpus=sum(m["cpus"] for m in machines.values()),
            node_states=pool_states,
            extra={"kind": "pool"},
        )
    )
    for name in sorted(machines):
        m = machines[name]
        out.append(
            QueueInfo(
                name=name,
                state="Unclaimed" if m["idle"] > 0 else "Claimed",
                nodes=1,
                cpus_per_node=m["cpus"] or None,
                memory_per_node_mb=m["memory"] or None,
                gpus_per_node=m["gpus"] or None,
                gres=f"gpu:{m['gpus']}" if m["gpus"] else None,
                idle_cpus=m["idle"],
                total_cpus=m["cpus"] or None,
                node_states=dict(m["states"]),
                extra={"kind": "machine", "slots": str(m["slots"])},
            )
        )
    return out


def removed_by_rm(result: CommandResult) -> set[str]:
    """The job ids ``condor_rm`` reports as removed, already removed or not in the queue.

    Per job id, the schedd answers with one line (stdout on success, stderr otherwise):
    ``Job 42.0 marked for removal`` (its JobStatus is now 3, Removed),
    ``Job 42.0 already marked for removal`` or ``Job 42.0 not found``. Any of them means the
    job is not going to run; ``Permission denied ...`` and ``No result found ...`` do not.
    """
    return {m.group(1) for m in _RM_RESULT.finditer(result.stdout + "\n" + result.stderr)}
