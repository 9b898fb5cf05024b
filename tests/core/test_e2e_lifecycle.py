"""Lifecycle details through a real JupyterHub on the local backend: a start that a hub
restart interrupted (its job kept and adopted, replaced, or cancelled), renamed named
servers, pinned ports."""

from __future__ import annotations

import pytest
import requests
from harness.hub import running_hub
from harness.waiting import wait_for
from jobspawner.facade import hub_compat

from .test_e2e_failures import _gate
from .test_e2e_local import _group_alive

pytestmark = pytest.mark.e2e


def _browser(hub, name: str) -> requests.Session:
    """A session logged in to the hub's pages as ``name`` (the dummy authenticator)."""
    session = requests.Session()
    session.get(f"{hub.url}/hub/login", timeout=30).raise_for_status()
    form = {"username": name, "password": "x", "_xsrf": session.cookies.get("_xsrf", "")}
    r = session.post(f"{hub.url}/hub/login", data=form, timeout=30, allow_redirects=False)
    assert r.status_code == 302, (r.status_code, r.text[-500:])
    return session


def _gated(gate) -> str:
    return f'c.JobSpawner.prologue = "while [ ! -e {gate} ]; do sleep 0.2; done"'


def _interrupted(tmp_path, config: str, options: dict | None = None) -> str:
    """A start cut off by a hub crash while its job waits at the gate; its job id."""
    with running_hub(tmp_path, config=config) as hub:
        hub.begin_start("alice", options=options)
        hub.progress("alice", until=lambda e: "running" in e["message"], timeout=30)
        state = hub.spawner_state("alice")
        assert state.get("start_unfinished") is True and state.get("server_token"), state
        hub.crash()  # the start is still waiting for the gate
    job_id = str(state["job_id"])
    assert _group_alive(job_id)
    return job_id


def test_a_start_interrupted_by_a_hub_restart_keeps_its_job_and_the_next_start_adopts_it(
    tmp_path,
):
    gate = _gate(tmp_path)
    config = _gated(gate) + '\nc.JobSpawner.user_options_allowed = ["runtime"]'
    job_id = _interrupted(tmp_path, config, options={"runtime": "60m"})
    with running_hub(tmp_path, config=config) as hub:
        # the restarted hub ended the start but kept its job, in the queue
        assert _group_alive(job_id), "the restarted hub cancelled the kept job"
        server = hub.server_model("alice")
        assert not (server or {}).get("ready") and not (server or {}).get("pending")
        state = hub.spawner_state("alice")
        assert "job_id" not in state and state["queued_start"]["job_id"] == job_id, state
        # the user reads that the job keeps its place, where JupyterHub shows a failed start
        events = hub.progress("alice", timeout=10)
        message = events[-1]["message"]
        assert events[-1].get("failed") and f"job {job_id}" in message, events
        assert "keeps its place in the queue" in message, message
        page = _browser(hub, "alice").get(f"{hub.url}/user/alice/", timeout=30)
        assert "keeps its place in the queue" in page.text, page.text[-2000:]
        # her next start (the same options, written otherwise) adopts the job instead of
        # submitting one
        hub.begin_start("alice", options={"runtime": "1h"})
        events = hub.progress("alice", until=lambda e: "Resuming" in e["message"], timeout=30)
        assert f"job {job_id}" in events[-1]["message"], events
        gate.touch()  # the job's server starts now, with the token of the first start
        events = hub.progress("alice", timeout=60)
        assert events and not events[-1].get("failed"), events
        hub.wait_ready("alice", timeout=60)
        state = hub.spawner_state("alice")
        assert state["job_id"] == job_id, state
        for gone in ("start_unfinished", "server_token", "proof_key", "queued_start"):
            assert gone not in state, (gone, state)
        assert "Submitted as" not in hub.log_text(), "a second job was submitted"
        # the job's server talks to the hub with the token it was started with: it checks
        # the user's token through the hub's API, and a login through the hub's OAuth (whose
        # client secret is the server's token) reaches it
        assert hub.get_via_proxy("alice", "api/status").status_code == 200
        browser = _browser(hub, "alice")
        r = browser.get(f"{hub.url}/user/alice/lab", timeout=30)
        assert r.status_code == 200 and r.url.endswith("/user/alice/lab"), (r.url, r.text[-500:])
        assert any("/oauth_callback" in step.url for step in r.history), r.history
        hub.stop_server("alice")
        assert wait_for(lambda: not _group_alive(job_id), timeout=20)
    gate.unlink(missing_ok=True)


def test_a_kept_job_is_replaced_when_the_next_start_asks_for_other_options(tmp_path):
    gate = _gate(tmp_path)
    config = _gated(gate) + '\nc.JobSpawner.user_options_allowed = ["runtime"]'
    job_id = _interrupted(tmp_path, config, options={"runtime": "1h"})
    with running_hub(tmp_path, config=config) as hub:
        assert _group_alive(job_id)
        hub.progress("alice", timeout=10)  # the interrupted start's failure
        gate.touch()
        hub.begin_start("alice", options={"runtime": "2h"})
        events = hub.progress("alice", timeout=60)
        said = [e["message"] for e in events]
        assert any(f"job {job_id}" in m and "cancelled" in m for m in said), said
        assert not events[-1].get("failed"), events
        hub.wait_ready("alice", timeout=60)
        state = hub.spawner_state("alice")
        assert state["job_id"] != job_id and "queued_start" not in state, state
        assert not _group_alive(job_id), "the kept job was left running"
        assert "unconfirmed_cancels" not in state
        hub.stop_server("alice")
    gate.unlink(missing_ok=True)


