"""The real-hub benchmark's summary (``./run bench hub``): which goal is met or missed, and
the exit status, computed from recorded runs (no cluster needed: the runs themselves are
``./run bench hub SCENARIO`` on real Slurm)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture(scope="module")
def hub_bench() -> Any:
    sys.path.insert(0, str(BENCH))
    try:
        import hub_bench
    finally:
        sys.path.remove(str(BENCH))
    return hub_bench


def notice(kind: str, seconds: float) -> dict[str, Any]:
    return {"kind": kind, "how": "scancel", "seconds": seconds, "words": ""}


def spawn(kind: str, seconds: float) -> dict[str, Any]:
    parts = {"submit": 0.1, "queue": 0.5, "server": seconds - 0.7, "hub": 0.1, "stop": 1.0}
    return {"kind": kind, "seconds": seconds, **parts}


def burst(kind: str, ready: int) -> dict[str, Any]:
    return {
        "kind": kind,
        "servers": 20,
        "ready": ready,
        "seconds": 40.0,
        "api_p50_ms": 100.0,
        "api_p99_ms": 900.0,
        "api_max_ms": 1000.0,
        "api_samples": 100,
    }


def goal_lines(lines: list[str]) -> list[str]:
    return [line for line in lines if line.startswith("goal:")]


def test_every_goal_met(hub_bench):
    results = {
        "notice": [notice("batchspawner", 20.0), notice("jobspawner", 2.0)] * 3,
        "spawn": [spawn("batchspawner", 6.0), spawn("jobspawner", 3.1)] * 3,
        "floor": [3.0, 2.9, 3.0],
        "burst": [burst("batchspawner", 20), burst("jobspawner", 20)],
    }
    lines, ok = hub_bench.summarize(results)
    goals = goal_lines(lines)
    assert ok, lines
    assert len(goals) == 4 and all(g.endswith(": met") for g in goals), goals
    assert any("(0.52)" in g for g in goals), goals  # 3.1 / 6.0


@pytest.mark.parametrize(
    ("change", "missed"),
    [
        ({"notice": [notice("jobspawner", 2.0), notice("jobspawner", 10.5)]}, "scancel"),
        ({"spawn": [spawn("batchspawner", 4.0), spawn("jobspawner", 3.1)]}, "0.75 of"),
        ({"floor": [2.5]}, "of the floor"),
        ({"burst": [burst("jobspawner", 19)]}, "burst ready"),
    ],
)
def test_a_missed_goal_is_named_and_fails(hub_bench, change, missed):
    results = {
        "notice": [notice("jobspawner", 2.0)],
        "spawn": [spawn("batchspawner", 6.0), spawn("jobspawner", 3.1)],
        "floor": [3.0],
        "burst": [burst("jobspawner", 20)],
        **change,
    }
    lines, ok = hub_bench.summarize(results)
    assert not ok
    failed = [g for g in goal_lines(lines) if g.endswith("MISSED")]
    assert len(failed) == 1 and missed in failed[0], lines


def test_exit_status_follows_the_recorded_runs(hub_bench, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(hub_bench, "plot", lambda results, out: [])  # matplotlib: bench env
    path = tmp_path / "performance-hub.json"
    path.write_text(json.dumps({"notice": [notice("jobspawner", 2.0)]}))
    assert hub_bench.main(["--out", str(tmp_path)]) == 0
    path.write_text(json.dumps({"notice": [notice("jobspawner", 12.0)]}))
    assert hub_bench.main(["--out", str(tmp_path)]) == 1
    assert "MISSED" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        hub_bench.main(["--out", str(tmp_path), "nosuchscenario"])


def test_the_floor_goal_uses_the_singleuser_floor_and_shows_the_bare_one(hub_bench):
    """The goal is against jupyterhub-singleuser without a hub; the bare jupyter-server figure
    is printed, labelled, and does not move the goal."""
    results = {
        "spawn": [spawn("batchspawner", 6.0), spawn("jobspawner", 3.1)],
        "floor": [3.0],
        "floor_bare": [2.0],
    }
    lines, ok = hub_bench.summarize(results)
    assert ok, lines
    assert any("jupyter-server, no hub" in line and "2.00" in line for line in lines), lines
    assert any("(+0.10 s)" in g for g in goal_lines(lines)), lines


def test_grid_engine_results_have_their_own_goals(hub_bench):
    results = {
        "spawn_sge": [spawn("batchspawner", 6.0), spawn("jobspawner", 3.1)],
        "floor_sge": [3.0],
        "burst_sge": [burst("jobspawner", 19)],
    }
    lines, ok = hub_bench.summarize(results)
    assert not ok
    failed = [g for g in goal_lines(lines) if g.endswith("MISSED")]
    assert len(failed) == 1 and "burst ready" in failed[0], lines
    assert any(g.startswith("goal: sge: median spawn") for g in goal_lines(lines)), lines


def lost(kind: str, seconds: float, noticed: bool = True) -> dict[str, Any]:
    return {"kind": kind, "how": "drop", "seconds": seconds, "noticed": noticed, "words": ""}


@pytest.mark.parametrize(
    ("ours", "met"),
    [
        (lost("jobspawner", 9.2), True),
        (lost("jobspawner", 12.5), False),
        (lost("jobspawner", 60.0, noticed=False), False),
    ],
)
def test_a_lost_server_has_its_goal_and_the_anchor_is_not_noticed(hub_bench, ours, met):
    results = {"lost": [lost("batchspawner", 60.0, noticed=False), ours]}
    lines, ok = hub_bench.summarize(results)
    assert ok is met, lines
    assert any("batchspawner  not noticed within 60 s in 1 of 1" in line for line in lines)
    goals = goal_lines(lines)
    assert len(goals) == 1 and "lost server stopped" in goals[0]
    assert goals[0].endswith(": met" if met else "MISSED"), goals
