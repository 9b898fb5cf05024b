"""One status query per round for every job of a backend.

The poller *watches* every job a spawner has asked about. Each query round asks about all
watched jobs at once and caches every answer, so spawners polling at different moments
(JupyterHub polls each spawner on its own jittered timer) share one query per
``max_age`` window instead of costing one query each: the load pattern Slurm's manual warns
against. Finished jobs leave the watch list once seen finished.

With an ``interval``, the poller also runs rounds on its own (the *watcher*): one round every
``interval`` seconds while any job is watched, and one every ``fast_interval`` seconds while
any job is *hurried* (a spawn waiting for its job to start, or a job whose server said it is
ending). Spawners then read answers from these shared rounds instead of asking for their own,
and whoever subscribed to a job hears when a round sees it finished. A round asked for on
demand (:meth:`status` with a small ``max_age``, :meth:`request_round`) moves the next timed
round back, so the scheduler sees at most one query per interval on a quiet hub.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence

from jobspawner.contract.status import JobState, JobStatus

Query = Callable[[Sequence[str]], Awaitable[Mapping[str, JobStatus]]]
Listener = Callable[[str, JobStatus], None]


class StatusPoller:
    """Batches status requests into one query at a time, covering every watched job.

    ``batch_delay`` is how long a new round waits for more requests before querying.
    ``interval`` (0: off) and ``fast_interval`` pace the watcher's own rounds.
    """

    def __init__(
        self,
        query: Query,
        batch_delay: float = 0.05,
        interval: float = 0.0,
        fast_interval: float = 1.0,
    ) -> None:
        self._query = query
        self.batch_delay = batch_delay
        self.interval = interval
        self.fast_interval = fast_interval
        self._waiting: dict[str, asyncio.Future[JobStatus]] = {}
        self._watched: set[str] = set()
        self._hurried: dict[str, float] = {}  # job id -> until (monotonic)
        self._listeners: dict[str, list[Listener]] = {}
        self._cache: dict[str, tuple[float, JobStatus]] = {}
        self._task: asyncio.Task[None] | None = None
        self._ticker: asyncio.Task[None] | None = None
        self._wake: asyncio.Event | None = None
        self._round_asked = False
        self._round_done: asyncio.Future[None] | None = None
        # job id -> (the status a waiter last saw, its future): see changed()
        self._change_waiters: dict[str, list[tuple[JobStatus, asyncio.Future[JobStatus]]]] = {}
        self.last_round = -math.inf  # monotonic time the last round ended
        self.queries = 0  # how many queries ran (for tests and benchmarks)

    # --- asking ---------------------------------------------------------------------------
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
        self._start_round()
        return await asyncio.shield(future)

    def cached(self, job_id: str) -> tuple[float, JobStatus] | None:
        """The last answer about a job and its age in seconds, if any."""
        cached = self._cache.get(job_id)
        if cached is None:
            return None
        return time.monotonic() - cached[0], cached[1]

    def request_round(self) -> None:
        """Run a round soon (after ``batch_delay``), covering every watched job."""
        self._round_asked = True
        self._start_round()

    async def next_round(self, timeout: float | None = None) -> None:
        """Wait until the next round ends (or ``timeout`` seconds)."""
        loop = asyncio.get_running_loop()
        done = self._round_done
        if done is None or done.done() or done.get_loop() is not loop:
            done = self._round_done = loop.create_future()
        self._ensure_ticker()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(asyncio.shield(done), timeout)

    def changed(self, job_id: str, seen: JobStatus) -> asyncio.Future[JobStatus]:
        """A future that a round resolves with the job's status once it differs from
        ``seen`` (the status the caller acted on last), or when the poller closes.

        A spawn waiting in the queue waits on this instead of waking at every round: a round
        of 100 waiting spawns wakes only those whose job changed. Resolved at once when the
        latest answer already differs. Cancel it to stop waiting (it is then dropped)."""
        future: asyncio.Future[JobStatus] = asyncio.get_running_loop().create_future()
        cached = self._cache.get(job_id)
        if cached is not None and cached[1] != seen:
            future.set_result(cached[1])
        else:
            self._change_waiters.setdefault(job_id, []).append((seen, future))
        return future

    def _notify_changes(self, job_id: str, status: JobStatus) -> None:
        waiters = self._change_waiters.get(job_id)
        if not waiters:
            return
        still = []
        for seen, future in waiters:
            if future.done():
                continue  # cancelled by its waiter
            if status != seen:
                future.set_result(status)
            else:
                still.append((seen, future))
        if still:
            self._change_waiters[job_id] = still
        else:
            del self._change_waiters[job_id]

    # --- watching -------------------------------------------------------------------------
    def watch(self, job_id: str, listener: Listener | None = None) -> None:
        """Include a job in every round from now on (its spawner submitted or loaded it).

        ``listener(job_id, status)`` is called once, when a round sees the job finished.
        """
        self._watched.add(job_id)
        if listener is not None:
            listeners = self._listeners.setdefault(job_id, [])
            if listener not in listeners:
                listeners.append(listener)
        self._ensure_ticker()
        if self._wake is not None:
            self._wake.set()

    def hurry(self, job_id: str, seconds: float = math.inf) -> None:
        """Poll this job every ``fast_interval`` for ``seconds`` (a shared fast round)."""
        until = time.monotonic() + seconds
        self._hurried[job_id] = max(until, self._hurried.get(job_id, -math.inf))
        self._ensure_ticker()
        if self._wake is not None:
            self._wake.set()

    def relax(self, job_id: str) -> None:
        """Stop hurrying a job (its spawn ended)."""
        self._hurried.pop(job_id, None)

    def forget(self, job_id: str) -> None:
        """Stop watching a job (its spawner cleared it)."""
        self._watched.discard(job_id)
        self._cache.pop(job_id, None)
        self._hurried.pop(job_id, None)
        self._listeners.pop(job_id, None)
        for _, future in self._change_waiters.pop(job_id, []):
            if not future.done():
                future.set_result(JobStatus.unknown("the job is no longer followed"))

    async def close(self, timeout: float = 5.0) -> None:
        """Stop the watcher and any round in progress, and forget every job (hub shutdown,
        benchmarks between phases). Waits at most ``timeout`` seconds for them to end."""
        self._watched.clear()
        self._hurried.clear()
        self._listeners.clear()
        tasks = [t for t in (self._ticker, self._task) if t is not None and not t.done()]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=timeout)
        for future in self._waiting.values():
            if not future.done():
                future.set_result(JobStatus.unknown("the status poller was closed"))
        self._waiting.clear()
        for waiters in self._change_waiters.values():
            for _, future in waiters:
                if not future.done():
                    future.set_result(JobStatus.unknown("the status poller was closed"))
        self._change_waiters.clear()

    @property
    def watched(self) -> frozenset[str]:
        return frozenset(self._watched)

    def states(self) -> Iterator[JobState]:
        """The last known state of each watched job (for the metrics, at a scrape)."""
        cache = self._cache
        for job_id in tuple(self._watched):
            cached = cache.get(job_id)
            if cached is not None:
                yield cached[1].state

    def current_interval(self) -> float:
        """Seconds between the watcher's rounds right now (inf: the watcher is off)."""
        now = time.monotonic()
        for job_id, until in list(self._hurried.items()):
            if until < now or job_id not in self._watched:
                del self._hurried[job_id]
        if self._hurried:
            return self.fast_interval
        return self.interval if self.interval > 0 and self._watched else math.inf

    # --- rounds ---------------------------------------------------------------------------
    def _start_round(self) -> None:
        task = self._task
        if task is None or task.done() or task.get_loop() is not asyncio.get_running_loop():
            self._task = asyncio.ensure_future(self._run())

    def _ensure_ticker(self) -> None:
        if self.interval <= 0 and not self._hurried:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop yet (a state loaded outside the hub's loop); the next call starts it
        ticker = self._ticker
        if ticker is None or ticker.done() or ticker.get_loop() is not loop:
            self._wake = asyncio.Event()
            self._ticker = asyncio.ensure_future(self._tick())

    async def _tick(self) -> None:
        """The watcher: one round per interval while anything is watched."""
        wake = self._wake
        assert wake is not None
        while True:
            interval = self.current_interval()
            if math.isinf(interval):
                return  # nothing to watch: watch() or hurry() starts the watcher again
            delay = max(0.0, self.last_round + interval - time.monotonic())
            wake.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(wake.wait(), timeout=delay)
            if not math.isinf(self.current_interval()) and time.monotonic() >= (
                self.last_round + self.current_interval()
            ):
                self.request_round()
                task = self._task
                if task is not None:
                    with contextlib.suppress(Exception):
                        await asyncio.shield(task)

    async def _run(self) -> None:
        await asyncio.sleep(self.batch_delay)
        while self._waiting or self._round_asked:
            batch, self._waiting = self._waiting, {}
            self._round_asked = False
            ids = sorted(self._watched | set(batch))
            if not ids:
                break
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
            self.last_round = now
            finished: list[tuple[str, JobStatus, list[Listener]]] = []
            for job_id in ids:
                status = result.get(job_id) or JobStatus.unknown("not in the query's answer")
                self._cache[job_id] = (now, status)
                if job_id in self._change_waiters:
                    self._notify_changes(job_id, status)
                if status.state.finished:
                    self._watched.discard(job_id)
                    self._hurried.pop(job_id, None)
                    finished.append((job_id, status, self._listeners.pop(job_id, [])))
                future = batch.get(job_id)
                if future is not None and not future.done():
                    future.set_result(status)
            done, self._round_done = self._round_done, None
            if done is not None and not done.done():
                done.set_result(None)
            for job_id, status, listeners in finished:
                for listener in listeners:
                    try:
                        listener(job_id, status)
                    except Exception:  # one listener must not stop the others
                        continue
