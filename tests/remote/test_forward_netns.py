"""The proxy reaches a job the hub cannot reach, only through the SSH port forward (slow, e2e).

The "cluster" is a network namespace (remote/netns.py): the login node's sshd runs in it
(``ip netns exec``) and listens on the namespace's veth address, the only thing of the
namespace the hub's side can reach. The local backend's commands run over that SSH
connection, so the job (a detached process group the SSH session started) lives in the
namespace too: no prologue or exec prefix is needed to put it there. The job's server binds
the namespace's loopback (``c.Spawner.ip = "127.0.0.1"``), as a compute node's server on a
cluster-private network: the scheduler's host for it is ``127.0.0.1``, which on the hub's
side is the hub's own loopback, where nothing listens on that port; the namespace's veth
address does not answer there either. The job reaches the hub's API (its port report) at
the veth address of the hub's side (``hub_ip``), as compute nodes reach
``hub_connect_url``. Everything stays on this machine (a private /30 on one veth pair).
"""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest
import requests
from harness.hub import running_hub
from remote.netns import NetNamespace
from remote.sshd import SSHServer
from remote.sshkit import hub_config

pytestmark = [pytest.mark.e2e, pytest.mark.root, pytest.mark.timeout(300)]


def _answers(host: str, port: int) -> bool:
    """Whether a TCP connection from the hub's side to host:port is accepted."""
    with socket.socket() as s:
        s.settimeout(2)
        return s.connect_ex((host, port)) == 0


def _answers_in(ns: NetNamespace, host: str, port: int) -> bool:
    """Whether a TCP connection from inside the namespace to host:port is accepted."""
    probe = f"import socket; socket.create_connection(({host!r}, {port}), timeout=2).close()"
    return ns.run(["python3", "-c", probe], timeout=20).returncode == 0


def _jupyter_at(url: str) -> bool:
    """Whether a Jupyter server answers at ``url`` (any HTTP answer with its header)."""
    try:
        r = requests.get(url, timeout=3, allow_redirects=False)
    except requests.RequestException:
        return False
    return "jupyter" in r.headers.get("Server", "").lower() or r.status_code in (200, 302, 403)


def _wait_for(condition: object, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, what
        time.sleep(0.3)


def test_the_proxy_reaches_an_unreachable_node_only_through_the_forward(
    tmp_path: Path, netns_sshd: tuple[NetNamespace, SSHServer]
) -> None:
    ns, sshd = netns_sshd
    config = hub_config(
        sshd,
        f"""
c.JobSpawner.ssh_forward_port = True
c.JupyterHub.hub_ip = {ns.outer!r}
c.Spawner.ip = "127.0.0.1"
""",
    )
    with running_hub(tmp_path, backend="local", config=config) as hub:
        hub.start_server("alice")
        dest_host, dest_port, local_port = hub.spawner_state("alice")["ssh_forward"]
        assert dest_host == "127.0.0.1"
        # the job's server is there, inside the namespace ...
        assert _answers_in(ns, dest_host, dest_port), "the job does not listen in the namespace"
        # ... and the hub's side cannot reach it: not at the scheduler's host, not at the
        # namespace's address; only the forward's local end answers
        assert not _jupyter_at(f"http://{dest_host}:{dest_port}/user/alice/api/status")
        assert not _answers(ns.inner, dest_port)
        assert _answers("127.0.0.1", local_port)
        r = hub.get_via_proxy("alice", "api/status")
        assert r.status_code == 200, r.text
        assert "last_activity" in r.json()
        hub.crash()  # the forward dies with the hub process; the job lives on in there
    assert not _answers("127.0.0.1", local_port)
    assert _answers_in(ns, dest_host, dest_port)
    with running_hub(tmp_path, backend="local", config=config) as hub:
        # the restarted hub reopens the forward from the state, at its first poll
        _wait_for(lambda: _answers("127.0.0.1", local_port), "the forward was not reopened")
        r = hub.get_via_proxy("alice", "api/status")
        assert r.status_code == 200, r.text
        hub.stop_server("alice")
        assert not _answers("127.0.0.1", local_port)  # stop closed the forward
        _wait_for(lambda: not _answers_in(ns, dest_host, dest_port), "the job still listens", 30)
