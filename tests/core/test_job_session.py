"""The job session without a hub: cancel and confirm, what is owed, what is reported."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import pytest
from jobspawner.contract.commands import Command, CommandError
from jobspawner.contract.status import JobState, JobStatus
from jobspawner.lifecycle import interrupted_start
from jobspawner.lifecycle.job_record import JobRecord, QueuedStart
from jobspawner.lifecycle.job_session import JobSession
from jobspawner.lifecycle.session_settings import SessionSettings


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


class PollHost(Host):
    """The JupyterHub side a poll reports to (jobspawner.lifecycle.session_host.PollHost)."""

    def __init__(self, watch_answer=None) -> None:
        super().__init__()
        self.watch_answer = watch_answer
        self.ended: list[tuple[str, str | None]] = []
        self.calls: list[str] = []

    async def transport_restore(self) -> None:
        self.calls.append("restore")

    def transport_close(self) -> None:
        self.calls.append("close")

    async def server_watch_poll(self):
        self.calls.append("watch")
        return self.watch_answer

    def stop_server_watch(self) -> None:
        self.calls.append("stop watch")

    async def note_job_end(self, status, words=None) -> None:
        self.ended.append((status.state.value, words))

    def revoke_token(self, token: str) -> None:
        self.calls.append(f"revoke {token}")

    def kept_job_access(self, queued):
        raise AssertionError("no kept job here")


def _polled(record: JobRecord, status, host: PollHost, keep: bool = True) -> JobSession:
    async def status_of(job_id, max_age):
        return status

    poller = SimpleNamespace(status=status_of, forget=lambda job_id: None)
    runner = SimpleNamespace(prefix=[])
    ctx = SimpleNamespace(runner=runner, query_runner=runner)  # the hub queries as the user
    settings = SessionSettings(
        backend="local", keep_queued_on_restart=keep, queue_timeout=60.0,
        server_start_timeout=60.0, start_timeout=200, startup_poll_interval=1.0,
        status_interval=15.0, status_max_age=10.0, server_check_timeout=30.0,
        log_tail_lines=30, host_source="scheduler", server_hosts_allowed=(),
    )  # fmt: skip
    return JobSession(
        record, lambda: ctx, lambda: poller, host, logging.getLogger("test"), "alice", settings
    )


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (JobStatus(JobState.CANCELLED), 143),
        (JobStatus(JobState.CANCELLED, exit_code=9), 9),
        (JobStatus(JobState.FAILED, exit_code=3), 3),
        (JobStatus(JobState.FAILED), 1),
        (JobStatus(JobState.DONE), 0),
    ],
)
async def test_a_poll_of_an_ended_job_stops_the_watch_and_keeps_why(status, code):
    host = PollHost()
    session = _polled(JobRecord(job_id="7"), status, host)
    assert await session.poll(host) == code
    assert host.calls == ["stop watch", "close"] and host.ended == [(status.state.value, None)]


async def test_a_poll_of_a_running_job_asks_the_server_watch():
    host = PollHost(watch_answer=1)  # the watch says the server is lost
    session = _polled(JobRecord(job_id="7"), JobStatus(JobState.RUNNING), host)
    assert await session.poll(host) == 1
    assert host.calls == ["restore", "watch"] and host.ended == []


async def test_an_interrupted_start_is_kept_only_with_its_token_and_the_setting():
    host = PollHost()
    record = JobRecord(job_id="7", start_unfinished=True, server_token="tok")
    session = _polled(record, JobStatus(JobState.PENDING), host, keep=False)
    assert session.keep_interrupted_start(host) is None and record.job_id == "7"
    session = _polled(record, JobStatus(JobState.PENDING), host, keep=True)
    said = session.keep_interrupted_start(host)
    assert said == interrupted_start.kept_message("7")
    assert record.job_id == "" and record.queued is not None and record.queued.job_id == "7"
    assert host.saved and host.saved[-1]["queued_start"]["job_id"] == "7"
