"""End to end on the real Grid Engine cell: an admin's ``qdel`` of a running server's job is
noticed by the hub's own status rounds, long before JupyterHub's ``poll_interval``.

Grid Engine's ``qdel`` kills the job with SIGKILL (the queue's default ``terminate_method``),
so the server cannot report that it is ending: only the shared status rounds (every
``status_interval``, 15 s) can notice. JupyterHub's own poll is set to 300 s (the product's
default, set explicitly), so a hub that notices within a minute did it by the rounds.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from harness.hub import Hub, running_hub

from sge.cluster import SgeCluster
from sge.sgekit import OPTIONS

pytestmark = [pytest.mark.e2e, pytest.mark.scheduler("sge"), pytest.mark.root]

POLL_INTERVAL = 300


def server_up(hub: Hub, user: str) -> bool:
    server = hub.server_model(user)
    return bool(server and (server.get("ready") or server.get("pending")))


def test_admin_qdel_is_noticed_by_the_status_rounds(tmp_path: Path, sge: SgeCluster) -> None:
    config = f"c.JobSpawner.poll_interval = {POLL_INTERVAL}\n"
    with running_hub(tmp_path, backend="sge", backend_options=OPTIONS, config=config) as hub:
        hub.start_server("alice")
        job_id = hub.spawner_state("alice")["job_id"]
        time.sleep(3)  # past the start's hurried rounds
        sge.run("qdel", job_id)
        began = time.monotonic()
        while server_up(hub, "alice"):
            assert time.monotonic() - began < POLL_INTERVAL / 5, (
                f"the hub still shows the server {POLL_INTERVAL / 5:g}s after qdel:\n"
                + hub.log_text()[-3000:]
            )
            time.sleep(0.2)
        log = hub.log_text()
        assert f"Your server stopped: its batch job {job_id} " in log, log[-3000:]
        assert not hub.spawner_state("alice").get("job_id")
