"""End to end (real hub, proxy, local backend): the job chooses its port, never its host,
and the hub routes only to this server's own Jupyter server.

The attacker is the user herself: her job can read the server's token and POST a port report
of its own while the spawn waits (a ``prologue`` plays that part here).
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from harness.hub import Hub, SpawnFailed, running_hub
from harness.scenarios import expect_fast_failure

pytestmark = pytest.mark.e2e

GATES = Path("/tmp/jobspawner-test-gates")

#: Run in alice's job: POST the report named in argv[1] (a JSON file {"host", "port"}; port
#: "hub_api" means the hub API's own port) with the server's token, wherever the job has it.
FORGE = r"""
import json, os, sys, urllib.error, urllib.parse, urllib.request
token = os.environ.get("JUPYTERHUB_API_TOKEN")
if not token:  # the token in a private JSON file instead of the environment
    with open(os.environ["JOBSPAWNER_SECRETS_FILE"]) as f:
        token = json.load(f)["JUPYTERHUB_API_TOKEN"]
api = os.environ["JUPYTERHUB_API_URL"].rstrip("/")
with open(sys.argv[1]) as f:
    target = json.load(f)
if target["port"] == "hub_api":
    target["port"] = urllib.parse.urlsplit(api).port
request = urllib.request.Request(
    api + "/jobspawner/port/" + os.environ["JUPYTERHUB_USER"],
    data=json.dumps(target).encode(),
    method="POST",
    headers={"Authorization": "token " + token, "Content-Type": "application/json"},
)
try:
    with urllib.request.urlopen(request, timeout=10) as r:
        code = r.status
except urllib.error.HTTPError as e:
    code = e.code
print("forged port report", json.dumps(target), "->", code, file=sys.stderr, flush=True)
"""


def _forgery(tmp_path: Path, then: str) -> tuple[str, Path]:
    """Hub config whose jobs for alice send a forged report (aimed by the returned file),
    then run ``then``; other users' jobs run normally."""
    GATES.mkdir(exist_ok=True)
    os.chmod(GATES, 0o755)
    stem = GATES / f"{tmp_path.name}-{os.getpid()}"
    script, target = stem.with_suffix(".forge.py"), stem.with_suffix(".target.json")
    script.write_text(FORGE)
    os.chmod(script, 0o644)
    target.unlink(missing_ok=True)
    prologue = (
        f'if [ "$JUPYTERHUB_USER" = alice ]; then /usr/bin/python3 -I {script} {target}; {then}; fi'
    )
    return f"c.JobSpawner.prologue = {prologue!r}\n", target


def _aim(target: Path, host: str, port: int | str) -> None:
    target.write_text(json.dumps({"host": host, "port": port}))
    os.chmod(target, 0o644)


def _hub_api_port(tmp_path: Path) -> int:
    return int(json.loads((tmp_path / "hub" / "ports.json").read_text())[1])


def _routes(hub: Hub) -> dict[str, str]:
    r = hub.api("GET", "/proxy")
    r.raise_for_status()
    return {path: route.get("target", "") for path, route in r.json().items()}


@contextmanager
def _route_targets(hub: Hub, path: str) -> Iterator[list[str]]:
    """Every target the proxy had for ``path`` while the block ran (sampled every 0.1 s)."""
    seen: list[str] = []
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            target = _routes(hub).get(path)
            if target and target not in seen:
                seen.append(target)
            done.wait(0.1)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield seen
    finally:
        done.set()
        thread.join()
        target = _routes(hub).get(path)
        if target and target not in seen:
            seen.append(target)


def _forged_spawn_fails(hub: Hub, host: str, port: int) -> str:
    """alice's spawn, whose job reported ``host:port``, fails fast and clearly, and the
    proxy never routed her there. Returns the failure message."""
    started = time.monotonic()
    with _route_targets(hub, "/user/alice/") as seen, pytest.raises(SpawnFailed) as failed:
        hub.start_server("alice", timeout=90)
    elapsed = time.monotonic() - started
    assert not any(urlsplit(t).port == port for t in seen), seen
    message = failed.value.message
    assert f"{host}:{port}" in message, message
    assert "No Jupyter server for /user/alice/ answered" in message, message
    assert elapsed < 30, f"the spawn took {elapsed:.1f}s to fail"
    assert not hub.spawner_state("alice").get("job_id")
    return message


def test_a_forged_report_cannot_route_alice_to_the_hub_api(tmp_path):
    config, target = _forgery(tmp_path, then="sleep 600")
    config += "c.JobSpawner.server_check_timeout = 4\n"
    with running_hub(tmp_path, config=config) as hub:
        _aim(target, "127.0.0.1", "hub_api")
        _forged_spawn_fails(hub, "127.0.0.1", _hub_api_port(tmp_path))


