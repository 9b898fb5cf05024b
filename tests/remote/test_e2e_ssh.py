"""End to end through a real JupyterHub whose scheduler commands all run over SSH.

The hub runs as root with no exec prefix: the only way a job can run as alice is the SSH
login as alice (her key) on the test sshd. Also: a login node that is down fails a spawn
with a message naming host and cause, and ``ssh_forward_port`` routes the proxy through a
forward that a hub restart reopens."""

from __future__ import annotations

import os
import signal
import socket
import time
from pathlib import Path

import pytest
from harness.hub import SpawnFailed, running_hub
from remote.sshd import SSHServer
from remote.sshkit import hub_config as ssh_config

pytestmark = [pytest.mark.e2e, pytest.mark.root, pytest.mark.timeout(300)]


def accepted(sshd: SSHServer, user: str) -> int:
    return sshd.log_text().count(f"Accepted publickey for {user}")


def test_spawn_status_stop_over_ssh(tmp_path: Path, sshd: SSHServer) -> None:
    with running_hub(tmp_path, backend="local", config=ssh_config(sshd)) as hub:
        events = hub.start_server("alice")
        assert any("Submitted as local job" in e["message"] for e in events), events
        r = hub.get_via_proxy("alice", "api/status")
        assert r.status_code == 200, r.text
        state = hub.spawner_state("alice")
        assert state["job_id"]
        # one connection for alice: submit, prepare, status rounds and the log all shared it
        assert accepted(sshd, "alice") == 1, sshd.log_text()[-2000:]
        hub.stop_server("alice")
        assert hub.server_model("alice") is None or not hub.server_model("alice").get("ready")


def test_a_login_node_that_is_down_fails_the_spawn_clearly(tmp_path: Path, sshd: SSHServer) -> None:
    with running_hub(tmp_path, backend="local", config=ssh_config(sshd)) as hub:
        sshd.stop()
        with pytest.raises(SpawnFailed) as failed:
            hub.start_server("bob", timeout=60)
        assert "Submitting the job failed" in failed.value.message
        assert f"bob@127.0.0.1:{sshd.port}: unreachable" in failed.value.message
        assert hub.server_model("bob") is None or not hub.server_model("bob").get("ready")


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_the_proxy_goes_through_a_port_forward_that_survives_a_hub_restart(
    tmp_path: Path, sshd: SSHServer
) -> None:
    config = ssh_config(sshd, "c.JobSpawner.ssh_forward_port = True")
    with running_hub(tmp_path, backend="local", config=config) as hub:
        hub.start_server("alice")
        state = hub.spawner_state("alice")
        dest_host, dest_port, local_port = state["ssh_forward"]
        assert dest_host == "127.0.0.1"  # the local backend's host, policy-checked
        assert local_port != dest_port and _listening(local_port)
        assert hub.get_via_proxy("alice", "api/status").status_code == 200
        hub.crash()  # the forward dies with the hub process
    assert not _listening(local_port)
    with running_hub(tmp_path, backend="local", config=config) as hub:
        deadline = time.monotonic() + 30  # the first poll reopens it on the same port
        while not _listening(local_port):
            assert time.monotonic() < deadline, hub.log_text()[-3000:]
            time.sleep(0.3)
        assert hub.get_via_proxy("alice", "api/status").status_code == 200
        hub.stop_server("alice")
        assert not _listening(local_port)


def test_a_spawn_works_again_once_the_login_node_is_back(tmp_path: Path, sshd: SSHServer) -> None:
    with running_hub(tmp_path, backend="local", config=ssh_config(sshd)) as hub:
        sshd.stop()
        with pytest.raises(SpawnFailed, match="unreachable"):
            hub.start_server("bob", timeout=60)
        sshd.start()
        time.sleep(1.5)  # ssh_reconnect_max_delay: the next command connects again
        events = hub.start_server("bob", timeout=90)
        assert any("Submitted as local job" in e["message"] for e in events), events
        r = hub.get_via_proxy("bob", "api/status")
        assert r.status_code == 200, (r.status_code, r.text[:500])
        assert accepted(sshd, "bob") == 1  # one new connection, after the failed ones
        hub.stop_server("bob")


def test_a_server_killed_behind_a_forward_is_noticed_and_its_forward_closed(
    tmp_path: Path, sshd: SSHServer
) -> None:
    """The server watch through an SSH forward: the hub's end of the forward stays open when
    the server dies, so the watch sees connections close at once and hints the job's end;
    with the rounds 600 s away, only the watch can notice. JupyterHub does not call stop()
    for a server whose job ended, so the spawner closes the forward itself."""
    quiet = "c.JobSpawner.status_interval = 600\nc.JobSpawner.poll_interval = 3600"
    config = ssh_config(sshd, "c.JobSpawner.ssh_forward_port = True\n" + quiet)
    with running_hub(tmp_path, backend="local", config=config) as hub:
        hub.start_server("alice")
        state = hub.spawner_state("alice")
        local_port = state["ssh_forward"][2]
        assert _listening(local_port)
        time.sleep(2)  # past the start's hurried rounds
        os.killpg(int(state["job_id"].split("-")[0]), signal.SIGKILL)
        deadline = time.monotonic() + 60
        while (hub.server_model("alice") or {}).get("ready"):
            assert time.monotonic() < deadline, hub.log_text()[-3000:]
            time.sleep(0.3)
        assert f"its batch job {state['job_id']}" in hub.log_text()
        deadline = time.monotonic() + 10
        while _listening(local_port):
            assert time.monotonic() < deadline, "the forward outlived its server's job"
            time.sleep(0.3)
