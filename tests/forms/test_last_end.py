"""Why the last server stopped (jobspawner.lifecycle.last_end): kept, restored, cleared, shown
escaped."""

from __future__ import annotations

import asyncio
import os
import signal
import time

import pytest
from harness.fake_jupyter import fake_server, spawn_server
from jobspawner.contract.status import JobState, JobStatus
from jobspawner.facade.hub_compat import SpawnException
from jobspawner.lifecycle import last_end
from jobspawner.web.session_view import describe

from forms.kit import SMALL, make_spawner

HOSTILE = "<script>alert('pwned')</script>"


def ended_spawner(tmp_path, log: str = "server log line\n", **config):
    """A spawner whose running server's job 480 has just ended, its log written."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    spawner = make_spawner(tmp_path, **config)
    spawner.orm_spawner = None
    output = tmp_path / "job-480.log"
    output.write_text(log)
    spawner.job_id, spawner.job_output = "480", str(output)
    return spawner


async def test_an_ended_job_is_kept_through_clear_state_and_a_restart(tmp_path):
    spawner = ended_spawner(tmp_path, log="starting\nKilled: out of memory\n")
    await last_end.note_end(spawner, JobStatus(JobState.CANCELLED))
    record = spawner.record.last_end
    assert record["job_id"] == "480" and abs(record["time"] - time.time()) < 60
    assert record["words"] == (
        "its batch job 480 was cancelled (by an administrator, or at its time limit)."
    )
    assert record["log_tail"] == "starting\nKilled: out of memory"
    spawner.clear_state()  # what JupyterHub does after the stop
    state = spawner.get_state()
    assert "job_id" not in state and state["last_end"]["job_id"] == "480"
    restarted = make_spawner(tmp_path)
    restarted.load_state(state)
    assert restarted.record.last_end == record
    form = await restarted.get_options_form()
    assert "Your last server stopped at " in form
    assert "its batch job 480 was cancelled (by an administrator, or at its time limit)." in form
    assert "Killed: out of memory" in form and str(tmp_path / "job-480.log") in form


async def test_the_same_end_is_recorded_once_and_a_stop_through_the_hub_not_at_all(tmp_path):
    spawner = ended_spawner(tmp_path)
    await last_end.note_end(spawner, JobStatus(JobState.FAILED, exit_code=137))
    first = dict(spawner.record.last_end)
    assert first["words"] == (
        "its batch job 480 failed with exit code 137 (killed: signal 9, e.g. out of memory "
        "or at its time limit)."
    )
    await last_end.note_end(spawner, JobStatus(JobState.DONE))  # JupyterHub polls again
    assert spawner.record.last_end == first
    asked = ended_spawner(tmp_path / "b")
    asked._stop_pending = True  # User.stop: the user, an admin or the culler asked
    await last_end.note_end(asked, JobStatus(JobState.CANCELLED))
    (tmp_path / "c").mkdir()
    starting = make_spawner(tmp_path / "c", cmd=["sleep", "300"])
    starting.orm_spawner = None
    start = asyncio.ensure_future(starting.start())
    try:
        for _ in range(100):
            if starting.awaiting_port() and starting.job_id:
                break
            await asyncio.sleep(0.05)
        assert starting.starting and starting.job_id
        await last_end.note_end(starting, JobStatus(JobState.FAILED))  # start() reports it
    finally:
        start.cancel()
        await asyncio.gather(start, return_exceptions=True)
        await starting.stop()
    assert asked.record.last_end == {} and starting.record.last_end == {}
    assert "last_end" not in asked.get_state()


async def test_hostile_log_lines_and_scheduler_words_are_rendered_inert(tmp_path):
    spawner = ended_spawner(tmp_path, log=f"ok\n{HOSTILE}\n\x1b[31mred\x1b[0m \x07bell\n")
    status = JobStatus(JobState.FAILED, reason=f'<img src=x onerror="alert(1)"> {HOSTILE}')
    await last_end.note_end(spawner, status)
    assert spawner.record.last_end["log_tail"] == f"ok\n{HOSTILE}\nred bell"  # no control chars
    for form in (
        await spawner.get_options_form(),  # no site form: the notice alone
        last_end.form_with_notice(spawner, "<p id='site-form'>site</p>"),
    ):
        assert "<script>" not in form and "<img" not in form
        assert "&lt;script&gt;alert(&#39;pwned&#39;)&lt;/script&gt;" in form
        assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in form
    assert "Press <strong>Start</strong>" in await spawner.get_options_form()
    with_site = last_end.form_with_notice(spawner, "<p id='site-form'>site</p>")
    assert with_site.index('id="jobspawner-last-end"') < with_site.index("id='site-form'")
    assert "Press <strong>Start</strong>" not in with_site


async def test_without_a_record_the_form_is_unchanged(tmp_path):
    bare = make_spawner(tmp_path)
    assert await bare.get_options_form() == ""  # JupyterHub starts at once, as before
    with_profiles = make_spawner(tmp_path, profiles=[SMALL])
    with_profiles.orm_spawner = None
    form = await with_profiles.get_options_form()
    assert 'id="profile-small"' in form and "jobspawner-last-end" not in form


def test_a_malformed_record_in_the_state_is_dropped(tmp_path):
    spawner = make_spawner(tmp_path)
    for bad in ([1, 2], {"words": 3, "job_id": "1"}, {"job_id": "1"}, "text"):
        spawner.load_state({"version": 1, "last_end": bad})
        assert spawner.record.last_end == {} and "last_end" not in spawner.get_state()
    spawner.load_state({"last_end": {"job_id": "7", "words": "a\nb\x1b[2J", "time": "x"}})
    assert spawner.record.last_end["words"] == "a b" and spawner.record.last_end["time"] is None
    assert last_end.sentence(spawner.record.last_end) == "Your last server stopped: a b"


def test_the_time_reads_as_a_clock_today_and_with_the_date_before():
    now = time.mktime((2026, 11, 29, 23, 50, 0, 0, 0, -1))
    today = time.mktime((2026, 11, 29, 23, 41, 0, 0, 0, -1))
    earlier = time.mktime((2026, 11, 8, 9, 5, 0, 0, 0, -1))
    zone = time.strftime("%Z", time.localtime(today))
    assert last_end.when_text(today, now) == f"at 23:41 {zone}"
    assert last_end.when_text(earlier, now) == (
        f"on 8 Nov 2026 at 09:05 {time.strftime('%Z', time.localtime(earlier))}"
    )


async def test_a_new_start_forgets_the_record_even_when_it_fails(tmp_path):
    spawner = ended_spawner(tmp_path, cmd=["jupyterhub-singleuser"])  # refused at once
    await last_end.note_end(spawner, JobStatus(JobState.CANCELLED))
    spawner.job_id = ""
    assert spawner.record.last_end
    with pytest.raises(SpawnException):
        await spawner.start()
    state = spawner.get_state()
    assert "last_end" not in state and state["last_failure"]["message"]
    assert await spawner.get_options_form() == ""


async def test_the_session_card_of_a_stopped_server_says_why_it_stopped(tmp_path):
    spawner = ended_spawner(tmp_path, log=f"{HOSTILE}\n")
    await last_end.note_end(spawner, JobStatus(JobState.CANCELLED))
    spawner.clear_state()
    card = await describe(spawner)
    assert card["state"] == "stopped"
    assert card["state_text"].startswith("Your last server stopped at ")
    assert "batch job 480 was cancelled" in card["state_text"]
    assert card["log_tail"] == HOSTILE and card["log_file"].endswith("job-480.log")


async def test_poll_records_a_killed_job_of_a_running_server_on_local(tmp_path):
    """The real path: a job on the local backend runs its server, is killed from outside
    (SIGKILL to its process group, as the OOM killer or a node failure would), and the
    spawner's poll, which JupyterHub and the status rounds call, records why."""
    script = "echo 'server up <b>bold</b>'; exec sleep 300"
    spawner = make_spawner(tmp_path, cmd=["bash", "-c", script], status_interval=0,
                           status_max_age=0.05)  # fmt: skip
    spawner.orm_spawner = None
    start = asyncio.ensure_future(spawner.start())
    for _ in range(100):
        if spawner.awaiting_port() and spawner.job_id:
            break
        await asyncio.sleep(0.05)
    async with fake_server(spawn_server("/user/root/", spawner)) as server:
        spawner.port_reported("127.0.0.1", server.port)
        await asyncio.wait_for(start, 10)
    job_id = spawner.job_id
    assert await spawner.poll() is None and spawner.record.last_end == {}
    os.killpg(int(job_id.split("-")[0]), signal.SIGKILL)
    for _ in range(100):
        if await spawner.poll() is not None:
            break
        await asyncio.sleep(0.1)
    assert spawner.record.last_end["job_id"] == job_id
    assert spawner.record.last_end["words"] == f"its batch job {job_id} failed."
    assert "server up <b>bold</b>" in spawner.record.last_end["log_tail"]
    await spawner.stop()


def test_the_words_for_each_way_a_job_ends():
    vanished = JobStatus.vanished()
    assert last_end.end_words("9", vanished) == (
        "its batch job 9 ended (the scheduler no longer lists it)."
    )  # once, not again as the scheduler's words
    said = JobStatus(JobState.FAILED, exit_code=2, reason="NodeFail")
    assert last_end.end_words("9", said) == (
        "its batch job 9 failed with exit code 2. Scheduler's words: NodeFail."
    )
    assert last_end.end_words("9", JobStatus(JobState.DONE)) == "its batch job 9 finished."
