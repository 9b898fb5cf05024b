"""Through a real hub (local backend): the walltime endpoint takes only the server's own token
and a bounded report, and the job's server learns its end from the hub
(jobspawner.lifecycle.walltime,
jobspawner.jobside.walltime_server). The browser side runs on real Slurm (tests/slurm)."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
import requests
from harness.hub import running_hub
from harness.waiting import wait_for

from core.test_e2e_failures import _gate, _server_token

pytestmark = pytest.mark.e2e


def test_the_server_learns_its_end_from_the_hub_with_its_own_token_only(tmp_path):
    gate = _gate(tmp_path)
    config = (
        'c.JobSpawner.req_runtime = "1h"\nc.JobSpawner.status_interval = 2\n'
        f'c.JobSpawner.prologue = "while [ ! -e {gate} ]; do sleep 0.2; done"\n'
    )
    with running_hub(tmp_path, config=config) as hub:
        url = f"{hub.url}/hub/api/jobspawner/walltime"
        hub.begin_start("alice")
        hub.progress("alice", until=lambda e: "running" in e["message"], timeout=30)
        server_token = _server_token(hub.spawner_state("alice")["job_secrets"])

        def call(method, path, token, data=None):
            return requests.request(
                method, f"{url}/{path}", data=data, timeout=10,
                headers={"Authorization": f"token {token}"},
            )  # fmt: skip

        # another user's token, the user's own, the admin's, none, another server: refused
        for token in (hub.user_token("bob"), hub.user_token("alice"), hub.token, ""):
            assert call("GET", "alice", token).status_code == 403
            assert call("POST", "alice", token, b'{"saved": ["x"]}').status_code == 403
        assert call("GET", "bob", server_token).status_code == 403
        assert call("GET", "alice/other", server_token).status_code == 403
        told = call("GET", "alice", server_token).json()
        assert (told["runtime"], told["warnings"], told["save_before"]) == (3600, [900, 120], 60)
        # a report is read up to 16 KiB (tornado refuses a longer one before reading it) and
        # must be the documented JSON
        big = b'{"saved": ["' + b"a" * 20_000 + b'"]}'
        assert call("POST", "alice", server_token, big).status_code == 400
        assert call("POST", "alice", server_token, b'{"saved": "a"}').status_code == 400
        assert "walltime_saved" not in hub.spawner_state("alice")

        gate.touch()
        hub.progress("alice", timeout=60)
        hub.wait_ready("alice")
        started = time.time()
        # the job's server asked the hub: its end is the requested hour from its start
        lab = wait_for(lambda: _told(hub), 20)
        assert lab["source"] == "requested" and lab["save"] == 0, lab
        assert abs(lab["end"] - (started + 3600)) < 30, lab
        # what JupyterLab saved reaches the hub (kept for the notice after the end)
        r = requests.post(
            f"{hub.url}/user/alice/api/jobspawner/walltime",
            json={"saved": ["a.ipynb"], "failed": []},
            headers={"Authorization": f"token {hub.user_token('alice')}"},
            timeout=10,
        )
        assert r.status_code == 204, r.text
        state = hub.spawner_state("alice")
        assert state["walltime_saved"]["saved"] == ["a.ipynb"], state
        # the routine questions (every few seconds) fill neither log at info level
        job_log = Path(state["job_output"]).read_text()
        assert not re.search(r"200 GET /user/alice/api/jobspawner/walltime", job_log), job_log
        assert not re.search(r"200 GET /hub/api/jobspawner/walltime", hub.log_text())
        hub.stop_server("alice")


def _told(hub) -> dict | None:
    """What the server tells JupyterLab, once it knows an end."""
    r = hub.get_via_proxy("alice", "api/jobspawner/walltime")
    data = r.json() if r.status_code == 200 else {}
    return data if data.get("end") else None
