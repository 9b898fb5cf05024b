"""The shared poller: one query per round for every job, failures are 'unknown'."""

from __future__ import annotations

import asyncio

from jobspawner.contract.status import JobState, JobStatus
from jobspawner.lifecycle.poller import StatusPoller


async def test_concurrent_requests_share_one_query():
    calls: list[list[str]] = []

    async def query(ids):
        calls.append(list(ids))
        await asyncio.sleep(0.05)
        return {i: JobStatus(JobState.RUNNING) for i in ids}

    poller = StatusPoller(query)
    results = await asyncio.gather(*(poller.status(str(i)) for i in range(50)))
    assert all(r.state is JobState.RUNNING for r in results)
    assert len(calls) == 1 and sorted(calls[0], key=int) == [str(i) for i in range(50)]


async def test_requests_during_a_query_are_batched_into_the_next():
    calls: list[list[str]] = []
    gate = asyncio.Event()

    async def query(ids):
        calls.append(sorted(ids))
        if len(calls) == 1:
            await gate.wait()
        return {i: JobStatus(JobState.PENDING) for i in ids}

    poller = StatusPoller(query, batch_delay=0)
    first = asyncio.ensure_future(poller.status("a"))
    await asyncio.sleep(0.01)
    later = [asyncio.ensure_future(poller.status(x)) for x in "bcd"]
    await asyncio.sleep(0.01)
    gate.set()
    await asyncio.gather(first, *later)
    assert calls == [["a"], ["a", "b", "c", "d"]]  # a is still watched (pending)


async def test_failed_query_means_unknown_not_gone():
    async def query(ids):
        raise RuntimeError("slurm_load_jobs error: Unable to contact slurm controller")

    poller = StatusPoller(query)
    status = await poller.status("7")
    assert status.state is JobState.UNKNOWN and not status.state.finished
    assert "Unable to contact" in (status.reason or "")


async def test_cache_serves_recent_answers():
    count = 0

    async def query(ids):
        nonlocal count
        count += 1
        return {i: JobStatus(JobState.RUNNING) for i in ids}

    poller = StatusPoller(query)
    await poller.status("1")
    await poller.status("1", max_age=60)
    assert count == 1
    await poller.status("1", max_age=0)
    assert count == 2


async def test_staggered_polls_share_one_query_per_window():
    """Spawners polling at different moments (JupyterHub's jittered timers) share queries:
    every round covers all watched jobs, and answers up to max_age old are reused."""
    calls: list[list[str]] = []

    async def query(ids):
        calls.append(sorted(ids))
        return {i: JobStatus(JobState.RUNNING) for i in ids}

    poller = StatusPoller(query, batch_delay=0)
    ids = [str(i) for i in range(20)]
    await asyncio.gather(*(poller.status(i) for i in ids))  # the first round learns them all
    assert len(calls) == 1
    for job_id in ids:  # then each spawner polls on its own, one after the other
        await poller.status(job_id, max_age=10)
        await asyncio.sleep(0.001)
    assert len(calls) == 1, "staggered polls within the window must not query again"


async def test_each_round_covers_every_watched_job_and_drops_finished_ones():
    calls: list[list[str]] = []
    states = {"a": JobState.RUNNING, "b": JobState.DONE, "c": JobState.PENDING}

    async def query(ids):
        calls.append(sorted(ids))
        return {i: JobStatus(states[i]) for i in ids}

    poller = StatusPoller(query, batch_delay=0)
    await asyncio.gather(poller.status("a"), poller.status("b"))
    await poller.status("c")  # asks about c, and refreshes a (b has finished)
    assert calls == [["a", "b"], ["a", "c"]]
    poller.forget("a")
    assert poller.watched == {"c"}


async def test_watched_jobs_are_answered_by_the_first_round():
    calls: list[list[str]] = []

    async def query(ids):
        calls.append(sorted(ids))
        return {i: JobStatus(JobState.RUNNING) for i in ids}

    poller = StatusPoller(query, batch_delay=0)
    for job_id in "xyz":  # spawners loaded their state after a hub restart
        poller.watch(job_id)
    for job_id in "xyz":  # their first polls, one after the other
        await poller.status(job_id, max_age=10)
    assert calls == [["x", "y", "z"]]