def _server_tokens(hub) -> list[dict]:
    tokens = hub.api("GET", "/users/alice/tokens").json()["api_tokens"]
    return [t for t in tokens if (t.get("note") or "").startswith("Server at")]


def test_a_kept_job_that_ended_meanwhile_is_replaced_and_the_user_told_how(tmp_path):
    gate = _gate(tmp_path)
    config = _gated(gate) + "\nc.JobSpawner.status_interval = 1"
    job_id = _interrupted(tmp_path, config)
    with running_hub(tmp_path, config=config) as hub:
        hub.progress("alice", timeout=10)  # the interrupted start's failure
        assert _server_tokens(hub), "the kept job's token is gone"
        # the job's server starts before her next start: nobody waits for its port, the
        # hub refuses the report (no server holds that token now), and the job ends
        gate.touch()
        assert wait_for(lambda: not _group_alive(job_id), timeout=60)
        # the hub's rounds see it end: its server token is deleted at once
        assert wait_for(lambda: not _server_tokens(hub), timeout=30), _server_tokens(hub)
        hub.begin_start("alice")
        events = hub.progress("alice", timeout=60)
        said = [e["message"] for e in events]
        assert any(f"Job {job_id}, kept" in m and "ended" in m for m in said), said
        assert not events[-1].get("failed"), events
        hub.wait_ready("alice", timeout=60)
        assert hub.spawner_state("alice")["job_id"] != job_id
        hub.stop_server("alice")
    gate.unlink(missing_ok=True)


def test_a_kept_job_whose_server_token_was_revoked_is_not_adopted(tmp_path):
    gate = _gate(tmp_path)
    config = _gated(gate)
    job_id = _interrupted(tmp_path, config)
    with running_hub(tmp_path, config=config) as hub:
        hub.progress("alice", timeout=10)  # the interrupted start's failure
        # the kept server token is revoked meanwhile (as the user could, on the token page)
        kept = _server_tokens(hub)
        assert kept
        for token in kept:
            assert hub.api("DELETE", f"/users/alice/tokens/{token['id']}").status_code == 204
        hub.begin_start("alice")
        events = hub.progress("alice", until=lambda e: "cannot be resumed" in e["message"])
        assert f"Job {job_id}" in events[-1]["message"], events
        gate.touch()
        events = hub.progress("alice", timeout=60)
        assert not events[-1].get("failed"), events
        hub.wait_ready("alice", timeout=60)
        assert hub.spawner_state("alice")["job_id"] != job_id
        assert not _group_alive(job_id), "the kept job was left running"
        hub.stop_server("alice")
    gate.unlink(missing_ok=True)


def test_a_start_interrupted_by_a_hub_restart_is_cancelled_and_the_user_told_why(tmp_path):
    gate = _gate(tmp_path)
    config = _gated(gate) + "\nc.JobSpawner.keep_queued_on_restart = False"
    with running_hub(tmp_path, config=config) as hub:
        hub.begin_start("alice")
        hub.progress("alice", until=lambda e: "running" in e["message"], timeout=30)
        job_id = hub.spawner_state("alice")["job_id"]
        assert hub.spawner_state("alice").get("start_unfinished") is True
        assert "server_token" not in hub.spawner_state("alice")  # nothing kept to adopt
        hub.crash()  # the start is still waiting for the gate
    assert _group_alive(job_id)
    with running_hub(tmp_path, config=config) as hub:
        # the restarted hub ended the start while it checked its servers, before it listened
        assert not _group_alive(job_id), "the interrupted start's job was left queued"
        server = hub.server_model("alice")
        assert not (server or {}).get("ready") and not (server or {}).get("pending")
        assert "job_id" not in hub.spawner_state("alice")
        # the user reads why, where JupyterHub shows a failed start
        events = hub.progress("alice", timeout=10)
        assert events[-1].get("failed"), events
        message = events[-1]["message"]
        assert f"job {job_id}" in message and "JupyterHub restarted" in message, message
        assert "start your server again" in message, message
        page = _browser(hub, "alice").get(f"{hub.url}/user/alice/", timeout=30)
        assert "JupyterHub restarted" in page.text, page.text[-2000:]
        # opening the gate now starts nothing; a new start works
        gate.touch()
        # (JupyterHub 6 answers 201 to the start that follows a failed one: its API handler
        # looks at the failed spawner it replaced, so follow the progress stream instead)
        hub.begin_start("alice")
        events = hub.progress("alice", timeout=60)
        assert events and not events[-1].get("failed"), events
        hub.wait_ready("alice", timeout=60)
        assert hub.spawner_state("alice")["job_id"] != job_id
        assert "start_unfinished" not in hub.spawner_state("alice")
        assert hub.get_via_proxy("alice", "api/status").status_code == 200
        hub.stop_server("alice")
    gate.unlink(missing_ok=True)


