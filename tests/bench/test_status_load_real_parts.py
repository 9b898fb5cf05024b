"""The pieces of the real-Slurm status-load benchmark (``benchmarks/status_load_real.py``)
that need no cluster: the counting squeue shim and the daemons' CPU meter."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from harness.strict import need

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture(scope="module")
def real() -> Any:
    sys.path.insert(0, str(BENCH))
    try:
        import status_load_real
    finally:
        sys.path.remove(str(BENCH))
    return status_load_real


def test_shim_logs_each_call_then_runs_the_real_program(real: Any, tmp_path: Path) -> None:
    need(shutil.which("cc") or shutil.which("gcc"), "needs a C compiler (.ci/install-cpu.sh)")
    target = tmp_path / "real-squeue"
    target.write_text('#!/bin/sh\necho "real: $*"\nexit 3\n')
    target.chmod(0o755)
    shim = real.build_shim(tmp_path / "bin", str(target))
    log = tmp_path / "calls.log"
    env = {"PATH": "/usr/bin:/bin", "FAKE_SLURM_LOG": str(log), "FAKE_SLURM_PHASE": "p1"}
    before = time.time()
    got = subprocess.run(
        [str(shim), "-h", "-j", "42", "-o", "%T %B"], env=env, capture_output=True, text=True
    )
    # the real program ran with the same arguments, and its exit status is the shim's
    assert (got.returncode, got.stdout) == (3, "real: -h -j 42 -o %T %B\n"), got
    lines = log.read_text().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].split(" ", 3)[1:] == ["p1", str(os.getuid()), "-h -j 42 -o %T %B"]
    # counted by the status-load benchmark's own reader, under this phase's tag only
    stamps = real.status_load._calls(log, "p1")
    assert len(stamps) == 1 and before - 1 <= stamps[0] <= time.time() + 1
    assert real.status_load._calls(log, "p2") == []
    # without a log the shim only runs the real program
    quiet = subprocess.run([str(shim), "x"], env={"PATH": "/usr/bin:/bin"}, capture_output=True)
    assert quiet.returncode == 3 and len(log.read_text().splitlines()) == 1


def test_daemon_meter_reads_a_process_cpu(real: Any) -> None:
    burn = (
        "import time\nt = time.process_time()\n"
        "while time.process_time() - t < 0.6: pass\ntime.sleep(30)"
    )
    child = subprocess.Popen([sys.executable, "-c", burn])
    try:
        meter = real.DaemonMeter({"busy": child.pid, "me": os.getpid()})
        meter.open()
        time.sleep(1.5)  # the child burns 0.6 s of CPU, then sleeps
        meter.close()
    finally:
        child.kill()
        child.wait()
    assert 0.3 <= meter.spent["busy"] <= 1.0, meter.spent
    assert meter.spent["me"] < 0.3, meter.spent  # this process slept
    assert meter.per_s("busy") == pytest.approx(meter.spent["busy"] / meter.elapsed)


def test_results_table_has_both_spawners_and_the_controller(real: Any) -> None:
    common = dict(
        queued=0,
        scale=10.0,
        window_s=24.0,
        commands=10,
        cpu_raw_s_per_min=0.0,
        idle_s_per_min=0.0,
        command_cpu_s_per_min=0.1,
        worst_stall_s=0.001,
        leftover_calls=0,
        fake_squeue="real",
        loadavg=[1.0, 2.5],
    )
    results = [
        real.RealLoadResult(
            kind="batchspawner",
            running=10,
            commands_per_min=20.0,
            commands_asked_per_min=20.0,
            cpu_s_per_min=0.04,
            slurmctld_cpu_s_per_min=0.2,
            **common,
        ),
        real.RealLoadResult(
            kind="jobspawner",
            running=10,
            commands_per_min=4.0,
            commands_asked_per_min=4.0,
            cpu_s_per_min=0.01,
            slurmctld_cpu_s_per_min=0.05,
            **common,
        ),
    ]
    summary = real.summarize(results)
    (row,) = summary["rows"]
    assert row["cpu_ratio"] == pytest.approx(0.25)
    assert row["slurmctld_ratio"] == pytest.approx(0.25)
    assert summary["loadavg"] == {"min": 1.0, "max": 2.5}
    table = real.markdown(summary)
    assert "| 10 | 0 | 10 | 20.0 (20) / 4.0 | 0.040 / 0.010 | 0.250 |" in table
    assert "0.200 / 0.050" in table and "1.00 to 2.50" in table


def test_largest_phase_and_run_words_come_from_the_figures(real: Any) -> None:
    base = dict(
        queued=0,
        scale=1.0,
        window_s=60.0,
        commands=10,
        cpu_raw_s_per_min=0.0,
        idle_s_per_min=0.0,
        command_cpu_s_per_min=0.5,
        worst_stall_s=0.001,
        leftover_calls=0,
        fake_squeue="real",
        loadavg=[1.0, 1.5],
    )
    results = [
        real.RealLoadResult(
            kind="batchspawner",
            running=1000,
            commands_per_min=2000.0,
            commands_asked_per_min=2000.0,
            cpu_s_per_min=2.0,
            slurmctld_cpu_s_per_min=1.5,
            munged_cpu_s_per_min=1.0,
            **base,
        ),
        real.RealLoadResult(
            kind="jobspawner",
            running=1000,
            commands_per_min=4.0,
            commands_asked_per_min=4.0,
            cpu_s_per_min=0.05,
            slurmctld_cpu_s_per_min=0.03,
            munged_cpu_s_per_min=0.0,
            **base,
        ),
    ]
    memory = {"available_mb": 20000.0, "steps": 0.0, "steps_pss_mb": 0.0, "steps_rss_mb": 0.0}
    memory |= {"job_processes": 0.0, "job_processes_pss_mb": 0.0, "slurmctld_rss_mb": 20.0}
    during = memory | {"available_mb": 18000.0, "steps": 1000.0, "steps_pss_mb": 900.0}
    info = {
        "running_jobs": 1000,
        "held_jobs": 20,
        "node_cpus": 1004,
        "munged_own": True,
        "uptime_before": [0.5, 0.4, 0.3],
        "uptime_after": [2.0, 1.0, 0.5],
        "memory_before": memory,
        "memory_running": during,
        "submit_and_start_s": 30.0,
        "cancel_s": 50.0,
        "duration_s": 900.0,
    }
    summary = real.summarize(results, info)
    assert summary["run"] is info
    (row,) = summary["rows"]
    assert row["slurmctld_ratio"] == pytest.approx(0.02)
    assert row["munged_ratio"] == 0.0
    table = real.markdown(summary)
    assert "| 1.500 / 0.030 | 1.000 / 0.000 | 0.500 / 0.500 |" in table  # ctld, munged, client
    assert "At 1000 running servers jobspawner ran 1/500 of the anchor's `squeue` calls" in table
    assert "hub CPU was 1/40 of the anchor's" in table
    assert "slurmctld's CPU above idle 1/50 (0.030 against 1.500 s/min)" in table
    assert "munged's 0 (0.000 against 1.000 s/min)" in table  # no resolution recorded
    # a figure within the meter's resolution of zero reads as a bound
    row["jobspawner"]["daemon_resolution_s_per_min"] = 0.05
    bound = real.markdown(summary)
    assert "slurmctld's CPU above idle within the meter's resolution (0.050 s/min: 0.030 " in bound
    assert "against 1.500 s/min), under 1/30 of the anchor's" in bound
    assert "munged's within the meter's resolution (0.050 s/min: 0.000 against 1.000" in bound
    row["jobspawner"]["daemon_resolution_s_per_min"] = 0.03  # at the resolution: a bound too
    assert "within the meter's resolution (0.030 s/min: 0.030 against" in real.markdown(summary)
    assert "1000 slurmstepd processes of 900 MB" in table
    assert "available memory fell by 2000 MB" in table
    assert "before the jobs: 0.50, 0.40, 0.30; after their cancellation: 2.00, 1.00, 0.50" in table
    assert "its own munged" in table and "The run took 15.0 minutes." in table


def test_a_thousand_servers_run_in_real_time(real: Any) -> None:
    phases = real.parse_phases("10,1000", 20, 60.0)
    assert [(p.running, p.queued, p.scale) for p in phases] == [
        (10, 0, 10.0),
        (1000, 0, 1.0),
        (0, 20, 1.0),
    ]
    assert max(p.running for p in real.PHASES) == 1000


def test_job_memory_counts_only_the_given_jobs_steps(tmp_path: Path) -> None:
    sys.path.insert(0, str(BENCH))
    try:
        import job_memory
    finally:
        sys.path.remove(str(BENCH))
    # a process named as slurmstepd names a job's step, with a job process below it; ids no
    # real cluster's job has (another session's Slurm may run on this host)
    ours, other_id = f"t{os.getpid()}", f"u{os.getpid()}"
    step = subprocess.Popen(
        ["bash", "-c", f'exec -a "slurmstepd: [{ours}.batch]" bash -c "sleep 30 & wait"'],
        start_new_session=True,
    )
    try:
        got = job_memory.when_started([ours], {"me": os.getpid()}, 1, 1, timeout=10.0)
        other = job_memory.when_started([other_id], {}, 1, 1, timeout=0.5)
    finally:
        os.killpg(step.pid, signal.SIGKILL)  # the step and the sleep below it
        step.wait()
    assert got["steps"] == 1 and got["job_processes"] == 1, got
    assert got["steps_pss_mb"] > 0 and got["steps_rss_mb"] >= got["steps_pss_mb"], got
    assert got["me_rss_mb"] > 1 and got["available_mb"] > 0, got
    assert got["started_after_s"] < 10.0, got
    assert other["steps"] == 0 and other["job_processes"] == 0, other  # waited, then gave up
    assert other["started_after_s"] >= 0.5, other


def test_table_from_a_kept_json_goes_between_the_markers(
    real: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    common = dict(queued=0, scale=1.0, window_s=60.0, commands=10, cpu_raw_s_per_min=0.0)
    common |= dict(idle_s_per_min=0.0, command_cpu_s_per_min=0.5, worst_stall_s=0.001)
    common |= dict(leftover_calls=0, fake_squeue="real", loadavg=[1.0, 1.5], running=1000)
    common |= dict(cpu_s_per_min=0.1)
    results = [
        real.RealLoadResult(kind=kind, commands_per_min=n, commands_asked_per_min=n, **common)
        for kind, n in (("batchspawner", 1987.0), ("jobspawner", 4.0))
    ]
    kept = tmp_path / "kept.json"
    kept.write_text(json.dumps(real.summarize(results)))
    page = tmp_path / "performance.md"
    page.write_text(f"before\n{real.MARK_BEGIN} x -->\nold table\n{real.MARK_END}\nafter\n")
    monkeypatch.setattr(real, "PAGE", page)
    assert real.main(["--table-from", str(kept)]) == 0
    text = page.read_text()
    assert "old table" not in text and "| 1000 | 0 | 1 | 1987.0 (1987) / 4.0 |" in text
    assert text.startswith("before\n") and text.endswith(f"{real.MARK_END}\nafter\n")
