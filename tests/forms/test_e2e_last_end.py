"""End to end on the local backend: the user is told why her server stopped.

Her running server's job is killed from outside the hub (SIGKILL to the job's process
group, as the OOM killer, a node failure or an admin's ``kill`` would do). The hub notices
it (the shared status rounds), and her next visit to the spawn page tells her why, with the
job's log escaped; the notice outlives a hub restart and is gone once she starts again.
"""

from __future__ import annotations

import os
import signal
import time

import pytest
from harness.hub import Hub, running_hub
from harness.waiting import wait_for

from forms.test_e2e_options import login, sessions

pytestmark = pytest.mark.e2e

HOSTILE = "<script>alert(1)</script>"
CONFIG = f"""
c.JobSpawner.status_interval = 2
c.JobSpawner.prologue = "echo '{HOSTILE} from the job'"
"""


def stopped(hub: Hub, user: str) -> bool:
    server = hub.server_model(user)
    return not (server and (server.get("ready") or server.get("pending")))


def spawn_page(hub: Hub, session, user: str):
    return session.get(f"{hub.url}/hub/spawn/{user}", allow_redirects=False, timeout=60)


def assert_notice(text: str, job_id: str) -> None:
    assert "Your last server stopped at " in text, text[-3000:]
    assert f"its batch job {job_id} failed." in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; from the job" in text
    assert HOSTILE not in text  # the job's log line is inert


def test_a_killed_job_is_explained_on_the_spawn_page_until_the_next_start(tmp_path):
    with running_hub(tmp_path, config=CONFIG) as hub:
        hub.start_server("alice")
        job_id = hub.spawner_state("alice")["job_id"]
        os.killpg(int(job_id.split("-")[0]), signal.SIGKILL)
        began = time.monotonic()
        assert wait_for(lambda: stopped(hub, "alice"), timeout=60), "the hub did not notice"
        print(f"noticed in {time.monotonic() - began:.1f} s (status_interval 2 s)")
        assert hub.spawner_state("alice")["last_end"]["job_id"] == job_id
        # the site has no form: the spawn page shows the notice instead of starting at once
        page = spawn_page(hub, login(hub, "alice"), "alice")
        assert page.status_code == 200, (page.status_code, page.headers.get("Location"))
        assert_notice(page.text, job_id)
        assert "Press <strong>Start</strong>" in page.text
        card = sessions(hub, "alice")[0]
        assert card["state"] == "stopped" and f"batch job {job_id} failed" in card["state_text"]
    # a restarted hub still tells her
    with running_hub(tmp_path, config=CONFIG) as hub:
        session = login(hub, "alice")
        page = spawn_page(hub, session, "alice")
        assert page.status_code == 200
        assert_notice(page.text, job_id)
        # she presses Start: the notice's form starts a new server and the notice is gone
        form = {"_xsrf": session.cookies.get("_xsrf", "")}
        r = session.post(f"{hub.url}/hub/spawn/alice", data=form, allow_redirects=False,
                         timeout=60)  # fmt: skip
        assert r.status_code == 302 and "spawn-pending" in r.headers["Location"], r.text[:2000]
        hub.wait_ready("alice")
        assert "last_end" not in hub.spawner_state("alice")
        # a stop asked through the hub is expected: nothing to tell
        hub.stop_server("alice")
        assert "last_end" not in hub.spawner_state("alice")
        # without a record, the spawn page starts at once, as it did before
        r = spawn_page(hub, session, "alice")
        assert r.status_code == 302 and "spawn-pending" in r.headers["Location"], r.text[:2000]
        hub.wait_ready("alice")
        hub.stop_server("alice")


def test_a_job_that_ended_while_the_hub_was_down_is_explained_after_its_restart(tmp_path):
    with running_hub(tmp_path, config=CONFIG) as hub:
        hub.start_server("alice")
        job_id = hub.spawner_state("alice")["job_id"]
        hub.crash()  # the job runs on without its hub
    os.killpg(int(job_id.split("-")[0]), signal.SIGKILL)
    with running_hub(tmp_path, config=CONFIG) as hub:
        assert wait_for(lambda: stopped(hub, "alice"), timeout=60)
        assert hub.spawner_state("alice")["last_end"]["job_id"] == job_id
        page = spawn_page(hub, login(hub, "alice"), "alice")
        assert page.status_code == 200
        assert_notice(page.text, job_id)
