"""The one way the hub reads a job's output: bounded in bytes, lines, time and concurrency.

A job's output file is the user's: she decides what it holds (one line of 200 MB, binary,
a file that never stops growing) and what the path is (a FIFO that never ends, a link).
Every read of it, whoever asks (the session view, the failure message of a spawn, the notice
after a server's end, the backends' test kit), goes through :func:`read`, which
:meth:`jobspawner.facade.backend.Backend.read_log` calls around the backend's ``read_log`` hook:

- the hook reads at most :data:`~jobspawner.boundary.bounded_text.MAX_BYTES` bytes (the core's
  default: ``tail -c`` as the user, only a regular file, with a hub-side cap on what the
  command may print: :data:`MAX_OUTPUT`; without an exec prefix the hub reads the file
  itself in a worker thread, :mod:`jobspawner.boundary.logfiles`), and whatever it returns is cut
  again by :func:`~jobspawner.boundary.bounded_text.bound_tail` (lines, line length, bytes);
- a read takes at most :data:`READ_TIMEOUT` seconds, waiting for its turn included;
- at most :data:`PER_USER` reads run at once for one user and :data:`IN_FLIGHT` for the
  whole hub (so reads over SSH keep most of the shared connection's sessions for the status
  queries; :class:`jobspawner.transport.ssh.SSHConnection` keeps one more);
- a caller that accepts an answer up to ``max_age`` seconds old (the session view, which the
  page asks every few seconds) shares the last read of the same file by the same identity,
  or the one in flight: one read, not one per request.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from jobspawner.boundary.bounded_text import MAX_BYTES, MAX_LINES, bound_tail, last_lines

if TYPE_CHECKING:
    from jobspawner.contract.context import BackendContext

#: Seconds one read may take, waiting for its turn included.
READ_TIMEOUT = 10.0
#: Seconds the command that reads a log may run (within :data:`READ_TIMEOUT`).
COMMAND_TIMEOUT = 8.0
#: Bytes the log-reading command may print before the hub stops it (``tail -c`` prints at
#: most :data:`~jobspawner.boundary.bounded_text.MAX_BYTES`; a file growing while read, more).
MAX_OUTPUT = MAX_BYTES + 4096
#: Reads at once for one user, and for the whole hub.
PER_USER = 2
IN_FLIGHT = 4
#: Seconds a read is kept for callers that accept an answer that old.
CACHE_SECONDS = 5.0


class LogUnreadable(Exception):
    """The log could not be read in time; the message is plain words for the user."""


@dataclass
class _Read:
    started: float
    task: asyncio.Future[str]


@dataclass
class _Slots:
    """The turns of one event loop's reads: per user and in total."""

    total: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(IN_FLIGHT))
    users: dict[str, tuple[asyncio.Semaphore, int]] = field(default_factory=dict)
    reads: dict[Hashable, _Read] = field(default_factory=dict)

    @contextlib.asynccontextmanager
    async def turn(self, user: str) -> AsyncIterator[None]:
        semaphore, waiting = self.users.get(user) or (asyncio.Semaphore(PER_USER), 0)
        self.users[user] = (semaphore, waiting + 1)
        try:
            async with semaphore, self.total:
                yield
        finally:
            semaphore, waiting = self.users[user]
            if waiting <= 1:
                del self.users[user]  # nobody else holds or waits for this user's turns
            else:
                self.users[user] = (semaphore, waiting - 1)

    def forget_old(self, now: float) -> None:
        for key in [k for k, r in self.reads.items() if now - r.started > CACHE_SECONDS]:
            if self.reads[key].task.done():
                del self.reads[key]


_loops: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Slots] = weakref.WeakKeyDictionary()


def _slots() -> _Slots:
    loop = asyncio.get_running_loop()
    slots = _loops.get(loop)
    if slots is None:
        slots = _loops[loop] = _Slots()
    return slots


def identity(ctx: BackendContext, path: str) -> Hashable:
    """Who reads ``path`` and where: the backend and its options, the user, the runner's
    identity (exec prefix, local or which login node as whom)."""
    options = repr(sorted((str(k), repr(v)) for k, v in ctx.options.items()))
    runner = ctx.runner
    # a runner of a site's own making may predate Runner.identity
    who = getattr(runner, "identity", None) or repr((repr(runner), *runner.prefix))
    return (ctx.backend.name, options, ctx.username or "", who, path)


async def read(
    ctx: BackendContext,
    path: str,
    lines: int,
    reader: Callable[[], Awaitable[object]],
    max_age: float = 0.0,
) -> str:
    """The last ``lines`` lines of ``path`` as :func:`reader` (the backend's hook) reads them,
    bounded as the module's text says. A read started at most ``max_age`` seconds ago (at
    most :data:`CACHE_SECONDS`) by the same identity is shared.

    Raises :class:`LogUnreadable` when the read did not finish in :data:`READ_TIMEOUT`
    seconds, and what the hook raised.
    """
    slots = _slots()
    now = time.monotonic()
    slots.forget_old(now)
    key = identity(ctx, path)
    known = slots.reads.get(key)
    if known is None or now - known.started > min(max_age, CACHE_SECONDS):
        task = asyncio.ensure_future(_bounded(slots, ctx.username or "", reader))
        task.add_done_callback(_retrieved)
        known = slots.reads[key] = _Read(now, task)
    # shielded: a caller that goes away (a closed page) does not cancel a shared read
    text = await asyncio.shield(known.task)
    return last_lines(text, min(lines, MAX_LINES))


async def _bounded(slots: _Slots, user: str, reader: Callable[[], Awaitable[object]]) -> str:
    async def in_turn() -> object:
        async with slots.turn(user):
            return await reader()

    try:
        raw = await asyncio.wait_for(in_turn(), READ_TIMEOUT)
    except asyncio.TimeoutError:
        raise LogUnreadable(
            f"reading it took longer than {READ_TIMEOUT:g} seconds; try again later"
        ) from None
    if not isinstance(raw, (str, bytes)):
        raw = "" if raw is None else str(raw)
    return bound_tail(raw, MAX_LINES)


def _retrieved(task: asyncio.Future[str]) -> None:
    """Mark a failed read's error as seen: its callers may all have gone."""
    if not task.cancelled():
        task.exception()
