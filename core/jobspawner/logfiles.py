"""Reading a job's output file in the hub's own process without trusting the path.

The file lies in a folder the user owns, so the user decides what the path leads to: a
symbolic link to ``/etc/shadow``, a hard link to a root-owned file, a FIFO that never ends.
The hub opens it without following a final link, without blocking, and reads it only when it
is a regular file owned by the expected user.
"""

from __future__ import annotations

import os
import pwd
import stat
from collections import deque

#: Read at most this much from the end of a log file.
MAX_TAIL_BYTES = 256 * 1024


class UnsafeLogFile(OSError):
    """The log file is not one the hub may read (link, not a regular file, wrong owner)."""


def expected_owner(username: str | None) -> int:
    """The uid a job's files belong to: the user's when the hub runs as root, else the hub's."""
    if os.geteuid() == 0 and username:
        try:
            return pwd.getpwnam(username).pw_uid
        except KeyError:
            pass
    return os.geteuid()


def tail_owned(path: str, lines: int, owner: int) -> str:
    """The last ``lines`` lines of ``path``; empty when it cannot or may not be read."""
    try:
        return _tail(path, lines, owner)
    except OSError:
        return ""


def _tail(path: str, lines: int, owner: int) -> str:
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise UnsafeLogFile(f"{path} is not a regular file")
        if info.st_uid != owner:
            raise UnsafeLogFile(f"{path} is owned by uid {info.st_uid}, not {owner}")
        start = max(0, info.st_size - MAX_TAIL_BYTES)
        os.lseek(fd, start, os.SEEK_SET)
        chunks = []
        while data := os.read(fd, 65536):
            chunks.append(data)
            if sum(map(len, chunks)) > MAX_TAIL_BYTES:
                break
    finally:
        os.close(fd)
    text = b"".join(chunks).decode(errors="replace")
    kept = deque(text.splitlines(keepends=True), maxlen=max(lines, 0))
    return "".join(kept)
