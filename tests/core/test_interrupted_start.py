"""A start a hub restart interrupted, without a hub: what decides adoption, what the user
reads, and a kept job replaced by a start with other options (its cancel not confirmed)."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import pytest
from jobspawner.choices.user_options import job_settings
from jobspawner.contract.commands import Command, CommandError
from jobspawner.contract.resources import normalise
from jobspawner.contract.status import JobState, JobStatus
from jobspawner.lifecycle import interrupted_start
from jobspawner.lifecycle.job_record import QueuedStart

from .test_spawner_unit import make_spawner, progress_until


def _kept(**changes) -> QueuedStart:
    values = {
        "job_id": "42",
        "backend": "local",
        "job_settings": {"backend": "local", "exec_prefix": []},
        "profile": "small",
        "options": {"runtime": "01:00:00"},
        "server_token": "tok",
    }
    return QueuedStart(**{**values, **changes})


def test_only_the_same_backend_request_and_settings_adopt():
    one_hour = interrupted_start.request_of(
        "small", normalise({"runtime": "60m", "memory": "2G"}), {"env": "base"}
    )
    kept = _kept(request=one_hour)
    settings = {"backend": "local", "exec_prefix": []}
    # the same request written otherwise: normalised, the same
    again = interrupted_start.request_of(
        "small", normalise({"runtime": "1h", "memory": "2048M"}), {"env": "base"}
    )
    assert interrupted_start.same_start(kept, "local", again, settings)
    assert not interrupted_start.same_start(kept, "slurm", again, settings)
    assert not interrupted_start.same_start(kept, "local", again, {"backend": "local"})
    for other in (
        interrupted_start.request_of(
            "big", normalise({"runtime": "1h", "memory": "2G"}), {"env": "base"}
        ),
        interrupted_start.request_of(
            "small", normalise({"runtime": "2h", "memory": "2G"}), {"env": "base"}
        ),
        interrupted_start.request_of(
            "small", normalise({"runtime": "1h", "memory": "2G"}), {"env": "ml"}
        ),
    ):
        assert not interrupted_start.same_start(kept, "local", other, settings), other
    # a kept start of a release that recorded no request is never adopted
    assert not interrupted_start.same_start(_kept(), "local", {}, settings)


def test_the_user_reads_what_became_of_the_kept_job():
    assert "keeps its place in the queue" in interrupted_start.kept_message("42")
    assert "job 42" in interrupted_start.resuming("slurm", "42")
    ended = interrupted_start.ended_meanwhile("42", JobStatus(JobState.FAILED, exit_code=1))
    assert ended.startswith("Job 42, kept from before JupyterHub restarted, ended")
    assert "failed, exit code 1" in ended and ended.endswith("Submitting a new job.")
    assert "cancelled" in interrupted_start.replacing("42")
    assert "revoked" in interrupted_start.revoked("42")


def test_no_token_is_known_or_revoked_outside_a_hub_database():
    log = logging.getLogger("test")
    assert not interrupted_start.token_known(None, "tok")
    assert not interrupted_start.token_known(object(), "tok")
    assert not interrupted_start.revoke_token(object(), "tok", log, "alice")


async def test_a_kept_job_whose_cancel_is_not_confirmed_is_retried_later(tmp_path, monkeypatch):
    spawner = make_spawner(tmp_path, cmd=["sleep", "300"])
    spawner.record.queued = _kept(
        job_settings=job_settings(spawner), job_secrets=str(tmp_path / ".kept.secrets")
    )
    (tmp_path / ".kept.secrets").write_text("{}")
    backend = spawner.load()
    real_cancel = backend.cancel
    asked: list[list[str]] = []

    async def cancel(ctx, job_ids):
        asked.append(list(job_ids))
        if "42" in job_ids:
            raise CommandError(Command(["scancel", "42"]), 1, stderr="slurm is down")
        await real_cancel(ctx, job_ids)

    monkeypatch.setattr(backend, "cancel", cancel)
    start = asyncio.ensure_future(spawner.start())  # other options than the kept job's
    for _ in range(100):
        if spawner.job_id:
            break
        await asyncio.sleep(0.05)
    said = await progress_until(
        spawner, lambda m: m == interrupted_start.replacing_unconfirmed("42")
    )
    assert interrupted_start.replacing("42") in said, said
    assert interrupted_start.replacing_unconfirmed("42") in said, said
    assert spawner.job_id and spawner.job_id != "42"
    assert spawner.record.queued is None and spawner.unconfirmed_cancels == ["42"]
    assert "queued_start" not in spawner.get_state()
    assert spawner.get_state()["unconfirmed_cancels"] == ["42"]
    # a cancel not confirmed leaves the job's secrets file: the job may still read it
    assert (tmp_path / ".kept.secrets").exists()
    new_job = spawner.job_id
    start.cancel()
    with pytest.raises(asyncio.CancelledError):
        await start
    with pytest.raises(RuntimeError, match=r"job\(s\) 42 is not confirmed"):
        await spawner.stop()  # the new job's cancel is confirmed; 42's is still owed
    assert (await spawner.poller().status(new_job)).state.finished
    assert ["42"] in asked


async def _job_of(spawner) -> None:
    for _ in range(100):
        if spawner.job_id:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("no job submitted")


async def _cancelled(task: asyncio.Future) -> None:
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_a_restarted_hub_keeps_the_job_and_without_its_database_no_adoption(tmp_path):
    """poll() of a restarted hub keeps the job; the next start cannot check the kept token
    (no JupyterHub database here), so it does not adopt: the job is cancelled, a new one
    submitted."""
    first = make_spawner(tmp_path, cmd=["sleep", "300"])
    cut_off = asyncio.ensure_future(first.start())
    restarted = make_spawner(tmp_path, cmd=["sleep", "300"])
    again: asyncio.Future | None = None
    try:
        await _job_of(first)
        job_id = first.job_id
        restarted.load_state(first.get_state())  # what the database holds after a crash
        assert await restarted.poll() == 1  # JupyterHub then stops the server
        assert restarted.job_id == "" and restarted.record.queued.job_id == job_id
        assert restarted.record.queued.server_token == "secret-token"
        error = restarted._spawn_future.exception()  # what JupyterHub's pages show (its own)
        assert "keeps its place in the queue" in error.jupyterhub_message
        assert (await restarted.poller().status(job_id)).state.name == "RUNNING"
        restarted.clear_state()  # JupyterHub's stop, then its next spawn, clear the state
        assert restarted.record.queued is not None
        restarted.api_token = "fresh-token"  # the next spawn's own token
        again = asyncio.ensure_future(restarted.start())
        await _job_of(restarted)
        said = await progress_until(restarted, lambda m: m == interrupted_start.revoked(job_id))
        assert interrupted_start.revoked(job_id) in said, said
        assert restarted.job_id != job_id and restarted.api_token == "fresh-token"
        assert (await restarted.poller().status(job_id, max_age=0)).state.finished
    finally:
        for task in (cut_off, again):
            if task is not None:
                await _cancelled(task)
        for spawner in (first, restarted):
            with contextlib.suppress(Exception):
                await spawner.stop()


@pytest.mark.parametrize("how", ["rename", "delete"])
async def test_renaming_or_deleting_the_server_cancels_its_kept_job(tmp_path, monkeypatch, how):
    """The kept job's server would answer under the old name only, and a deleted server's
    job would be an orphan: both cancel it (confirmed) and delete its token."""
    spawner = make_spawner(tmp_path)
    spawner.record.queued = _kept(job_settings=job_settings(spawner))
    backend = spawner.load()
    asked: list[list[str]] = []

    async def cancel(ctx, job_ids):
        asked.append(list(job_ids))

    monkeypatch.setattr(backend, "cancel", cancel)
    if how == "rename":
        await spawner.rename("one", "two")
    else:
        await spawner.delete_forever()
    assert asked == [["42"]]
    assert spawner.record.queued is None and not spawner.unconfirmed_cancels
    assert "queued_start" not in spawner.get_state()
