"""Waiting for a job's status to change: a queued spawn sleeps through rounds that bring it
nothing new instead of waking at every one."""

from __future__ import annotations

import asyncio

from jobspawner.contract.status import JobState, JobStatus
from jobspawner.lifecycle.poller import StatusPoller


def poller_of(states: dict[str, JobStatus], rounds: list[int]) -> StatusPoller:
    async def query(ids):
        rounds.append(len(ids))
        return {i: states[i] for i in ids}

    return StatusPoller(query, batch_delay=0, interval=0, fast_interval=0.05)


async def test_changed_waits_through_rounds_with_the_same_answer():
    states = {"a": JobStatus(JobState.PENDING, reason="Priority")}
    rounds: list[int] = []
    poller = poller_of(states, rounds)
    poller.watch("a")
    poller.hurry("a")
    seen = await poller.status("a")
    waiter = poller.changed("a", seen)
    await asyncio.sleep(0.4)
    assert len(rounds) >= 4  # hurried rounds ran...
    assert not waiter.done()  # ...and none woke the waiter: the answer was the same
    states["a"] = JobStatus(JobState.PENDING, reason="Resources")  # a new pending reason
    resources = await asyncio.wait_for(waiter, 1.0)
    assert resources.reason == "Resources"
    states["a"] = JobStatus(JobState.RUNNING, host="n1")
    running = await asyncio.wait_for(poller.changed("a", resources), 1.0)
    assert running.state is JobState.RUNNING and running.host == "n1"
    await poller.close()


async def test_changed_answers_at_once_when_the_latest_round_differs():
    states = {"a": JobStatus(JobState.PENDING)}
    poller = poller_of(states, [])
    old = await poller.status("a")
    states["a"] = JobStatus(JobState.RUNNING)
    await poller.status("a", max_age=0)  # a round saw the change before anyone waited
    waiter = poller.changed("a", old)
    assert waiter.done() and waiter.result().state is JobState.RUNNING
    await poller.close()


async def test_changed_waiters_end_with_close_and_forget_and_may_be_cancelled():
    states = {"a": JobStatus(JobState.PENDING), "b": JobStatus(JobState.PENDING)}
    rounds: list[int] = []
    poller = poller_of(states, rounds)
    for job in states:
        poller.watch(job)
        poller.hurry(job)
    seen = await poller.status("a")
    cancelled = poller.changed("a", seen)
    cancelled.cancel()  # its spawn stopped waiting (the port was reported)
    forgotten = poller.changed("b", seen)
    poller.forget("b")
    assert forgotten.done() and forgotten.result().state is JobState.UNKNOWN
    closing = poller.changed("a", seen)
    await asyncio.sleep(0.2)  # rounds drop the cancelled waiter without touching it
    assert not closing.done()
    await poller.close()
    assert closing.done() and closing.result().state is JobState.UNKNOWN
