"""PID helpers for the test clusters' daemons (Slurm, Grid Engine)."""

from __future__ import annotations

import os
from pathlib import Path


def alive(pid: int | None) -> bool:
    """True while the process lives; a zombie child of ours is reaped and counts as dead."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
        return done == 0
    except ChildProcessError:
        return True  # not our child: kill(0) answered, so it lives


def read_pid(path: Path) -> int | None:
    """The PID in a pid file, or None when the file is missing or unreadable."""
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
