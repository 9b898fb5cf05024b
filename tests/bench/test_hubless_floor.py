"""The spawn floor's pieces (``benchmarks/hubless.py``, ``benchmarks/bench_queues.py``): the
stand-in hub is enough for ``jupyterhub-singleuser`` to start, and a Grid Engine job's
processes are found under its shepherd. No scheduler needed."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from harness import strict
from harness.hub import free_port

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture(scope="module")
def bench() -> Iterator[Any]:
    sys.path.insert(0, str(BENCH))
    try:
        import bench_queues
        import hubless
    finally:
        sys.path.remove(str(BENCH))
    yield hubless, bench_queues


def test_stand_in_hub_answers_like_a_hub(bench):
    hubless, _ = bench
    with hubless.stand_in_hub() as hub:
        got = requests.get(hub.api_url, timeout=5)
        posted = requests.post(hub.api_url + "/users/alice/activity", json={}, timeout=5)
    assert got.status_code == 200 and posted.status_code == 200
    assert got.headers["X-JupyterHub-Version"] == hubless.HUB_VERSION
    with pytest.raises(requests.ConnectionError):
        requests.get(hub.api_url, timeout=2)  # closed with its context


def test_jupyterhub_singleuser_starts_against_the_stand_in(bench):
    """The floor's server really starts (it exits when no hub answers its first request)."""
    hubless, _ = bench
    strict.need(os.geteuid() == 0, "runs the server as the test user alice (needs root)")
    from harness.jobenv import ensure_jobenv

    jobenv = ensure_jobenv()
    port = free_port()
    with hubless.stand_in_hub() as hub:
        command = hubless.singleuser_command(jobenv, hub, "alice", port)
        assert hubless.PLACEHOLDER_TOKEN in command and "jupyterhub-singleuser" in command
        server = subprocess.Popen(
            ["runuser", "-u", "alice", "--", "bash", "-c", f"exec {command}"],
            cwd="/",
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        url = f"http://127.0.0.1:{port}{hubless.probe_path('alice')}"
        answered = None
        try:
            deadline = time.monotonic() + 90
            while answered is None and server.poll() is None and time.monotonic() < deadline:
                try:
                    answered = requests.get(url, timeout=2)
                except requests.ConnectionError:
                    time.sleep(0.2)
        finally:
            server.terminate()
            _, err = server.communicate(timeout=30)
    assert answered is not None, err[-2000:]
    assert answered.status_code == 200 and "version" in answered.json()


@pytest.fixture
def fake_shepherd(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """A process named like Grid Engine's shepherd (``sge_shepherd -bg``: no job id) running
    in job 987654's folder of the execd spool, as the real one does, with a child and a
    grandchild (the job's shell and its server); like the real one, it waits for its child."""
    job = "987654"
    folder = tmp_path / "active_jobs" / f"{job}.1"
    folder.mkdir(parents=True)
    (tmp_path / "active_jobs" / "987653.1").mkdir()
    fifo = tmp_path / "idle"
    os.mkfifo(fifo)
    # the child shell runs as a child (not the last command); ``read`` on a FIFO opened for
    # reading and writing waits without starting a process
    script = 'bash -c "sleep 60 & wait"; read -t 60 <> "$0"'
    shepherd = subprocess.Popen(
        [
            "bash",
            "-c",
            f"exec -a sge_shepherd bash -c {shlex.quote(script)} {shlex.quote(str(fifo))}",
        ],
        cwd=folder,
        text=True,
        start_new_session=True,
    )
    yield job, shepherd
    os.killpg(shepherd.pid, 9)
    shepherd.wait()


def test_grid_engine_job_processes_are_the_shepherds_descendants(bench, fake_shepherd):
    _, bench_queues = bench
    job, shepherd = fake_shepherd
    deadline = time.monotonic() + 10
    pids: list[int] = []
    while len(pids) < 2 and time.monotonic() < deadline:
        pids = bench_queues.SGE.job_pids(job)
        time.sleep(0.1)
    assert shepherd.pid not in pids  # the scheduler's own process is left alone
    assert len(pids) == 2, pids  # the job's shell and its child
    assert bench_queues.SGE.job_pids("987653") == []
    bench_queues.SGE.kill_job_processes(job)
    deadline = time.monotonic() + 10
    while bench_queues.SGE.job_pids(job) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert bench_queues.SGE.job_pids(job) == []
    assert shepherd.poll() is None  # still there: only the job's processes were killed
