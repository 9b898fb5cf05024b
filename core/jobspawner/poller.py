"""One status query per round for every job of a backend.

The poller *watches* every job a spawner has asked about. Each query round asks about all
watched jobs at once and caches every answer, so spawners polling at different moments
(JupyterHub polls each spawner on its own jittered timer) share one query per
``max_age`` window instead of costing one query each: the load pattern Slurm's manual warns
against. Finished jobs leave the watch list once seen finished.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence

from .status import JobStatus

Query = Callable[[Sequence[str]], Awaitable[Mapping[str, JobStatus]]]


class StatusPoller:
    """Batches status requests into one query at a time, covering every watched job.

    ``batch_delay`` is how long a new round waits for more requests before querying.
    """

    def __init__(self, query: Query, batch_delay: float = 0.05) -> None:
        self._query = query
        self.batch_delay = batch_delay
        self._waiting: dict[str, asyncio.Future[JobStatus]] = {}
        self._watched: set[str] = set()
        self._cache: dict[str, tuple[float, JobStatus]] = {}
        self._task: asyncio.Task[None] | None = None
        self.queries = 0  # how many queries ran (for tests and benchmarks)

    async def status(self, job_id: str, max_age: float = 0.0) -> JobStatus:
        """The job's status, no older than ``max_age`` seconds."""
        cached = self._cache.get(job_id)
        if cached is not None and time.monotonic() - cached[0] <= max_age:
            return cached[1]
        self._watched.add(job_id)
        future = self._waiting.get(job_id)
        if future is None:
            future = asyncio.get_running_loop().create_future()
            self._waiting[job_id] = future
        if self._task is None or self._task.done():
            self._task = asyncio.ensure_future(self._run())
        return await asyncio.shield(future)

    def watch(self, job_id: str) -> None:
        """Include a job in every round from now on (its spawner submitted or loaded it)."""
        self._watched.add(job_id)

    def forget(self, job_id: str) -> None:
        """Stop watching a job (its spawner cleared it)."""
        self._watched.discard(job_id)
        self._cache.pop(job_id, None)

    @property
    def watched(self) -> frozenset[str]:
        return frozenset(self._watched)

    async def _run(self) -> None:
        await asyncio.sleep(self.batch_delay)
        while self._waiting:
            batch, self._waiting = self._waiting, {}
            ids = sorted(self._watched | set(batch))
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
            for job_id in ids:
                status = result.get(job_id) or JobStatus.unknown("not in the query's answer")
                self._cache[job_id] = (now, status)
                if status.state.finished:
                    self._watched.discard(job_id)
                future = batch.get(job_id)
                if future is not None and not future.done():
                    future.set_result(status)
