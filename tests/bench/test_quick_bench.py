"""The quick status-load benchmark against batchspawner 1.3.0 (the anchor), in this process.

Ratios only, never times: jobspawner's status commands per minute at the largest N stay at
the round rate whatever N is, and its hub CPU is a small fraction of the anchor's.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest
from harness.strict import need

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture(scope="module")
def quick_summary() -> dict:
    need(importlib.util.find_spec("batchspawner") is not None, "needs batchspawner==1.3.0")
    sys.path.insert(0, str(BENCH))
    try:
        import run as bench_run
        import status_load
    finally:
        sys.path.remove(str(BENCH))
    path = os.environ.get("PATH")
    results = status_load.run(bench_run.QUICK)
    # the benchmark's fake squeue must not outlive it: later tests use the real Slurm
    assert os.environ.get("PATH") == path
    # each phase's calls are counted from its own log and tag: none from another phase
    assert {(r.kind, r.running, r.queued) for r in results} == {
        (k, p.running, p.queued) for p in bench_run.QUICK for k in status_load.KINDS
    }
    assert all(r.commands > 0 for r in results), results
    # every running jobspawner server held its server watch through the window
    assert all(r.watches == r.running for r in results if r.kind == "jobspawner"), results
    return bench_run.summarize(results)


@pytest.mark.timeout(600)
def test_status_commands_per_minute_at_largest_n(quick_summary: dict) -> None:
    goals = quick_summary["goals"]
    assert goals["largest_n"] >= 1000
    assert goals["commands_ok"], goals  # ≤ 4 per (virtual) minute, the goal
    largest = max(quick_summary["rows"], key=lambda r: r["running"])
    # the anchor runs one squeue per server per poll: hundreds of times ours
    assert largest["commands_ratio"] < 1 / 100, largest


@pytest.mark.timeout(600)
def test_hub_cpu_ratio_at_largest_n(quick_summary: dict) -> None:
    goals = quick_summary["goals"]
    # The goal is 1/20, met in the full run (about 1/35 to 1/30 at 1000 servers, see
    # docs/performance.md). The quick run (scale 2, a server watch held for each server)
    # measured 0.02 to 0.09 on an idle 2-core machine (December 2026). This bound leaves room
    # for a loaded CI machine and for the Python squeue emulator where no cc exists (the
    # anchor then runs fewer of the commands it asks for, so its CPU is underestimated).
    assert goals["cpu_ratio_at_largest_n"] < 1 / 6, goals


@pytest.mark.timeout(600)
def test_queued_spawns_share_rounds(quick_summary: dict) -> None:
    queued = [r for r in quick_summary["rows"] if r["queued"]]
    assert queued
    for row in queued:
        ours, anchor = row["jobspawner"], row["anchor"]
        # one shared round a second for every queued spawn: ≈60/min whatever their number
        assert ours["commands_per_min"] <= 75, row
        assert row["commands_ratio"] < 1 / 5, row
        assert anchor["commands_per_min"] > 60 * row["queued"] * 0.5, row
        # queued spawns sleep until their own job changes: the shared rounds are the cost
        assert row["cpu_ratio"] < 1 / 2, row
