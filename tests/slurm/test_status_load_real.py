"""The status-load benchmark against the real test Slurm (``./run bench load-real``), at its
smallest: two running jobs and two held ones, both spawners through the counting shim.

Counts and ratios only, never times. Hold the cluster lock around it
(``flock /tmp/jobspawner-cluster.lock ./run tests tests/slurm/test_status_load_real.py``).
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from harness.strict import need

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


def _active_jobs(user: str) -> list[str]:
    out = subprocess.run(
        ["squeue", "-h", "-u", user, "-t", "PD,R,CG,S", "-o", "%i"], capture_output=True, text=True
    ).stdout
    return out.split()


@pytest.mark.timeout(600)
def test_both_spawners_against_real_jobs(clean_queue: Any) -> None:
    need(importlib.util.find_spec("batchspawner") is not None, "needs batchspawner==1.3.0")
    sys.path.insert(0, str(BENCH))
    try:
        import status_load_real
        from status_load import KINDS, Phase
    finally:
        sys.path.remove(str(BENCH))
    phases = [Phase(2, 0, 10.0, 8.0), Phase(0, 2, 1.0, 5.0)]
    # run_real also checks that both spawners see the jobs alive and an unknown id as ended
    results = status_load_real.run_real(phases, cluster=clean_queue, idle_seconds=2.0)
    assert {(r.kind, r.running, r.queued) for r in results} == {
        (k, p.running, p.queued) for p in phases for k in KINDS
    }
    by = {(r.kind, r.queued): r for r in results}
    for r in results:
        assert r.fake_squeue == "real" and r.commands > 0, r  # the shim counted real calls
        assert r.jobs_in_queue >= 4, r  # the benchmark's jobs were in the queue
        assert r.slurmctld_raw_s_per_min >= r.slurmctld_cpu_s_per_min >= 0, r
        assert len(r.loadavg) == 2, r
    # running: the anchor one squeue per server per poll, jobspawner its rounds
    anchor, ours = by[("batchspawner", 0)], by[("jobspawner", 0)]
    assert anchor.commands_per_min > anchor.commands_asked_per_min / 3, anchor
    assert ours.commands_per_min <= 6, ours
    # queued: the anchor two a second per spawn, jobspawner one shared round a second
    anchor, ours = by[("batchspawner", 2)], by[("jobspawner", 2)]
    assert anchor.commands_per_min > 2 * ours.commands_per_min, (anchor, ours)
    assert ours.commands_per_min <= 75, ours
    # the controller worked through the window (its pid and /proc were read)
    assert anchor.slurmctld_raw_s_per_min > 0, anchor
    # every job the benchmark submitted is gone
    assert _active_jobs("alice") == [] and _active_jobs("bob") == []
