"""FirecREST v2 JobModel values read with the Slurm backend's own code (states, reasons,
host lists): each becomes the row :func:`jobspawner_slurm.parsers.squeue_status` reads."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from jobspawner import JobStatus, QueueInfo
from jobspawner_slurm.shared import squeue_statuses


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def job_row(job: Mapping[str, Any]) -> dict[str, str]:
    raw_status, raw_time = job.get("status"), job.get("time")
    status: Mapping[str, Any] = raw_status if isinstance(raw_status, Mapping) else {}
    times: Mapping[str, Any] = raw_time if isinstance(raw_time, Mapping) else {}
    start = times.get("start")
    code, signal = status.get("exitCode"), status.get("interruptSignal")
    return {
        "jobid": _text(job.get("jobId")),
        "state": _text(status.get("state")),
        "reason": _text(status.get("stateReason")),
        "nodelist": _text(job.get("nodes")),
        "starttime": datetime.fromtimestamp(start).isoformat(timespec="seconds")
        if isinstance(start, (int, float)) and start > 0
        else "",
        # exitCode is already an exit code (not a wait status): the ``code:signal`` form
        "exit_code": f"{code}:{signal or 0}" if isinstance(code, int) else "",
        "partition": _text(job.get("partition")),
    }


def job_statuses(jobs: Iterable[Any], job_ids: Sequence[str]) -> dict[str, JobStatus]:
    """``{job_id: JobStatus}`` for the requested ids among ``jobs`` (read as squeue rows)."""
    return squeue_statuses((job_row(j) for j in jobs if isinstance(j, Mapping)), job_ids)


def job_users(jobs: Iterable[Any]) -> dict[str, str]:
    """``{job id: user}`` of a job list."""
    return {
        _text(j.get("jobId")): _text(j.get("user"))
        for j in jobs
        if isinstance(j, Mapping) and j.get("user")
    }


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def queues(partitions: Iterable[Any], nodes: Iterable[Any]) -> list[QueueInfo]:
    """One :class:`QueueInfo` per partition of ``GET /status/{system}/partitions``, with
    CPUs and node states from ``GET /status/{system}/nodes`` (FirecREST reports neither time
    limits nor which partition is the default; a node's memory fields are left out, as
    their meaning differs between FirecREST versions)."""
    members: dict[str, list[Mapping[str, Any]]] = {}
    for node in nodes:
        if isinstance(node, Mapping):
            for name in node.get("partitions") or []:
                members.setdefault(str(name), []).append(node)
    out = []
    for part in partitions:
        if not isinstance(part, Mapping) or not _text(part.get("name")):
            continue
        name = _text(part.get("name"))
        states: dict[str, int] = {}
        for node in members.get(name, []):
            raw = node.get("state")
            word = _text(raw[0] if isinstance(raw, list) and raw else raw).lower() or "unknown"
            states[word] = states.get(word, 0) + 1
        cpus = [c for n in members.get(name, []) if (c := _int(n.get("cpus"))) is not None]
        idle = [c for n in members.get(name, []) if (c := _int(n.get("idleCpus"))) is not None]
        out.append(
            QueueInfo(
                name=name,
                state=_text(part.get("partition")).lower() or None,
                nodes=_int(part.get("totalNodes")),
                cpus_per_node=max(cpus) if cpus else None,
                idle_cpus=sum(idle) if idle else None,
                total_cpus=_int(part.get("cpus")),
                node_states=states,
            )
        )
    return out
