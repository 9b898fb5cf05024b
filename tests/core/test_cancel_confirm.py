"""confirm_cancel: the REST backends' cancel-and-confirm loop (one implementation)."""

from __future__ import annotations

import pytest
from jobspawner import JobState, JobStatus, confirm_cancel
from jobspawner.facade import cancel_confirm as cc


@pytest.fixture(autouse=True)
def quick(monkeypatch):
    monkeypatch.setattr(cc, "CANCEL_CHECK_INTERVAL", 0.0)


async def test_resends_every_few_checks_and_confirms_by_status():
    sent: list[list[str]] = []
    asked = 0

    async def send(ids):
        sent.append(list(ids))
        return list(ids), ""

    async def ask(ids):
        nonlocal asked
        asked += 1
        # the job is listed as running for 7 checks, then cancelled
        state = JobState.RUNNING if asked < 8 else JobState.CANCELLED
        return {i: JobStatus(state=state) for i in ids}

    assert await confirm_cancel(["7", "7"], send, ask) == ([], "")
    assert sent == [["7"], ["7"]]  # at check 0 and check 5 (resent), deduplicated
    assert asked == 8


async def test_an_unknown_answer_is_never_taken_as_gone():
    async def send(ids):
        return list(ids), ""

    async def ask(ids):
        return {i: JobStatus.unknown("slurmrestd is down") for i in ids}

    assert await confirm_cancel(["1"], send, ask) == (["1"], "slurmrestd is down")


async def test_jobs_the_cancel_says_are_gone_need_no_check_and_a_refusal_fails_at_once():
    async def gone(ids):
        return [], ""

    async def never(ids):
        raise AssertionError("no status check needed")

    assert await confirm_cancel(["1", "2"], gone, never) == ([], "")

    async def refused(ids):
        raise PermissionError("Access/permission denied")

    with pytest.raises(PermissionError):
        await confirm_cancel(["1"], refused, never)
