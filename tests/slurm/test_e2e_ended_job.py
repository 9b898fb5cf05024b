"""End to end: a running server's job that ends behind the hub's back, on real Slurm.

JupyterHub's own poll runs every ``poll_interval`` (300 s here, the product's default, set
explicitly), so a hub that notices the end within a minute did it by the product's own
mechanisms: the server's "ending" report on SIGTERM (``end_report``) and the shared status
rounds every ``status_interval`` (``status_rounds``). How fast is a benchmark's question
(``./run bench hub notice``); these tests prove that it happens and what the admin reads.
"""

from __future__ import annotations

import subprocess
import time

import pytest
from forms.test_e2e_options import login
from harness.hub import Hub, running_hub
from slurm.helpers import sigkill_job

pytestmark = [pytest.mark.e2e, pytest.mark.scheduler("slurm"), pytest.mark.root]

POLL_INTERVAL = 300
CONFIG = f"c.JobSpawner.poll_interval = {POLL_INTERVAL}\n"


def server_up(hub: Hub, user: str) -> bool:
    server = hub.server_model(user)
    return bool(server and (server.get("ready") or server.get("pending")))


def seconds_until_stopped(hub: Hub, user: str, timeout: float) -> float:
    began = time.monotonic()
    while server_up(hub, user):
        assert time.monotonic() - began < timeout, f"the server still shows after {timeout}s"
        time.sleep(0.2)
    return time.monotonic() - began


def ended_log_line(hub: Hub, job_id: str) -> str:
    lines = [
        line
        for line in hub.log_text().splitlines()
        if f"Your server stopped: its batch job {job_id}" in line
    ]
    assert lines, f"the hub logged no reason for job {job_id}'s end:\n{hub.log_text()[-3000:]}"
    return lines[-1]


def test_admin_scancel_is_noticed_long_before_jupyterhub_polls(tmp_path, clean_queue):
    with running_hub(tmp_path, backend="slurm", config=CONFIG) as hub:
        hub.start_server("alice", timeout=90)
        job_id = hub.spawner_state("alice")["job_id"]
        time.sleep(3)  # past the start's hurried rounds: only the running-server paths remain
        subprocess.run(["scancel", job_id], check=True)
        seconds_until_stopped(hub, "alice", timeout=POLL_INTERVAL / 5)
        line = ended_log_line(hub, job_id)
        assert f"its batch job {job_id} was cancelled (by an administrator" in line, line
        # the server is really gone: JupyterHub removed its route and forgot the job
        assert not hub.spawner_state("alice").get("job_id")
        assert hub.get_via_proxy("alice", "api/status").status_code != 200
        # and the user is told, on the spawn page she opens next (jobspawner.lifecycle.last_end)
        record = hub.spawner_state("alice")["last_end"]
        assert record["job_id"] == job_id and "was cancelled (by an admin" in record["words"]
        page = login(hub, "alice").get(
            f"{hub.url}/hub/spawn/alice", allow_redirects=False, timeout=60
        )
        assert page.status_code == 200, page.headers.get("Location")
        assert "Your last server stopped at " in page.text
        assert f"its batch job {job_id} was cancelled (by an administrator" in page.text


def test_job_killed_without_a_word_is_noticed_at_a_status_round(tmp_path, clean_queue):
    """SIGKILL to every process of the job at once (the OOM killer, a crash): the server
    cannot report anything; the next shared status round (every 15 s) sees the job gone.
    (``scancel -s KILL --full`` would not do: slurmd then sends SIGTERM to what is left.)"""
    with running_hub(tmp_path, backend="slurm", config=CONFIG) as hub:
        hub.start_server("alice", timeout=90)
        job_id = hub.spawner_state("alice")["job_id"]
        time.sleep(3)
        sigkill_job(job_id)
        seconds_until_stopped(hub, "alice", timeout=POLL_INTERVAL / 5)
        ended_log_line(hub, job_id)
        assert "/jobspawner/ending/alice" not in hub.log_text(), "a killed server reported"
        assert not hub.spawner_state("alice").get("job_id")
