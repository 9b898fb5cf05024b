"""End to end on real Slurm: a job killed without a word is noticed by the server watch.

Like ``test_e2e_ended_job``'s SIGKILL case, but with the hub's status rounds every 600 s and
JupyterHub's poll every hour: only the watch (:mod:`jobspawner.lifecycle.server_watch`, an idle TCP
connection to the server) can notice the death within the test's window; its hint hurries
the status rounds and Slurm's answer (the job is gone) ends the server.
"""

from __future__ import annotations

import time

import pytest
from harness.hub import running_hub
from slurm.helpers import sigkill_job
from slurm.test_e2e_ended_job import ended_log_line, seconds_until_stopped

pytestmark = [pytest.mark.e2e, pytest.mark.scheduler("slurm"), pytest.mark.root]

CONFIG = """
c.JobSpawner.status_interval = 600
c.JobSpawner.poll_interval = 3600
"""


def test_sigkilled_job_is_noticed_by_the_watch_not_the_rounds(tmp_path, clean_queue):
    with running_hub(tmp_path, backend="slurm", config=CONFIG) as hub:
        hub.start_server("alice", timeout=90)
        job_id = hub.spawner_state("alice")["job_id"]
        time.sleep(3)  # past the start's hurried rounds
        sigkill_job(job_id)
        took = seconds_until_stopped(hub, "alice", timeout=60)  # rounds are 600 s away
        assert took is not None, "the SIGKILLed job was not noticed by the watch"
        print(f"SIGKILL on Slurm noticed and handled in {took:.2f} s (status_interval 600 s)")
        ended_log_line(hub, job_id)
        assert "/jobspawner/ending/alice" not in hub.log_text(), "a killed server reported"
        assert "asking the scheduler about job" in hub.log_text()
        assert not hub.spawner_state("alice").get("job_id")
        assert hub.spawner_state("alice")["last_end"]["job_id"] == job_id
