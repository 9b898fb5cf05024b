"""PID helpers for the test clusters' daemons (Slurm, Grid Engine)."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from jobspawner.jobside.job_supervisor import process_alive


def alive(pid: int | None) -> bool:
    """True while the process lives; a zombie child of ours is reaped and counts as dead."""
    if pid:
        with contextlib.suppress(ChildProcessError):  # not our child: nothing to reap
            os.waitpid(pid, os.WNOHANG)
    return process_alive(pid)


def read_pid(path: Path) -> int | None:
    """The PID in a pid file, or None when the file is missing or unreadable."""
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