def test_a_forged_report_cannot_route_alice_to_bobs_server(tmp_path):
    config, target = _forgery(tmp_path, then="sleep 600")
    config += "c.JobSpawner.server_check_timeout = 4\n"
    with running_hub(tmp_path, config=config) as hub:
        hub.start_server("bob")
        bob_port = urlsplit(_routes(hub)["/user/bob/"]).port
        assert bob_port
        # the report names another host too: the host is never the job's to choose
        _aim(target, "10.255.255.1", bob_port)
        message = _forged_spawn_fails(hub, "127.0.0.1", bob_port)
        assert "HTTP 404" in message, message  # bob's server knows no /user/alice/
        assert hub.get_via_proxy("bob", "api/status").status_code == 200  # bob unharmed
        hub.stop_server("bob")


def test_a_forged_report_loses_to_the_real_server_or_fails_clearly(tmp_path):
    """The forged report names the hub API; the job then starts its real server, whose own
    report is refused (one report per start): the spawn fails with the job's log tail, and
    alice is never routed to the hub API."""
    config, target = _forgery(tmp_path, then="true")
    with running_hub(tmp_path, config=config) as hub:
        _aim(target, "127.0.0.1", "hub_api")
        hub_port = _hub_api_port(tmp_path)
        with _route_targets(hub, "/user/alice/") as seen, pytest.raises(SpawnFailed) as failed:
            hub.start_server("alice", timeout=90)
        assert not any(urlsplit(t).port == hub_port for t in seen), seen
        message = failed.value.message
        assert "forged port report" in message or f"127.0.0.1:{hub_port}" in message, message


@pytest.mark.parametrize(
    ("reported", "allowed", "words"),
    [
        ("127.0.0.1", [], "c.JobSpawner.server_hosts_allowed"),
        ("169.254.169.254", ["169.254.0.0/16"], "cloud metadata address"),
    ],
)
def test_server_host_source_refuses_a_reported_host_outside_the_allow_list(
    tmp_path, reported, allowed, words
):
    config = (
        'c.JobSpawner.host_source = "server"\n'
        f"c.JobSpawner.server_hosts_allowed = {allowed!r}\n"
        f'c.JobSpawner.environment = {{"JOBSPAWNER_SERVER_HOST": "{reported}"}}\n'
        "c.JobSpawner.http_timeout = 15\n"
    )
    with running_hub(tmp_path, config=config) as hub:
        started = time.monotonic()
        with pytest.raises(SpawnFailed) as failed:
            hub.start_server("alice", timeout=90)
        message = failed.value.message
        assert "port report was refused" in message, message
        assert f"the host {reported} reported by the job" in message and words in message
        assert time.monotonic() - started < 30
        assert not hub.spawner_state("alice").get("job_id")


def test_a_server_that_reports_and_dies_fails_the_spawn_within_seconds(tmp_path):
    marker = "server: fatal error after binding"
    config, target = _forgery(tmp_path, then=f"echo {marker!r} >&2; exit 3")
    with running_hub(tmp_path, config=config) as hub:
        _aim(target, "127.0.0.1", 1)  # the report is accepted, then the job dies
        expect_fast_failure(hub, "alice", marker, within=10)


def test_a_reported_port_outside_port_range_is_refused_unprobed(tmp_path):
    """With ``port_range``, a job reporting a port outside it (here one the test listens
    on) is refused: no probe connects there, no route points there, the spawn fails at once
    saying which port and which range."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(0.5)
    outside = listener.getsockname()[1]
    allowed = f"{outside + 1}-{outside + 60}"
    config, target = _forgery(tmp_path, then="true")
    config += f"c.JobSpawner.port_range = {allowed!r}\n"
    try:
        with running_hub(tmp_path, config=config) as hub:
            _aim(target, "127.0.0.1", outside)
            started = time.monotonic()
            with _route_targets(hub, "/user/alice/") as seen, pytest.raises(SpawnFailed) as e:
                hub.start_server("alice", timeout=90)
            assert time.monotonic() - started < 30
            assert not any(urlsplit(t).port == outside for t in seen), seen
            message = e.value.message
            assert "port report was refused" in message, message
            assert f"the job reported port {outside}, but this hub accepts only a free port in " \
                   f"{allowed} (c.JobSpawner.port_range)" in message, message  # fmt: skip
            assert not hub.spawner_state("alice").get("job_id")
        with pytest.raises(TimeoutError):  # nothing ever connected to the refused port
            listener.accept()
    finally:
        listener.close()
