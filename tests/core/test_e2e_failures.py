"""End-to-end failure paths and the port handshake's security, on the local backend."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import requests
from harness.hub import running_hub
from harness.scenarios import expect_fast_failure, failing_prologue
from harness.waiting import wait_for

from .test_e2e_local import _group_alive

pytestmark = pytest.mark.e2e


def test_failing_job_fails_the_spawn_fast_with_its_log_tail(tmp_path):
    marker = "python3: No module named jupyterhub"
    with running_hub(tmp_path, config=failing_prologue(marker)) as hub:
        expect_fast_failure(hub, "alice", marker, within=10)


def test_start_timeout_cancels_the_job(tmp_path):
    config = 'c.JobSpawner.prologue = "sleep 600"\nc.JobSpawner.start_timeout = 4'
    with running_hub(tmp_path, config=config) as hub:
        hub.begin_start("alice")
        job_id = wait_for(lambda: hub.spawner_state("alice").get("job_id"), timeout=10)
        assert job_id and _group_alive(job_id)
        events = hub.progress("alice", timeout=60)
        assert events[-1].get("failed"), events
        assert "did not start its notebook server within 4 seconds" in events[-1]["message"]
        assert "the job was cancelled" in events[-1]["message"]
        assert wait_for(lambda: not _group_alive(job_id), timeout=20), "job left behind"
        assert hub.spawner_state("alice").get("job_id") is None


def test_cancelling_a_pending_spawn_cancels_the_job(tmp_path):
    with running_hub(tmp_path, config='c.JobSpawner.prologue = "sleep 600"') as hub:
        hub.begin_start("alice")
        events = hub.progress("alice", until=lambda e: "running" in e["message"], timeout=30)
        job_id = hub.spawner_state("alice")["job_id"]
        assert _group_alive(job_id), events
        hub.stop_server("alice")
        assert wait_for(lambda: not _group_alive(job_id), timeout=20), "job left behind"


def _gate(tmp_path: Path) -> Path:
    """A file path the job (running as alice) can see; the job waits until it exists."""
    folder = Path("/tmp/jobspawner-test-gates")
    folder.mkdir(exist_ok=True)
    os.chmod(folder, 0o755)
    gate = folder / f"{tmp_path.name}-{os.getpid()}"
    gate.unlink(missing_ok=True)
    return gate


def _server_token(secrets_file: str) -> str:
    """The server's token, from the job's private secrets file (alice's; read as root)."""
    secrets = json.loads(Path(secrets_file).read_text())
    return str(secrets["JUPYTERHUB_API_TOKEN"])


def test_port_report_accepts_only_the_servers_own_token_while_pending(tmp_path):
    gate = _gate(tmp_path)
    config = f'c.JobSpawner.prologue = "while [ ! -e {gate} ]; do sleep 0.2; done"'
    with running_hub(tmp_path, config=config) as hub:
        url = f"{hub.url}/hub/api/jobspawner/port"
        hub.begin_start("alice")
        hub.progress("alice", until=lambda e: "running" in e["message"], timeout=30)
        server_token = _server_token(hub.spawner_state("alice")["job_secrets"])
        body = {"host": "127.0.0.1", "port": 1}

        def post(path, token, json=body):
            return requests.post(
                f"{url}/{path}", json=json, headers={"Authorization": f"token {token}"}, timeout=10
            )

        # another user's token, the user's own (non-server) token, the admin's: refused
        assert post("alice", hub.user_token("bob")).status_code == 403
        assert post("alice", hub.user_token("alice")).status_code == 403
        assert post("alice", hub.token).status_code == 403
        assert post("alice", "").status_code == 403
        # the server's token for another user's server: refused
        assert post("bob", server_token).status_code == 403
        assert post("alice/other", server_token).status_code == 403
        # the right token, but not a typed host/port: refused, nothing set
        assert post("alice", server_token, {"host": "x", "port": "80"}).status_code == 400
        assert post("alice", server_token, {**body, "cmd": ["evil"]}).status_code == 400
        assert post("alice", server_token, {"host": "a b", "port": 80}).status_code == 400
        assert post("alice", server_token, {"host": "h", "port": 70000}).status_code == 400
        # the server token cannot drive the hub's own API either
        r = requests.patch(
            f"{hub.url}/hub/api/users/alice",
            json={"admin": True},
            headers={"Authorization": f"token {server_token}"},
            timeout=10,
        )
        assert r.status_code == 403
        # let the real server report; it starts, and is reachable
        gate.touch()
        hub.progress("alice", timeout=60)
        hub.wait_ready("alice")
        assert hub.get_via_proxy("alice", "api/status").status_code == 200
        # no longer pending: even the right token is refused now
        assert post("alice", server_token).status_code == 409
        hub.stop_server("alice")


def test_named_servers_have_their_own_jobs(tmp_path):
    with running_hub(tmp_path) as hub:
        hub.start_server("alice", server_name="gpu-1")
        hub.start_server("alice")
        named = hub.spawner_state("alice", "gpu-1")
        default = hub.spawner_state("alice")
        assert named["job_id"] != default["job_id"]
        assert "jupyter-alice-gpu-1" in named["job_output"]
        assert os.path.basename(default["job_output"]).startswith("jupyter-alice.")
        assert hub.get_via_proxy("alice", "api/status", server_name="gpu-1").status_code == 200
        hub.stop_server("alice", server_name="gpu-1")
        assert not _group_alive(named["job_id"])
        assert _group_alive(default["job_id"])
        hub.stop_server("alice")


def test_job_id_survives_a_hub_crash_and_the_job_is_not_orphaned(tmp_path):
    gate = _gate(tmp_path)
    # the restarted hub cancels the cut-off start's job (by default it keeps it for the
    # user's next start: tests/core/test_e2e_lifecycle.py)
    config = (
        f'c.JobSpawner.prologue = "while [ ! -e {gate} ]; do sleep 0.2; done"\n'
        "c.JobSpawner.keep_queued_on_restart = False"
    )
    with running_hub(tmp_path, config=config) as hub:
        hub.begin_start("alice")
        hub.progress("alice", until=lambda e: "running" in e["message"], timeout=30)
        job_id = hub.spawner_state("alice")["job_id"]
        hub.crash()  # SIGKILL: start() never returned, JupyterHub itself saved nothing
    assert _group_alive(job_id)
    with running_hub(tmp_path, config=config) as hub:
        # the restarted hub finds the job in its database, sees it is not a working server,
        # and cleans it up (or the admin's stop does)
        if hub.server_model("alice") and (hub.server_model("alice") or {}).get("ready"):
            hub.stop_server("alice")
        assert wait_for(lambda: not _group_alive(job_id), timeout=90), "job orphaned"


def test_a_restarted_hub_reconnects_to_a_running_server(tmp_path):
    """Hub dies (SIGKILL) while alice's server runs; the restarted hub reuses the same job."""
    with running_hub(tmp_path) as hub:
        hub.start_server("alice")
        job_id = hub.spawner_state("alice")["job_id"]
        hub.crash()
    assert _group_alive(job_id)
    with running_hub(tmp_path) as hub:
        hub.wait_ready("alice", timeout=60)
        assert hub.spawner_state("alice")["job_id"] == job_id  # the same job, not a new one
        r = hub.get_via_proxy("alice", "api/status")
        assert r.status_code == 200, r.text
        hub.stop_server("alice")
        assert wait_for(lambda: not _group_alive(job_id), timeout=20)