def test_a_pinned_port_is_the_one_the_server_binds(tmp_path):
    from harness.hub import free_port

    port = free_port()
    with running_hub(tmp_path, config=f"c.Spawner.port = {port}") as hub:
        events = hub.start_server("alice")
        assert any(f"reported port {port}" in e["message"] for e in events), events
        # the server itself answers on the pinned port, and through the proxy
        direct = requests.get(f"http://127.0.0.1:{port}/user/alice/api", timeout=10)
        assert direct.status_code == 200 and "version" in direct.json()
        assert hub.get_via_proxy("alice", "api/status").status_code == 200
        hub.stop_server("alice")


@pytest.mark.skipif(not hub_compat.HAS_SERVER_PATCH, reason="JupyterHub 5 does not rename servers")
def test_renaming_a_named_server_keeps_its_job_and_the_next_job_takes_the_new_name(tmp_path):
    with running_hub(tmp_path) as hub:
        hub.start_server("alice", server_name="one")
        job_id = hub.spawner_state("alice", "one")["job_id"]
        # JupyterHub 6 renames only stopped servers: a running one keeps its name and job
        r = hub.api("PATCH", "/users/alice/servers/one", json={"name": "two"})
        assert r.status_code == 400 and "stop it" in r.text, r.text
        assert hub.spawner_state("alice", "one")["job_id"] == job_id and _group_alive(job_id)
        assert hub.get_via_proxy("alice", "api/status", server_name="one").status_code == 200
        hub.stop_server("alice", server_name="one")  # stop finds the same job
        assert wait_for(lambda: not _group_alive(job_id), timeout=20)
        # stopped: renamed, and the renamed server's next job carries the new name
        r = hub.api("PATCH", "/users/alice/servers/one", json={"name": "two"})
        assert r.status_code in (200, 204), r.text
        servers = hub.user_model("alice")["servers"]
        assert "two" in servers and "one" not in servers, servers
        hub.start_server("alice", server_name="two")
        state = hub.spawner_state("alice", "two")
        assert state["job_id"] != job_id and "jupyter-alice-two." in state["job_output"]
        assert hub.get_via_proxy("alice", "api/status", server_name="two").status_code == 200
        hub.stop_server("alice", server_name="two")
        assert wait_for(lambda: not _group_alive(state["job_id"]), timeout=20)


def test_internal_ssl_servers_get_their_certificates_and_answer_over_https(tmp_path):
    import pwd
    import stat
    from pathlib import Path

    proxy = "c.ConfigurableHTTPProxy.api_url"
    config = (
        "c.JupyterHub.internal_ssl = True\n"  # the proxy's API is https then too
        f'{proxy} = {proxy}.replace("http:", "https:")\n'
    )
    with running_hub(tmp_path, config=config) as hub:
        hub.start_server("alice")
        folder = Path(pwd.getpwnam("alice").pw_dir) / ".jobspawner" / "certs" / "default"
        uid = pwd.getpwnam("alice").pw_uid
        assert folder.stat().st_uid == uid and stat.S_IMODE(folder.stat().st_mode) == 0o700
        for name in ("server.key", "server.crt", "ca.crt"):
            info = (folder / name).stat()
            assert info.st_uid == uid and stat.S_IMODE(info.st_mode) == 0o600, name
        assert "BEGIN CERTIFICATE" in (folder / "server.crt").read_text()
        # the hub reached the server over https (its check used the internal CA)
        assert "checking 127.0.0.1" in hub.log_text()
        assert "Adding route /user/alice -> https://127.0.0.1:" in hub.log_text()
        r = hub.get_via_proxy("alice", "api/status")
        assert r.status_code == 200, r.text
        hub.stop_server("alice")
        assert not folder.exists(), "the certificates outlived the server"


def test_servers_on_one_node_take_the_free_ports_of_the_range(tmp_path):
    import socket

    first = None
    for candidate in range(43000, 60000, 7):  # two consecutive ports free now
        with socket.socket() as a, socket.socket() as b:
            try:
                a.bind(("0.0.0.0", candidate))
                b.bind(("0.0.0.0", candidate + 1))
            except OSError:
                continue
        first = candidate
        break
    assert first is not None
    config = f'c.JobSpawner.port_range = "{first}-{first + 1}"'
    with running_hub(tmp_path, config=config) as hub:
        reported = set()
        for user in ("alice", "bob"):
            events = hub.start_server(user)
            ports = [
                p for p in (first, first + 1) if any(f"port {p};" in e["message"] for e in events)
            ]
            assert len(ports) == 1, events
            reported.add(ports[0])
            assert hub.get_via_proxy(user, "api/status").status_code == 200
        assert reported == {first, first + 1}
        for user in ("alice", "bob"):
            hub.stop_server(user)
