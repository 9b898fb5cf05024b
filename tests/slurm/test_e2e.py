"""End to end: a real JupyterHub spawning notebook servers as jobs on the real Slurm cluster.

The hub runs as root; jobs are submitted as alice through ``runuser`` and run
``jobspawner-singleuser`` from the test job environment.
"""

from __future__ import annotations

import subprocess
import time

import pytest
from harness.hub import running_hub
from harness.scenarios import expect_fast_failure, failing_prologue
from slurm.accounting import accounted_state
from slurm.helpers import fill_partition, squeue

pytestmark = [pytest.mark.e2e, pytest.mark.scheduler("slurm"), pytest.mark.root]


def wait(predicate, timeout: float = 30.0, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()


def test_spawn_reach_and_stop(tmp_path, clean_queue):
    config = 'c.JobSpawner.req_queue = "long"\nc.JobSpawner.req_runtime = "1:00:00"\n'
    with running_hub(tmp_path, backend="slurm", config=config) as hub:
        events = hub.start_server("alice", timeout=90)
        messages = [e["message"] for e in events]
        assert any(m.startswith("Submitted as slurm job") for m in messages), messages
        job_id = hub.spawner_state("alice")["job_id"]
        assert squeue(job_id) == "RUNNING|alice|long"
        r = hub.get_via_proxy("alice", "api/status")
        assert r.status_code == 200, r.text
        hub.stop_server("alice")
        assert squeue(job_id) == "", "the job is still in the queue after stop"
        assert accounted_state(job_id) == "CANCELLED"  # not squeue: MinJobAge purges


def test_job_failing_at_once_fails_the_spawn_with_its_log(tmp_path, clean_queue):
    marker = "prologue: cannot load module python"
    with running_hub(tmp_path, backend="slurm", config=failing_prologue(marker)) as hub:
        expect_fast_failure(hub, "alice", marker, within=15)


def test_pending_job_shows_its_reason_and_stopping_removes_it(tmp_path, clean_queue):
    filler = fill_partition(clean_queue.cpus)
    assert wait(lambda: squeue(filler, "%T") == "RUNNING", timeout=20)
    with running_hub(tmp_path, backend="slurm") as hub:
        hub.begin_start("alice")
        events = hub.progress(
            "alice", until=lambda e: "Slurm reason: Resources" in e["message"], timeout=60
        )
        last = events[-1]["message"]
        assert "Slurm reason: Resources" in last, events
        assert "in use" in last
        job_id = hub.spawner_state("alice")["job_id"]
        assert squeue(job_id, "%T|%r") == "PENDING|Resources"
        # backfill soon knows when the filler's 30 minutes end
        events = hub.progress(
            "alice", until=lambda e: "expects it to start around" in e["message"], timeout=30
        )
        assert "expects it to start around" in events[-1]["message"], events
        hub.stop_server("alice")
        assert wait(lambda: squeue(job_id) == "", timeout=10), "pending job left in the queue"
    subprocess.run(["scancel", filler], check=False)


def test_external_scancel_is_noticed_by_the_poll(tmp_path, clean_queue):
    config = "c.JobSpawner.poll_interval = 1\n"
    with running_hub(tmp_path, backend="slurm", config=config) as hub:
        hub.start_server("alice", timeout=90)
        job_id = hub.spawner_state("alice")["job_id"]
        assert squeue(job_id, "%T") == "RUNNING"
        subprocess.run(["scancel", job_id], check=True)  # an admin

        def stopped() -> bool:
            server = hub.server_model("alice")
            return server is None or not (server.get("ready") or server.get("pending"))

        assert wait(stopped, timeout=30), hub.log_text()[-3000:]
        assert f"job {job_id} has ended (cancelled)" in hub.log_text()


def test_two_users_at_once_are_polled_with_one_squeue(tmp_path, clean_queue):
    """With status_exec_prefix = [] the hub polls every user's job in the same squeue call."""
    calls = tmp_path / "squeue-calls.log"
    wrapper = tmp_path / "squeue"
    wrapper.write_text(f'#!/bin/bash\necho "$*" >> {calls}\nexec squeue "$@"\n')
    wrapper.chmod(0o755)
    config = "c.JobSpawner.status_exec_prefix = []\n"
    with running_hub(
        tmp_path, backend="slurm", config=config, backend_options={"squeue": str(wrapper)}
    ) as hub:
        hub.begin_start("alice")
        hub.begin_start("bob")
        for user in ("alice", "bob"):
            events = hub.progress(user, timeout=90)
            assert events and events[-1].get("ready"), events
            hub.wait_ready(user)
        ids = {u: hub.spawner_state(u)["job_id"] for u in ("alice", "bob")}
        assert squeue(ids["alice"]) == "RUNNING|alice|debug"
        assert squeue(ids["bob"]) == "RUNNING|bob|debug"
        for user in ("alice", "bob"):
            assert hub.get_via_proxy(user, "api/status").status_code == 200
        both = f"--jobs={ids['alice']},{ids['bob']}"
        both_reversed = f"--jobs={ids['bob']},{ids['alice']}"
        lines = calls.read_text().splitlines()
        assert any(both in line or both_reversed in line for line in lines), lines
        hub.stop_server("alice")
        hub.stop_server("bob")
        assert squeue(ids["alice"]) == "" and squeue(ids["bob"]) == ""
