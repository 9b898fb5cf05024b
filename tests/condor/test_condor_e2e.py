"""End to end: a real JupyterHub (as root) spawning notebook servers as HTCondor jobs on the
emulator; jobs run as alice/bob through runuser. One hub serves every scenario (one server
each), to keep the run short."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from condor.condorkit import Pool, drop_pool, new_pool, wait_for
from harness.hub import Hub, running_hub
from harness.scenarios import expect_fast_failure

pytestmark = [pytest.mark.e2e, pytest.mark.scheduler("condor"), pytest.mark.root]

PROLOGUE = (
    'if [ "$JUPYTERHUB_SERVER_NAME" = broken ]; then '
    "echo 'condor-e2e: No module named jupyterhub' >&2; exit 3; fi"
)
CONFIG = f"""
c.JobSpawner.prologue = {PROLOGUE!r}
c.JobSpawner.user_options_allowed = ["memory"]
c.JobSpawner.req_memory = "1G"
c.JobSpawner.req_runtime = "1h"
"""


@pytest.fixture(scope="module")
def hub_pool(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Hub, Pool]]:
    pool = new_pool()
    try:
        with running_hub(
            tmp_path_factory.mktemp("condor-hub"), backend="condor", env=pool.env, config=CONFIG
        ) as hub:
            yield hub, pool
    finally:
        drop_pool(pool)


def servers_of(user: str, shadow: int | None = None) -> list[str]:
    """Pids of the user's notebook server processes (the job's payload); with ``shadow``, only
    those its job started (other tests on the machine run notebook servers of the same test
    users)."""
    out = subprocess.run(
        ["pgrep", "-u", user, "-f", "jobspawner-singleuser"], capture_output=True, text=True
    )
    return [pid for pid in out.stdout.split() if shadow is None or shadow in ancestors(pid)]


def ancestors(pid: str) -> list[int]:
    """The parent, grandparent ... of a process (as far as they are still known)."""
    found: list[int] = []
    while pid not in ("0", "1") and len(found) < 20:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            break
        pid = stat.rsplit(")", 1)[1].split()[1]
        found.append(int(pid))
    return found


def alive(pid: str) -> bool:
    return Path(f"/proc/{pid}").exists()


def removed(pool: Pool, job_id: str) -> bool:
    ad = pool.history(job_id)
    return pool.job(job_id) is None and ad is not None and ad["JobStatus"] == 3


def test_spawn_reach_stop(hub_pool: tuple[Hub, Pool]) -> None:
    hub, pool = hub_pool
    events = hub.start_server("alice")
    messages = [e["message"] for e in events]
    assert any(re.fullmatch(r"Submitted as condor job \d+\.0\.", m) for m in messages), messages
    job_id = hub.spawner_state("alice")["job_id"]
    ad = pool.job(job_id) or {}
    assert (ad.get("JobStatus"), ad.get("Owner"), ad.get("JobBatchName")) == (
        2,
        "alice",
        "jupyter-alice",
    )
    assert ad["RequestMemory"] == 1024 and ad["MaxRuntime"] == 3600
    assert re.fullmatch(r"\d+\.0", job_id)
    servers = servers_of("alice", ad["ShadowPid"])
    assert servers, "the job's notebook server runs as alice"
    response = hub.get_via_proxy("alice", "api/status")
    assert response.status_code == 200, response.text
    hub.stop_server("alice")
    wait_for(lambda: removed(pool, job_id), timeout=15)
    wait_for(lambda: not any(alive(pid) for pid in servers), timeout=15)  # the process too
    assert not hub.spawner_state("alice").get("job_id")


def test_failing_job_fails_fast_with_its_log_tail(hub_pool: tuple[Hub, Pool]) -> None:
    hub, _pool = hub_pool
    marker = "condor-e2e: No module named jupyterhub"
    expect_fast_failure(hub, "alice", marker, within=30, server_name="broken")


def test_idle_job_shows_why_and_is_removed_on_stop(hub_pool: tuple[Hub, Pool]) -> None:
    hub, pool = hub_pool
    hub.begin_start("bob", options={"memory": "64G"})
    why = "no machine in the pool can take it"
    events = hub.progress("bob", until=lambda e: why in e["message"], timeout=60)
    assert why in events[-1]["message"], events
    assert "65536 MiB of memory" in events[-1]["message"]
    job_id = hub.spawner_state("bob")["job_id"]
    assert (pool.job(job_id) or {}).get("JobStatus") == 1
    hub.stop_server("bob")
    wait_for(lambda: removed(pool, job_id), timeout=15)


def test_held_job_is_reported_with_its_reason(hub_pool: tuple[Hub, Pool]) -> None:
    hub, pool = hub_pool
    hub.begin_start("bob", "held", options={"memory": "64G"})
    hub.progress("bob", "held", until=lambda e: "HTCondor queue" in e["message"], timeout=60)
    job_id = hub.spawner_state("bob", "held")["job_id"]
    reason = "e2e: the pool is drained for maintenance"
    r = pool.run("condor_hold", "-reason", reason, job_id)
    assert r.returncode == 0, r.stderr
    events = hub.progress("bob", "held", until=lambda e: "on hold" in e["message"], timeout=30)
    assert events[-1]["message"].startswith("Your job is on hold"), events
    assert reason in events[-1]["message"]
    assert (pool.job(job_id) or {}).get("JobStatus") == 5
    hub.stop_server("bob", "held")
    wait_for(lambda: removed(pool, job_id), timeout=15)
