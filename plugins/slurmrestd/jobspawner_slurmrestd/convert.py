"""slurmrestd's JSON (openapi v0.0.38) read with the Slurm backend's own code.

A job object becomes the row :func:`jobspawner_slurm.parsers.squeue_status` reads (state,
reason, batch host, node list, start time, exit status, partition), so states, reasons and
hosts map exactly as for ``squeue``. Partitions and nodes become
:class:`~jobspawner.QueueInfo` values.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from jobspawner import JobStatus, QueueInfo
from jobspawner_slurm.shared import squeue_statuses


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _iso(epoch: Any) -> str:
    if isinstance(epoch, (int, float)) and epoch > 0:
        return datetime.fromtimestamp(epoch).isoformat(timespec="seconds")
    return ""


def job_row(job: Mapping[str, Any]) -> dict[str, str]:
    """The squeue-style row of one job object."""
    return {
        "jobid": _text(job.get("job_id")),
        "state": _text(job.get("job_state")),
        "reason": _text(job.get("state_reason")),
        "batchhost": _text(job.get("batch_host")),
        "nodelist": _text(job.get("nodes")),
        "starttime": _iso(job.get("start_time")),
        "endtime": _iso(job.get("end_time")),
        "exit_code": _text(job.get("exit_code")),
        "partition": _text(job.get("partition")),
    }


def job_statuses(jobs: Iterable[Any], job_ids: Sequence[str]) -> dict[str, JobStatus]:
    """``{job_id: JobStatus}`` for the requested ids among ``jobs`` (read as squeue rows)."""
    return squeue_statuses((job_row(j) for j in jobs if isinstance(j, Mapping)), job_ids)


def _limit_s(minutes: Any) -> int | None:
    """A limit in minutes (``-1``/``None``/``INFINITE`` mean none) in seconds."""
    if isinstance(minutes, int) and minutes >= 0:
        return minutes * 60
    return None


def _gpus(gres: str) -> int | None:
    total = 0
    for item in gres.split(","):
        parts = item.split("(")[0].split(":")
        if parts[0] == "gpu" and parts[-1].isdigit():
            total += int(parts[-1])
    return total or None


def queues(
    partitions: Iterable[Mapping[str, Any]], nodes: Iterable[Mapping[str, Any]]
) -> list[QueueInfo]:
    """One :class:`QueueInfo` per partition, with per-node limits from its nodes."""
    by_partition: dict[str, list[Mapping[str, Any]]] = {}
    for node in nodes:
        for name in node.get("partitions") or []:
            by_partition.setdefault(str(name), []).append(node)
    out = []
    for part in partitions:
        name = _text(part.get("name"))
        if not name:
            continue
        members = by_partition.get(name, [])
        states: dict[str, int] = {}
        for node in members:
            state = _text(node.get("state")).lower() or "unknown"
            states[state] = states.get(state, 0) + 1
        cpus = [n["cpus"] for n in members if isinstance(n.get("cpus"), int)]
        mems = [n["real_memory"] for n in members if isinstance(n.get("real_memory"), int)]
        gpus = [g for n in members if (g := _gpus(_text(n.get("gres"))))]
        idle = [n["idle_cpus"] for n in members if isinstance(n.get("idle_cpus"), int)]
        total_cpus = part.get("total_cpus")
        out.append(
            QueueInfo(
                name=name,
                default="default" in (part.get("flags") or []),
                state=_text(part.get("state")).lower() or None,
                max_time_s=_limit_s(part.get("max_time_limit")),
                default_time_s=_limit_s(part.get("default_time_limit")),
                nodes=part.get("total_nodes") if isinstance(part.get("total_nodes"), int) else None,
                cpus_per_node=max(cpus) if cpus else None,
                memory_per_node_mb=max(mems) if mems else None,
                gpus_per_node=max(gpus) if gpus else None,
                idle_cpus=sum(idle) if idle else None,
                total_cpus=total_cpus if isinstance(total_cpus, int) else None,
                node_states=states,
            )
        )
    return out
