"""End to end: a real JupyterHub (as root) spawning notebook servers as Grid Engine jobs on
the real SoGE cell, jobs running as alice through runuser."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from harness.hub import Hub, running_hub
from harness.scenarios import expect_fast_failure, failing_prologue

from sge.cluster import SgeCluster, wait_for
from sge.sgekit import OPTIONS

pytestmark = [pytest.mark.e2e, pytest.mark.scheduler("sge"), pytest.mark.root]


@contextmanager
def sge_hub(tmp_path: Path, config: str = "", **options: Any) -> Iterator[Hub]:
    """A hub on the sge backend; SGE_ROOT/SGE_CELL come from the backend options only.
    On a failure the end of the hub's log is printed (pytest shows it with the failure)."""
    with running_hub(
        tmp_path, backend="sge", backend_options={**OPTIONS, **options}, config=config
    ) as hub:
        try:
            yield hub
        except BaseException:
            print(hub.log_text()[-8000:])
            raise


def job_field(sge: SgeCluster, job_id: str, name: str) -> str | None:
    out = sge.run("qstat", "-j", job_id, check=False).stdout
    m = re.search(rf"^{name}:\s+(.*)$", out, re.M)
    return m.group(1).strip() if m else None


def gone(sge: SgeCluster, job_id: str) -> Callable[[], bool]:
    return lambda: job_id not in sge.jobs()


def test_spawn_reach_stop(tmp_path: Path, sge: SgeCluster) -> None:
    with sge_hub(tmp_path) as hub:
        started = time.monotonic()
        events = hub.start_server("alice")
        print(f"spawn to ready: {time.monotonic() - started:.1f}s")
        messages = [e["message"] for e in events]
        assert any(re.match(r"Submitted as sge job \d+\.", m) for m in messages), messages
        job_id = hub.spawner_state("alice")["job_id"]
        assert job_field(sge, job_id, "owner") == "alice"
        assert job_field(sge, job_id, "job_name") == "jupyter-alice"
        response = hub.get_via_proxy("alice", "api/status")
        assert response.status_code == 200, response.text
        hub.stop_server("alice")
        assert gone(sge, job_id)(), "the job is still in qstat after the stop"
        assert not hub.spawner_state("alice").get("job_id")


def test_failing_job_fails_fast_with_its_log_tail(tmp_path: Path, sge: SgeCluster) -> None:
    marker = "sge-e2e: No module named jupyterhub"
    with sge_hub(tmp_path, failing_prologue(marker)) as hub:
        # exit code 3 comes from qacct: the job left qstat at once
        expect_fast_failure(hub, "alice", marker, within=15)


def test_queued_job_shows_why_and_is_removed_on_stop(tmp_path: Path, sge: SgeCluster) -> None:
    with sge_hub(tmp_path, "c.JobSpawner.req_cpus = 64") as hub:
        hub.begin_start("alice")
        events = hub.progress(
            "alice", until=lambda e: "not enough free CPU slots" in e["message"], timeout=60
        )
        assert "not enough free CPU slots" in events[-1]["message"], events
        assert "parallel environment smp" in events[-1]["message"]
        job_id = hub.spawner_state("alice")["job_id"]
        assert job_id in sge.jobs()
        hub.stop_server("alice")
        assert wait_for(gone(sge, job_id), timeout=15), "the queued job was left behind"


def test_external_qdel_is_noticed(tmp_path: Path, sge: SgeCluster) -> None:
    with sge_hub(tmp_path, "c.JobSpawner.poll_interval = 1\nc.JobSpawner.poll_jitter = 0") as hub:
        hub.start_server("alice")
        job_id = hub.spawner_state("alice")["job_id"]
        sge.run("qdel", job_id)  # an admin deletes the job behind the hub's back

        def stopped() -> bool:
            server = hub.server_model("alice")
            return server is None or not (server.get("ready") or server.get("pending"))

        assert wait_for(stopped, timeout=30), "the hub did not notice the deleted job"
        assert gone(sge, job_id)()
        assert f"job {job_id} has ended" in hub.log_text()


def test_stop_while_the_job_runs_before_the_server_is_up(tmp_path: Path, sge: SgeCluster) -> None:
    """The job runs (``r``) but the server has not reported yet: stopping removes the job.

    JupyterHub's DELETE of a pending spawn cancels the spawn and waits only one second before
    it stops the server, while qdel of a running job takes about 1.7 s to confirm: the stop
    must still succeed (the core confirms the cancel in stop(), not in the cancelled spawn).
    """
    with sge_hub(tmp_path, 'c.JobSpawner.prologue = "sleep 600"') as hub:
        hub.begin_start("alice")
        hub.progress("alice", until=lambda e: "running on" in e["message"], timeout=60)
        job_id = hub.spawner_state("alice")["job_id"]
        hub.stop_server("alice")
        assert wait_for(gone(sge, job_id), timeout=15), "the running job was left behind"
        assert wait_for(lambda: not hub.spawner_state("alice").get("job_id"), timeout=15)
