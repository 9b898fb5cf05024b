"""End to end on the local backend: the server watch notices silent deaths and lost hosts.

The hub's status rounds (``status_interval``) and JupyterHub's own poll (``poll_interval``)
are both set far longer than the test waits, so only the watch
(:mod:`jobspawner.lifecycle.server_watch`)
can notice in time: a job killed with SIGKILL (the out-of-memory killer) is noticed within
seconds, and so is a server whose packets are dropped (a lost node: iptables DROP on its
port); the latter is stopped after ``lost_server_timeout``, its job cancelled, the user told.
Without the watch (``watch_server = False``) the same kill goes unnoticed in that time.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from forms.test_e2e_options import login
from harness.hub import Hub, running_hub
from harness.strict import need

pytestmark = pytest.mark.e2e

QUIET = """
c.JobSpawner.status_interval = 600
c.JobSpawner.poll_interval = 3600
"""
#: Seconds the negative control waits: the watch notices in well under a second; the
#: rounds and JupyterHub's poll are 600 and 3600 s away.
NOTICE = 10.0
#: Patience of the positive tests: anything noticed within it was noticed by the watch.
PATIENCE = 60


def server_up(hub: Hub, user: str) -> bool:
    server = hub.server_model(user)
    return bool(server and (server.get("ready") or server.get("pending")))


def seconds_until_stopped(hub: Hub, user: str, timeout: float) -> float | None:
    began = time.monotonic()
    while server_up(hub, user):
        if time.monotonic() - began > timeout:
            return None
        time.sleep(0.2)
    return time.monotonic() - began


def routed_port(events: list[dict]) -> int:
    for event in events:
        found = re.search(r"listening on \S+:(\d+) and answers", event.get("message", ""))
        if found:
            return int(found.group(1))
    raise AssertionError(f"no 'listening on' event in {events}")


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def test_a_job_killed_without_a_word_is_noticed_by_the_watch(tmp_path):
    with running_hub(tmp_path, config=QUIET) as hub:
        hub.start_server("alice")
        job_id = hub.spawner_state("alice")["job_id"]
        time.sleep(2)  # past the start's hurried rounds
        os.killpg(int(job_id.split("-")[0]), signal.SIGKILL)
        took = seconds_until_stopped(hub, "alice", timeout=PATIENCE)
        assert took is not None, "the SIGKILLed server was never noticed"
        print(f"SIGKILL noticed and handled in {took:.2f} s (status_interval 600 s)")
        assert "/jobspawner/ending/alice" not in hub.log_text(), "a killed server reported"
        assert f"Your server stopped: its batch job {job_id}" in hub.log_text()
        assert hub.spawner_state("alice")["last_end"]["job_id"] == job_id
        page = login(hub, "alice").get(f"{hub.url}/hub/spawn/alice", allow_redirects=False,
                                       timeout=60)  # fmt: skip
        assert page.status_code == 200, page.headers.get("Location")
        assert "Your last server stopped at " in page.text
        assert f"its batch job {job_id} failed" in page.text


def test_without_the_watch_the_same_kill_goes_unnoticed(tmp_path):
    with running_hub(tmp_path, config=QUIET + "c.JobSpawner.watch_server = False\n") as hub:
        hub.start_server("alice")
        job_id = hub.spawner_state("alice")["job_id"]
        time.sleep(2)
        os.killpg(int(job_id.split("-")[0]), signal.SIGKILL)
        assert seconds_until_stopped(hub, "alice", timeout=NOTICE + 2) is None
        assert "last_end" not in hub.spawner_state("alice")


@contextmanager
def dropped(port: int) -> Iterator[None]:
    """Every packet to ``port`` on the loopback interface is dropped (a lost host)."""
    rule = ["INPUT", "-i", "lo", "-p", "tcp", "--dport", str(port), "-j", "DROP"]
    subprocess.run(["iptables", "-I", *rule], check=True, capture_output=True)
    try:
        yield
    finally:
        subprocess.run(["iptables", "-D", *rule], check=True, capture_output=True)


def test_a_server_that_stops_answering_is_stopped_and_its_job_cancelled(tmp_path):
    need(shutil.which("iptables"), "iptables is not installed (.ci/install-watch.sh)")
    need(os.geteuid() == 0, "iptables needs root")
    with running_hub(tmp_path, config=QUIET) as hub:
        events = hub.start_server("alice")
        job_id = hub.spawner_state("alice")["job_id"]
        pgid = int(job_id.split("-")[0])
        port = routed_port(events)
        time.sleep(2)
        with dropped(port):
            began = time.monotonic()
            took = seconds_until_stopped(hub, "alice", timeout=60)
            assert took is not None, "the unreachable server was never stopped"
            print(f"unreachable server stopped after {took:.2f} s (lost_server_timeout 10 s)")
            # lost_server_timeout (10 s) counts from when the server was last heard from:
            # the last answered keepalive probe, at most one idle period (2 s) before the
            # drop; so not before 8 s, and not long after 10 s
            assert 7.5 <= took <= 25.0, took
            assert gone_within(pgid, 15), "the job outlived its server's stop (an orphan)"
            record = hub.spawner_state("alice")["last_end"]
            assert record["job_id"] == job_id
            assert "stopped answering for" in record["words"], record
            assert f"while batch job {job_id} was still running" in record["words"]
            assert time.monotonic() - began < 60
        log = hub.log_text()
        assert "has not answered for" in log and "lost_server_timeout" in log
        page = login(hub, "alice").get(f"{hub.url}/hub/spawn/alice", allow_redirects=False,
                                       timeout=60)  # fmt: skip
        assert page.status_code == 200
        assert "stopped answering for" in page.text


def gone_within(pgid: int, timeout: float) -> bool:
    """True once the job's process group is gone, within ``timeout`` seconds."""
    end = time.monotonic() + timeout
    while group_alive(pgid):
        if time.monotonic() > end:
            return False
        time.sleep(0.2)
    return True


def test_after_a_hub_restart_the_first_poll_watches_the_server_again(tmp_path):
    """The hub crashes with a running server; the restarted hub's first poll (JupyterHub
    polls every server at start) opens the watch, so a later SIGKILL is noticed at once."""
    with running_hub(tmp_path, config=QUIET) as hub:
        hub.start_server("alice")
        job_id = hub.spawner_state("alice")["job_id"]
        hub.crash()
    with running_hub(tmp_path, config=QUIET) as hub:
        assert server_up(hub, "alice") and hub.spawner_state("alice")["job_id"] == job_id
        time.sleep(2)
        os.killpg(int(job_id.split("-")[0]), signal.SIGKILL)
        took = seconds_until_stopped(hub, "alice", timeout=PATIENCE)
        assert took is not None, "the SIGKILLed server was never noticed"
        assert hub.spawner_state("alice")["last_end"]["job_id"] == job_id
