"""The walltime notices without a hub: what the hub tells a server, what a server keeps of it
and when it asks JupyterLab to save, the bounded save report, and the words after the end."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import time
from datetime import datetime, timedelta

import pytest
from jobspawner.contract.status import JobState, JobStatus
from jobspawner.jobside import walltime_server
from jobspawner.lifecycle import last_end, started_options, walltime
from traitlets import TraitError

from core.test_spawner_unit import make_spawner


def _running(end: datetime | None) -> JobStatus:
    return JobStatus(JobState.RUNNING, native_state="RUNNING", end_time=end)


# --- the hub's side -------------------------------------------------------------------------


def test_the_hub_tells_the_end_the_last_status_round_saw(tmp_path):
    spawner = make_spawner(tmp_path, req_runtime="2h", walltime_warnings=[60, 600, 60])
    spawner.job_id = "42"
    end = datetime.now().replace(microsecond=0) + timedelta(minutes=30)
    spawner.poller()._cache["42"] = (time.monotonic(), _running(end))
    told = walltime.answer(spawner)
    assert told["end"] == end.timestamp() and told["runtime"] == 7200
    assert told["warnings"] == [600, 60]  # sorted, nearest last, once each
    # a pending job's estimate or no round yet: only the requested runtime
    spawner.poller()._cache["42"] = (time.monotonic(), JobStatus(JobState.PENDING, end_time=end))
    assert walltime.answer(spawner)["end"] is None
    assert walltime.job_env(spawner) == {walltime.ENV_FLAG: "1"}
    assert walltime.ENV_FLAG in spawner.get_env()
    off = make_spawner(tmp_path, walltime_notices=False)
    assert walltime.ENV_FLAG not in off.get_env()


def test_walltime_settings_are_checked_with_a_fix(tmp_path):
    with pytest.raises(TraitError, match=r"walltime_warnings must be .* e\.g\. \[900, 120\]"):
        make_spawner(tmp_path, walltime_warnings=[0])
    with pytest.raises(TraitError, match="walltime_save_before must be 0 or more"):
        make_spawner(tmp_path, walltime_save_before=-1)


def test_a_save_report_is_bounded_and_checked():
    many = [f"nb{i}.ipynb" for i in range(500)]
    report = walltime.parse_report(
        json.dumps({"saved": many, "failed": ["x\x1b[31m\n.py"]}).encode()
    )
    assert len(report["saved"]) == walltime.MAX_PATHS and report["failed"] == []
    report = walltime.parse_report(
        b'{"saved": ["a\\u202eb.ipynb", "a\\u202eb.ipynb"], "failed": []}'
    )
    assert report["saved"] == ["ab.ipynb"]
    long = walltime.parse_report(json.dumps({"saved": ["d/" * 1000 + "x.py"]}).encode())
    assert len(long["saved"][0]) == walltime.MAX_PATH and long["saved"][0].endswith("/x.py")
    for bad in (b"[]", b"{", b'{"saved": "a"}', b'{"saved": [1]}', b'{"other": []}'):
        with pytest.raises(walltime.ReportError):
            walltime.parse_report(bad)


async def test_after_the_walltime_the_user_reads_what_was_saved_and_can_start_again(tmp_path):
    spawner = make_spawner(tmp_path, user_options_allowed=["runtime"])
    spawner.user_options = {"runtime": "30m"}
    spawner.job_id = "480"
    spawner.record.options = {"runtime": "30m"}
    started_options.remember(spawner, {})  # its server came up: the options to start again
    walltime.note_report(spawner, {"saved": ["work/a.ipynb"], "failed": ["<b>b</b>.txt"]})
    # the save report outlives a hub restart while its job is recorded
    restarted = make_spawner(tmp_path, user_options_allowed=["runtime"])
    restarted.load_state(spawner.get_state())
    assert restarted.record.walltime_saved["saved"] == ["work/a.ipynb"]
    restarted.user_options = {"runtime": "30m"}
    await last_end.note_end(restarted, JobStatus(JobState.FAILED, native_state="TIMEOUT"))
    words = restarted.record.last_end["words"]
    assert "its batch job 480 reached its time limit." in words
    assert "were saved before it ended: work/a.ipynb." in words
    assert "could not be saved and lost their last changes: <b>b</b>.txt." in words
    html = last_end.render_notice(restarted.record.last_end)
    assert "&lt;b&gt;b&lt;/b&gt;.txt" in html and "<b>b</b>" not in html  # the job's words
    assert "Start again with the same options" in html
    assert 'href="/hub/spawn/' in html and "opt-runtime=30m" in html


def test_a_job_that_ended_otherwise_keeps_its_words(tmp_path):
    spawner = make_spawner(tmp_path)
    spawner.job_id = "7"
    cancelled = JobStatus(JobState.CANCELLED, native_state="CANCELLED")
    assert walltime.end_words(spawner, cancelled, "w") == "w"
    spawner.walltime_end = time.time() + 3600  # an admin cancelled it an hour early
    assert walltime.end_words(spawner, cancelled, "w") == "w"
    spawner.walltime_end = time.time() - 5  # ended at the end it was told
    assert "reached its time limit" in walltime.end_words(spawner, cancelled, "w")
    assert last_end.walltime.relaunch_url(spawner) == ""  # no options: the form's Start


# --- the server's side ----------------------------------------------------------------------


def test_the_server_asks_jupyterlab_to_save_once_per_end():
    state = walltime_server.Walltime(started=1000.0)
    assert state.end is None and not state.due(now=10**9)
    state.take({"end": None, "runtime": 600, "warnings": [120], "save_before": 60, "refresh": 1})
    assert (state.end, state.source, state.refresh) == (1600.0, "requested", 5.0)
    assert state.until_due(now=1500.0) == 40.0
    assert not state.due(now=1539.0)
    assert state.due(now=1541.0) and state.save == 1
    assert not state.due(now=1550.0) and state.until_due(now=1550.0) is None
    # the time limit was raised (scontrol update TimeLimit): a new end, a new request later
    later = time.time() + 3600
    state.take({"end": later, "runtime": 600, "save_before": 60})
    assert state.source == "scheduler" and not state.due()
    assert state.due(now=later - 30) and state.save == 2
    state.ask_now()  # the scheduler's warning signal
    assert state.for_lab()["save"] == 3


def test_the_server_ignores_what_the_hub_must_not_say():
    state = walltime_server.Walltime(started=1000.0)
    state.take(
        {
            "end": float("inf"),
            "runtime": -5,
            "warnings": ["900", 60, True, 10**12] + [30] * 100,
            "save_before": "soon",
            "refresh": 10**6,
        }
    )
    assert (state.end, state.warnings, state.save_before, state.refresh) == (
        None,
        [60, 30],
        60,
        300,
    )
    state.take("not an object")
    assert state.refresh == 300


def test_what_jupyterlab_reports_is_checked():
    assert walltime_server.parse_lab_report(b'{"saved": ["a"], "failed": []}') == {
        "saved": ["a"],
        "failed": [],
    }
    for bad in (b"x", b'{"saved": [1]}', b"[]", b'{"saved": ["' + b"a" * 20000 + b'"]}'):
        assert walltime_server.parse_lab_report(bad) is None


async def test_the_schedulers_warning_signal_asks_for_a_save_at_once():
    class Link:
        async def ask(self):
            return {"end": None, "runtime": 3600}

    service = walltime_server.Service(Link(), logging.getLogger("test"))  # type: ignore[arg-type]
    service.start()
    try:
        os.kill(os.getpid(), signal.SIGUSR1)
        assert await _soon(lambda: service.walltime.save == 1)
        assert service.walltime.source == "requested"
    finally:
        asyncio.get_running_loop().remove_signal_handler(signal.SIGUSR1)
        service._task.cancel()


async def _soon(check, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while not check() and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    return bool(check())
