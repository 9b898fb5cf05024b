"""End to end on the real Slurm cluster: a start whose job waits in the queue survives a hub
crash, and the user's next start adopts that job instead of submitting a second one."""

from __future__ import annotations

import os
import subprocess
import time

import pytest
from harness.hub import running_hub
from slurm.helpers import fill_partition, squeue

from .test_e2e import wait

pytestmark = [pytest.mark.e2e, pytest.mark.scheduler("slurm"), pytest.mark.root]


def _jobs_of(user: str, since: str) -> list[str]:
    """Every job of ``user`` submitted at ``since`` or later that accounting knows, queued
    or ended (``sacct -S`` alone also lists an earlier test's job still ending then)."""
    out = subprocess.run(
        ["sacct", "-n", "-X", "-P", "-u", user, "-S", since, "-o", "JobID,Submit"],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "SLURM_TIME_FORMAT": "standard"},
    ).stdout
    rows = (line.strip().split("|") for line in out.splitlines() if line.strip())
    return sorted({row[0] for row in rows if len(row) == 2 and row[1] >= since})


def _queued_ids(user: str) -> list[str]:
    out = subprocess.run(
        ["squeue", "-h", "-u", user, "-o", "%i"], capture_output=True, text=True, check=True
    ).stdout
    return sorted(line.strip() for line in out.splitlines() if line.strip())


def test_a_queued_job_survives_a_hub_crash_and_the_next_start_adopts_it(tmp_path, clean_queue):
    since = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime())
    # the partition is kept busy, so the server's job waits in the queue
    filler = fill_partition(clean_queue.cpus)
    try:
        assert wait(lambda: squeue(filler, "%T") == "RUNNING", timeout=20)
        with running_hub(tmp_path, backend="slurm") as hub:
            hub.begin_start("alice")
            hub.progress("alice", until=lambda e: "Resources" in e["message"], timeout=60)
            job_id = hub.spawner_state("alice")["job_id"]
            assert squeue(job_id, "%T|%u") == "PENDING|alice"
            hub.crash()
        with running_hub(tmp_path, backend="slurm") as hub:
            # the restarted hub kept the job in its place in the queue
            assert squeue(job_id, "%T|%u") == "PENDING|alice", "the kept job left the queue"
            state = hub.spawner_state("alice")
            assert state["queued_start"]["job_id"] == job_id, state
            events = hub.progress("alice", timeout=10)
            assert "keeps its place in the queue" in events[-1]["message"], events
            # her next start adopts it, and waits for it as any start does
            hub.begin_start("alice")
            events = hub.progress("alice", until=lambda e: "Resuming" in e["message"])
            assert f"slurm job {job_id}" in events[-1]["message"], events
            events = hub.progress(
                "alice", until=lambda e: "Slurm reason: Resources" in e["message"], timeout=30
            )
            assert "Slurm reason: Resources" in events[-1]["message"], events
            subprocess.run(["scancel", filler], check=True)  # room for the kept job now
            events = hub.progress("alice", timeout=120)
            assert events and not events[-1].get("failed"), events
            hub.wait_ready("alice", timeout=60)
            assert hub.spawner_state("alice")["job_id"] == job_id
            assert squeue(job_id, "%T|%u") == "RUNNING|alice"
            assert hub.get_via_proxy("alice", "api/status").status_code == 200
            # one job for alice in the whole story: none submitted by the second start
            assert "Submitted as" not in hub.log_text()
            assert _queued_ids("alice") == [job_id]
            assert _jobs_of("alice", since) == [job_id]
            hub.stop_server("alice")
            assert wait(lambda: squeue(job_id) == "", timeout=20), "the job outlived the stop"
    finally:
        subprocess.run(["scancel", filler], check=False)
