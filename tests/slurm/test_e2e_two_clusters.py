"""End to end: a real JupyterHub spawning on the second of two real Slurm clusters (``-M``).

Both clusters share one slurmdbd, as at multi-cluster sites; the hub's host is a client of
the first, and ``c.JobSpawner.req_cluster`` sends the job to the second: the submit
(``sbatch --clusters``), every status round (``squeue --clusters``), the cancel
(``scancel --clusters``) and the end (``sacct --clusters``) all name it.
"""

from __future__ import annotations

import time

import pytest
from harness.hub import running_hub
from slurm.accounting import accounted_state
from slurm.cluster import SECOND
from slurm.helpers import squeue

pytestmark = [pytest.mark.e2e, pytest.mark.scheduler("slurm"), pytest.mark.root]


def test_spawn_reach_and_stop_on_the_other_cluster(tmp_path, clean_queue, second_cluster):
    config = f'c.JobSpawner.req_cluster = "{SECOND}"\nc.JobSpawner.poll_interval = 1\n'
    with running_hub(tmp_path, backend="slurm", config=config) as hub:
        hub.start_server("alice", timeout=90)
        job_id = hub.spawner_state("alice")["job_id"]
        assert job_id.endswith(f";{SECOND}"), job_id
        assert squeue(job_id, "%T|%u") == "RUNNING|alice"
        assert squeue(job_id.split(";")[0], "%T|%u") == "", "the job is on the first cluster"
        r = hub.get_via_proxy("alice", "api/status")
        assert r.status_code == 200, r.text
        # JupyterHub's poll (every second here) asks the second cluster: still running
        time.sleep(3)
        server = hub.server_model("alice")
        assert server and server.get("ready"), hub.log_text()[-3000:]
        hub.stop_server("alice")
        assert squeue(job_id) == "", "the job is still in the queue after stop"
        assert accounted_state(job_id) == "CANCELLED"
    second_cluster.cancel_all()
