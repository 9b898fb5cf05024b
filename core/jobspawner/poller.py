"""One status query per round for every job of a backend.

Spawners ask :meth:`StatusPoller.status` for their job; requests that arrive while a query
is running are collected and answered together by the next query, so N spawners cost one
``squeue`` per round instead of N (the load pattern Slurm's manual warns against).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence

from .status import JobStatus

Query = Callable[[Sequence[str]], Awaitable[Mapping[str, JobStatus]]]


class StatusPoller:
    """Batches status requests into one query at a time.

    ``batch_delay`` is how long a new round waits for more requests before querying.
    """

    def __init__(self, query: Query, batch_delay: float = 0.05) -> None:
        self._query = query
        self.batch_delay = batch_delay
        self._waiting: dict[str, asyncio.Future[JobStatus]] = {}
        self._cache: dict[str, tuple[float, JobStatus]] = {}
        self._task: asyncio.Task[None] | None = None
        self.queries = 0  # how many queries ran (for tests and benchmarks)

    async def status(self, job_id: str, max_age: float = 0.0) -> JobStatus:
        """The job's status, no older than ``max_age`` seconds."""
        cached = self._cache.get(job_id)
        if cached is not None and time.monotonic() - cached[0] <= max_age:
            return cached[1]
        future = self._waiting.get(job_id)
        if future is None:
            future = asyncio.get_running_loop().create_future()
            self._waiting[job_id] = future
        if self._task is None or self._task.done():
            self._task = asyncio.ensure_future(self._run())
        return await asyncio.shield(future)

    def forget(self, job_id: str) -> None:
        self._cache.pop(job_id, None)

    async def _run(self) -> None:
        await asyncio.sleep(self.batch_delay)
        while self._waiting:
            batch, self._waiting = self._waiting, {}
            ids = list(batch)
            try:
                self.queries += 1
                result = await self._query(ids)
            except asyncio.CancelledError:
                for f in batch.values():
                    if not f.done():
                        f.set_result(JobStatus.unknown("status query was cancelled"))
                raise
            except Exception as e:  # a query must never kill the poller
                result = {i: JobStatus.unknown(f"status query failed: {e}") for i in ids}
            now = time.monotonic()
            for job_id, future in batch.items():
                status = result.get(job_id) or JobStatus.unknown("not in the query's answer")
                self._cache[job_id] = (now, status)
                if not future.done():
                    future.set_result(status)
