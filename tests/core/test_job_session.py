"""The job session without a hub: cancel and confirm, what is owed, what is reported."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import pytest
from jobspawner.commands import Command, CommandError
from jobspawner.job_record import JobRecord, QueuedStart
from jobspawner.job_session import JobSession


class Host:
    def __init__(self) -> None:
        self.said: list[str] = []
        self.saved: list[dict] = []

    def emit(self, message: str, progress: int) -> None:
        self.said.append(message)

    def persist(self, record: JobRecord) -> None:
        self.saved.append(record.to_state())


def _session(record: JobRecord, refuse: set[str] = frozenset()):
    done = SimpleNamespace(cancelled=[], removed=[], forgotten=[])

    async def cancel(ctx, job_ids):
        if set(job_ids) & refuse:
            raise CommandError(Command(["scancel", *job_ids]), 1, stderr="slurmctld is down")
        done.cancelled.extend(job_ids)

    async def remove_secrets(ctx, path):
        done.removed.append(path)

    ctx = SimpleNamespace(backend=SimpleNamespace(cancel=cancel, remove_secrets=remove_secrets))
    poller = SimpleNamespace(forget=done.forgotten.append)
    host = Host()
    session = JobSession(
        record, lambda: ctx, lambda: poller, host, logging.getLogger("test"), "alice"
    )
    return session, host, done, ctx, poller


async def test_a_confirmed_cancel_clears_the_job_and_removes_its_secrets():
    record = JobRecord(job_id="7", job_secrets="/h/.s", job_output="/h/o.log")
    session, host, done, _, _ = _session(record)
    await session.cancel("7")
    assert done.cancelled == ["7"] and done.forgotten == ["7"] and done.removed == ["/h/.s"]
    assert record.job_id == "" and host.saved[-1].get("job_id") is None


async def test_a_cancel_not_confirmed_is_owed_persisted_and_raised_then_retried():
    record = JobRecord(job_id="7", job_secrets="/h/.s")
    session, host, done, ctx, _ = _session(record, refuse={"7"})
    with pytest.raises(CommandError):
        await session.cancel("7")
    assert record.unconfirmed_cancels == ["7"] and record.job_id == ""
    assert host.saved[-1]["unconfirmed_cancels"] == ["7"]
    assert done.removed == []  # the job may still read its secrets file
    await session.retry_unconfirmed_cancels(ctx)  # still refused: still owed
    assert record.unconfirmed_cancels == ["7"]
    fixed, _, done, ctx, _ = _session(record)
    await fixed.retry_unconfirmed_cancels(ctx)
    assert record.unconfirmed_cancels == [] and done.cancelled == ["7"]


async def test_a_kept_start_dropped_is_cancelled_as_submitted_or_owed_and_said():
    kept = QueuedStart(job_id="9", job_secrets="/h/.k", server_token="t")
    record = JobRecord(queued=kept)
    session, host, done, ctx, poller = _session(record, refuse={"9"})
    await session.drop_kept(kept, ctx, poller, cancel=True)
    assert record.queued is None and record.unconfirmed_cancels == ["9"]
    assert any("could not be confirmed" in m for m in host.said), host.said
    assert done.removed == [] and "queued_start" not in host.saved[-1]
    ended = QueuedStart(job_id="10", server_token="t")  # ended meanwhile, no secrets file
    record.queued = ended
    session, host, done, ctx, poller = _session(record)
    await session.drop_kept(ended, ctx, poller, cancel=False)
    assert done.cancelled == [] and done.removed == [] and done.forgotten == ["10"]
    assert record.queued is None
