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

from jobspawner.boundary.bounded_text import MAX_BYTES, bound_tail

#: Read at most this much from the end of a log file (:data:`bounded_text.MAX_BYTES`).
MAX_TAIL_BYTES = MAX_BYTES


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
    """The last ``lines`` lines of ``path`` (of its last :data:`MAX_TAIL_BYTES` bytes, shaped
    by :func:`~jobspawner.boundary.bounded_text.bound_tail`); empty when it cannot or may not be
    read.

    Blocking file I/O: the hub calls it in a worker thread (:func:`asyncio.to_thread`).
    """
    try:
        return bound_tail(_tail(path, owner), lines)
    except OSError:
        return ""


def _tail(path: str, owner: int) -> bytes:
    """At most :data:`MAX_TAIL_BYTES` bytes from the end of ``path`` as it was when opened,
    also when it grows while read."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise UnsafeLogFile(f"{path} is not a regular file")
        if info.st_uid != owner:
            raise UnsafeLogFile(f"{path} is owned by uid {info.st_uid}, not {owner}")
        offset = max(0, info.st_size - MAX_TAIL_BYTES)
        chunks, left = [], info.st_size - offset
        while left > 0 and (data := os.pread(fd, min(left, 65536), offset)):
            chunks.append(data)
            offset += len(data)
            left -= len(data)
    finally:
        os.close(fd)
    return b"".join(chunks)
