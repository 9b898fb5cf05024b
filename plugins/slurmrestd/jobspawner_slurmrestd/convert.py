"""slurmrestd's JSON (openapi v0.0.38) read with the Slurm backend's own code.

A job object becomes the row :func:`jobspawner_slurm.parsers.squeue_status` reads (state,
reason, batch host, node list, start time, exit status, partition), so states, reasons and
hosts map exactly as for ``squeue``. Partitions and nodes become
:class:`~jobspawner.QueueInfo` values.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
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


def _exit_text(job: Mapping[str, Any]) -> str:
    """sacct's ``code:signal`` from an accounting record's ``exit_code``; "" when unknown.

    slurmrestd 22.05's accounting answers ``return_code`` 0 with status ``SUCCESS`` for a
    job whose script exited 3 (state ``FAILED``; sacct says ``3:0``): a failed job's 0 is
    left unknown rather than reported."""
    code = job.get("exit_code")
    if not isinstance(code, Mapping):
        return ""
    signal = code.get("signal")
    if code.get("status") == "SIGNALED" and isinstance(signal, Mapping):
        number = signal.get("signal_id")
        return f"0:{number}" if isinstance(number, int) else ""
    value = code.get("return_code")
    if not isinstance(value, int) or (value == 0 and _state(job) != "COMPLETED"):
        return ""
    return f"{value}:0"


def _state(record: Mapping[str, Any]) -> str:
    """A record's state: a job's ``{"current": ...}``, a step's plain text."""
    state = record.get("state")
    return _text(state.get("current") if isinstance(state, Mapping) else state)


def _history_row(job: Mapping[str, Any], jobid: str) -> dict[str, str]:
    times = job.get("time")
    times = times if isinstance(times, Mapping) else {}
    return {
        "jobid": jobid,
        "state": _state(job),
        "exitcode": _exit_text(job),
        "nodelist": _text(job.get("nodes")),
        "start": _iso(times.get("start")),
        "end": _iso(times.get("end")),
        "cluster": _text(job.get("cluster")),
    }


def history_rows(jobs: Iterable[Any]) -> Iterator[tuple[str | None, dict[str, str]]]:
    """sacct-style ``(cluster, row)`` pairs of slurmrestd's accounting job records
    (``GET /slurmdb/.../job/{id}``): the allocation, and its batch step (whose end counts
    while the database has not caught up with the allocation), as ``sacct`` lists them."""
    for job in jobs:
        if not isinstance(job, Mapping) or not isinstance(job.get("job_id"), int):
            continue
        jobid = str(job["job_id"])
        yield None, _history_row(job, jobid)
        steps = job.get("steps")
        for step in steps if isinstance(steps, list) else []:
            name = step.get("step") if isinstance(step, Mapping) else None
            if isinstance(name, Mapping) and name.get("id") == "batch":
                yield None, _history_row({**job, **step}, f"{jobid}.batch")


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
