"""The core's cancel: reads the cancel command's own answers, confirms with the status
command alone (never the history query), fails at once on a refusal."""

from __future__ import annotations

import time

import pytest
from jobspawner import CancelOutcome, Command, CommandError, JobState, JobStatus, hookimpl
from jobspawner.contract.context import make_context
from jobspawner.facade.backend import load_backend


class Scheduler:
    """A scripted scheduler: ``alive`` jobs stay listed until cancelled ``after`` sends."""

    def __init__(self, answers: dict[str, CancelOutcome], alive: set[str], after: int = 1):
        self.answers, self.alive, self.after = answers, alive, after
        self.sent = 0
        self.ran: list[str] = []

    @hookimpl(tryfirst=True)
    def cancel_command(self, job_ids):
        self.sent += 1
        self.ran.append("cancel")
        if self.sent >= self.after:
            self.alive -= set(job_ids)
        return Command(["true"])

    @hookimpl(tryfirst=True)
    def parse_cancel(self, job_ids):
        return {i: self.answers[i] for i in job_ids if i in self.answers}

    @hookimpl(tryfirst=True)
    def status_command(self):
        self.ran.append("status")
        return Command(["true"])

    @hookimpl(tryfirst=True)
    def parse_status(self, job_ids):
        return {i: JobStatus(JobState.RUNNING) for i in job_ids if i in self.alive}

    @hookimpl(tryfirst=True)
    def history_command(self):
        self.ran.append("history")
        return Command(["true"])


def _cancel(scheduler: Scheduler, ids: list[str]):
    backend = load_backend("local", [scheduler])
    return backend.cancel(make_context(backend), ids)


async def test_jobs_the_cancel_command_reports_gone_need_no_status_query():
    scheduler = Scheduler({"1": CancelOutcome.GONE, "2": CancelOutcome.GONE}, alive=set())
    await _cancel(scheduler, ["1", "2"])
    assert scheduler.ran == ["cancel"]


async def test_a_refusal_fails_at_once_naming_the_job():
    scheduler = Scheduler({"7": CancelOutcome.REFUSED}, alive={"7", "8"}, after=99)
    started = time.monotonic()
    with pytest.raises(CommandError, match=r"was refused for job\(s\) 7"):
        await _cancel(scheduler, ["7", "8"])
    assert time.monotonic() - started < 1 and scheduler.ran == ["cancel"]


async def test_the_rest_is_confirmed_by_the_status_command_never_the_history():
    scheduler = Scheduler({}, alive={"3", "4"}, after=2)  # the first cancel is not enough
    await _cancel(scheduler, ["3", "4"])
    assert "history" not in scheduler.ran
    assert scheduler.ran.count("cancel") == 2 and scheduler.ran.count("status") >= 5


async def test_a_cancel_that_changes_nothing_is_not_confirmed(monkeypatch):
    from jobspawner.facade import defaults

    monkeypatch.setattr(defaults, "CANCEL_CHECKS", 4)
    monkeypatch.setattr(defaults, "CANCEL_CHECK_INTERVAL", 0.01)
    scheduler = Scheduler({}, alive={"5"}, after=99)
    with pytest.raises(CommandError, match=r"did not remove job\(s\) 5 after 4 checks"):
        await _cancel(scheduler, ["5"])
