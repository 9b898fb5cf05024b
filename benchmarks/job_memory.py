"""What a test cluster's running jobs take in memory (:mod:`status_load_real`): the
``slurmstepd`` of each job (named ``slurmstepd: [<job id>.batch]``), the job's own processes
below it, the daemons, and the host's available memory.

Sizes are proportional set sizes (``/proc/<pid>/smaps_rollup``: pages shared by N processes
count 1/N to each, so the sum over processes is what they take together) and resident sizes,
in MB. Only the given job ids' steps count: another cluster on the same host has its own.
"""

from __future__ import annotations

import os
import time
from collections.abc import Collection
from pathlib import Path

STEP_PREFIX = b"slurmstepd: ["


def _kb(path: Path, key: str) -> int:
    """A ``key: N kB`` line of a /proc file (0 when the process is gone or has no such line)."""
    try:
        for line in path.read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _ppid(pid: int) -> int:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0
    return int(text[text.rindex(")") + 2 :].split()[1])


def _step_job(pid: int) -> str | None:
    """The job id of a ``slurmstepd`` process, else None."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    if not cmdline.startswith(STEP_PREFIX):
        return None
    return cmdline[len(STEP_PREFIX) :].split(b".", 1)[0].split(b"]", 1)[0].decode(errors="replace")


def available_mb() -> float:
    """The host's ``MemAvailable``."""
    return _kb(Path("/proc/meminfo"), "MemAvailable") / 1024


def snapshot(job_ids: Collection[str], daemons: dict[str, int]) -> dict[str, float]:
    """The jobs' steps and their processes (count, PSS and RSS sums), each daemon's RSS and
    the host's available memory, now."""
    wanted = set(job_ids)
    pids = [int(p) for p in os.listdir("/proc") if p.isdigit()]
    steps = {pid for pid in pids if _step_job(pid) in wanted}
    children: dict[int, list[int]] = {}
    for pid in pids:
        children.setdefault(_ppid(pid), []).append(pid)
    below: list[int] = []
    todo = [c for s in steps for c in children.get(s, [])]
    while todo:
        pid = todo.pop()
        below.append(pid)
        todo += children.get(pid, [])

    def total(group: Collection[int], key: str, file: str) -> float:
        return sum(_kb(Path(f"/proc/{pid}/{file}"), key) for pid in group) / 1024

    figures = {
        "available_mb": available_mb(),
        "steps": float(len(steps)),
        "steps_pss_mb": total(steps, "Pss", "smaps_rollup"),
        "steps_rss_mb": total(steps, "Rss", "smaps_rollup"),
        "job_processes": float(len(below)),
        "job_processes_pss_mb": total(below, "Pss", "smaps_rollup"),
    }
    for name, pid in daemons.items():
        figures[f"{name}_rss_mb"] = total([pid], "VmRSS", "status")
    return figures


def when_started(
    job_ids: Collection[str],
    daemons: dict[str, int],
    steps: int,
    processes: int,
    timeout: float = 120.0,
) -> dict[str, float]:
    """:func:`snapshot` once ``steps`` of the jobs have their slurmstepd and ``processes``
    job processes run below them (Slurm reports a job running before slurmd has started
    it), or when ``timeout`` has passed; ``started_after_s`` says how long that took."""
    t0 = time.monotonic()
    while True:
        figures = snapshot(job_ids, daemons)
        done = figures["steps"] >= steps and figures["job_processes"] >= processes
        if done or time.monotonic() - t0 > timeout:
            figures["started_after_s"] = time.monotonic() - t0
            return figures
        time.sleep(1.0)
