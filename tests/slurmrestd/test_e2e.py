"""End to end: a real JupyterHub spawning through slurmrestd (backend "slurmrestd").

The hub runs as root; the log folder and secrets file are made as alice through
``runuser``; submit, status and cancel go over slurmrestd's REST API with JWTs from
``scontrol token``.
"""

from __future__ import annotations

import time

import pytest
from harness.hub import running_hub
from slurm.accounting import accounted_state
from slurm.helpers import squeue

pytestmark = [pytest.mark.e2e, pytest.mark.scheduler("slurm"), pytest.mark.root]


def test_spawn_reach_and_stop_through_slurmrestd(tmp_path, restd, clean_queue):
    config = 'c.JobSpawner.req_queue = "long"\nc.JobSpawner.req_runtime = "1:00:00"\n'
    with running_hub(
        tmp_path, backend="slurmrestd", config=config, backend_options={"url": restd.url}
    ) as hub:
        events = hub.start_server("alice", timeout=90)
        messages = [e["message"] for e in events]
        assert any(m.startswith("Submitted as slurmrestd job") for m in messages), messages
        job_id = hub.spawner_state("alice")["job_id"]
        assert squeue(job_id) == "RUNNING|alice|long"
        r = hub.get_via_proxy("alice", "api/status")
        assert r.status_code == 200, r.text
        hub.stop_server("alice")
        deadline = time.monotonic() + 10
        while squeue(job_id) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert squeue(job_id) == "", "the job is still in the queue after stop"
        assert accounted_state(job_id) == "CANCELLED"  # not squeue: MinJobAge purges
        assert "sbatch" not in hub.log_text()
