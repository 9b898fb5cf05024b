"""The live queue/partition view of the spawn form: cached, refreshed in the background.

The form must never wait on a scheduler. Each backend configuration and query identity
(backend, plugins, options, and the account discovery runs as: the query prefix and, over
SSH, the login account; see ``JobSpawner.query_cache_key``) has one :class:`ResourceCache`,
so no user is shown what another user's account was told: :meth:`ResourceCache.snapshot`
answers at once with what is known; when that is older than the TTL a refresh runs in the
background (one at a time), and a scheduler that fails or hangs leaves the last good answer
in place, marked with the error, so the form can say the live view is unavailable.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from jobspawner.contract.status import QueueInfo

Fetch = Callable[[], Awaitable[Sequence[QueueInfo]]]


@dataclass(frozen=True)
class Snapshot:
    """What is known now: the queues (None: never answered), their age, the last error."""

    queues: tuple[QueueInfo, ...] | None
    age_s: float | None
    error: str | None

    @property
    def available(self) -> bool:
        return self.queues is not None

    def queue(self, name: str | None) -> QueueInfo | None:
        """The named queue, or the default queue when ``name`` is empty."""
        for q in self.queues or ():
            if (name and q.name == name) or (not name and q.default):
                return q
        return None


class ResourceCache:
    """One backend configuration's queues, at most ``ttl`` seconds old when possible."""

    def __init__(self, fetch: Fetch, ttl: float = 60.0, timeout: float = 30.0) -> None:
        self._fetch = fetch
        self.ttl = ttl
        self.timeout = timeout
        self._queues: tuple[QueueInfo, ...] | None = None
        self._fetched_at: float | None = None
        self._error: str | None = None
        self._task: asyncio.Task[None] | None = None
        self._task_started = 0.0
        self.fetches = 0  # how many scheduler queries ran (tests, benchmarks)

    def snapshot(self) -> Snapshot:
        """What is known, at once; starts a background refresh when it is stale."""
        self.refresh_if_stale()
        age = None if self._fetched_at is None else time.monotonic() - self._fetched_at
        return Snapshot(self._queues, age, self._error)

    def refresh_if_stale(self) -> asyncio.Task[None] | None:
        """Start a refresh (unless one runs) when the data is older than the TTL."""
        if self._fetched_at is not None:
            age = time.monotonic() - self._fetched_at
            # a scheduler that failed is asked again sooner, but not at every page load
            if age < (min(self.ttl, 15.0) if self._error else self.ttl):
                return None
        if self._task is None or self._task.done():
            try:
                self._task = asyncio.get_running_loop().create_task(self._refresh())
                self._task_started = time.monotonic()
            except RuntimeError:  # no event loop (a tool): nothing to refresh in
                return None
        return self._task

    async def wait(self, seconds: float) -> Snapshot:
        """A snapshot, after waiting for a refresh under way at most ``seconds`` after it
        began: a scheduler that hangs delays the first page by that much, later ones not."""
        task = self.refresh_if_stale()
        remaining = self._task_started + seconds - time.monotonic()
        if task is not None and remaining > 0:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.shield(task), timeout=remaining)
        return self.snapshot()

    async def _refresh(self) -> None:
        self.fetches += 1
        try:
            queues = await asyncio.wait_for(self._fetch(), timeout=self.timeout)
        except asyncio.TimeoutError:
            self._error = f"the scheduler did not answer within {self.timeout:g} seconds"
        except Exception as e:  # a broken scheduler must never break the form
            self._error = str(e) or type(e).__name__
        else:
            self._queues = tuple(queues)
            self._error = None
        self._fetched_at = time.monotonic()


_caches: dict[str, ResourceCache] = {}


def cache_for(key: str, fetch: Fetch, ttl: float) -> ResourceCache:
    """The process-wide cache of one backend configuration and query identity (``key``)."""
    cache = _caches.get(key)
    if cache is None:
        cache = _caches[key] = ResourceCache(fetch, ttl=ttl)
    cache.ttl = ttl
    return cache
