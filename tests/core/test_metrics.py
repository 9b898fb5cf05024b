"""jobspawner's Prometheus metrics (jobspawner.lifecycle.metrics): what each event records, bounded
labels, never an error into the spawn path, and the docs and dashboard that list them."""

from __future__ import annotations

import asyncio
import json
import re
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from jobspawner.contract.commands import Command, CommandError, CommandRunner
from jobspawner.contract.status import JobState, JobStatus
from jobspawner.facade.submit_errors import REFUSED, UNREACHABLE
from jobspawner.lifecycle import metrics
from jobspawner.lifecycle.poller import StatusPoller
from jobspawner.lifecycle.start_clock import StartClock
from jupyterhub.spawner import SpawnException
from prometheus_client import REGISTRY

DOCS = Path(__file__).resolve().parents[2] / "docs"
P = "jupyterhub_jobspawner_"


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(P + name, labels) or 0.0


# --- labels --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("argv", "label"),
    [
        (["sbatch", "--parsable"], "sbatch"),
        (["/opt/slurm/23.02/bin/squeue", "-h"], "squeue"),
        (["condor_q", "-json"], "condor_q"),
        (
            ["/usr/bin/python3", "-I", "-m", "jobspawner.jobside.local_jobs", "status", "1"],
            "local_jobs",
        ),
        (["/home/alice/bin/my-own-sbatch-wrapper"], "other"),
        (["sbatch\nalice"], "other"),
    ],
)
def test_a_command_label_is_a_known_program_or_other(argv, label):
    assert metrics.command_label(Command(argv)) == label


def test_profile_labels_are_bounded(monkeypatch):
    monkeypatch.setattr(metrics, "_profiles", set())
    monkeypatch.setattr(metrics, "MAX_PROFILES", 3)
    assert metrics.profile_label("Alice's\nown profile") == "other"
    assert [metrics.profile_label(s) for s in ("a", "b", "", None, "c", "d", "a")] == [
        "a", "b", "", "", "c", "other", "a"
    ]  # fmt: skip


# --- failure reasons -----------------------------------------------------------------------
def _submit_failure(problem: str | None, returncode: int | None = 1) -> SpawnException:
    cause = CommandError(Command(["sbatch"]), returncode, problem=problem)
    try:
        raise SpawnException("Submitting the job failed", reason="submit") from cause
    except SpawnException as e:
        return e


def _clock(running: bool) -> StartClock:
    began = time.monotonic() - 100
    clock = StartClock(10, 10, 1000, began)
    if running:
        clock.running(began + 5)
    return clock


@pytest.mark.parametrize(
    ("error", "clock", "reason"),
    [
        (SpawnException("x", reason="job_ended"), None, "job_ended"),
        (SpawnException("x", reason="timeout"), _clock(running=False), "queue_timeout"),
        (SpawnException("x", reason="timeout"), _clock(running=True), "server_start_timeout"),
        (SpawnException("x", reason="timeout"), None, "start_timeout"),
        (_submit_failure(REFUSED), None, "submit_refused"),
        (_submit_failure(UNREACHABLE), None, "scheduler_unreachable"),
        (_submit_failure("timed out after 30 s", None), None, "scheduler_unreachable"),
        (_submit_failure("could not start: no such file", None), None, "scheduler_unreachable"),
        (SpawnException("x", reason="server_check"), None, "server_check"),
        (SpawnException("x", reason="something a plugin made up"), None, "other"),
        (RuntimeError("alice's secret words"), None, "other"),
    ],
)
def test_each_failure_has_a_reason_from_the_fixed_list(error, clock, reason):
    assert metrics.failure_reason(error, clock) == reason
    assert reason in metrics.FAILURE_REASONS


def _spawner(profile: str = "", clock: StartClock | None = None) -> SimpleNamespace:
    return SimpleNamespace(
        backend="unit", record=SimpleNamespace(profile=profile), spawn_clock=clock
    )


def test_a_failed_spawn_counts_under_its_reason_and_creates_the_others_at_zero():
    labels = {"backend": "unit", "profile": "gpu"}
    before = sample("spawn_failures_total", reason="job_ended", **labels)
    metrics.spawn_failed(_spawner("gpu"), SpawnException("x", reason="job_ended"))
    assert sample("spawn_failures_total", reason="job_ended", **labels) == before + 1
    assert (
        REGISTRY.get_sample_value(P + "spawn_failures_total", {"reason": "queue_timeout", **labels})
        == 0.0
    )


def test_a_ready_spawn_observes_queue_wait_and_server_start():
    began = time.monotonic() - 12
    clock = StartClock(600, 600, 1300, began)
    clock.running(began + 10)
    labels = {"backend": "unit", "profile": "ready"}
    metrics.spawn_ready(_spawner("ready", clock))
    assert sample("spawn_queue_wait_seconds_count", **labels) == 1
    assert sample("spawn_queue_wait_seconds_sum", **labels) == pytest.approx(10, abs=0.01)
    assert sample("spawn_server_start_seconds_sum", **labels) == pytest.approx(2, abs=0.5)
    assert sample("spawn_queue_wait_seconds_bucket", le="5.0", **labels) == 0
    assert sample("spawn_queue_wait_seconds_bucket", le="10.0", **labels) == 1


def test_the_hubs_start_declares_each_configured_profiles_series():
    profiles = [
        {"slug": "cpu", "display_name": "CPU"},
        {"slug": "gpu", "display_name": "GPU", "overrides": {"backend": "declared-gpu"}},
    ]
    metrics.declare(SimpleNamespace(backend="declared", profiles=profiles))
    for backend, profile in (("declared", "cpu"), ("declared-gpu", "gpu")):
        labels = {"backend": backend, "profile": profile}
        for reason in metrics.FAILURE_REASONS:
            assert (
                REGISTRY.get_sample_value(P + "spawn_failures_total", {**labels, "reason": reason})
                == 0.0
            )
        assert REGISTRY.get_sample_value(P + "spawn_queue_wait_seconds_count", labels) == 0.0
    assert REGISTRY.get_sample_value(P + "lost_servers_total", {"backend": "declared"}) == 0.0
    metrics.declare(SimpleNamespace(backend="declared-plain", profiles=lambda spawner: []))
    assert (
        REGISTRY.get_sample_value(
            P + "spawn_server_start_seconds_count", {"backend": "declared-plain", "profile": ""}
        )
        == 0.0
    )


def test_metrics_never_raise_into_the_spawn_path():
    broken = SimpleNamespace()  # no backend, no clock: recording fails, quietly
    metrics.spawn_ready(broken)
    metrics.spawn_failed(broken, SpawnException("x", reason="timeout"))
    metrics.server_lost(broken)
    metrics.declare(SimpleNamespace(backend="x", profiles=[{"no slug": 1}]))


# --- commands ------------------------------------------------------------------------------
async def test_a_slow_command_shows_in_the_latency_histogram():
    count = sample("command_duration_seconds_count", command="sh")
    fast = sample("command_duration_seconds_bucket", command="sh", le="0.25")
    total = sample("command_duration_seconds_sum", command="sh")
    await CommandRunner().run(Command(["sh", "-c", "sleep 0.4"]))
    assert sample("command_duration_seconds_count", command="sh") == count + 1
    assert sample("command_duration_seconds_bucket", command="sh", le="0.25") == fast
    assert sample("command_duration_seconds_sum", command="sh") - total >= 0.4


async def test_command_errors_and_timeouts_are_counted_by_kind():
    def errors(kind: str) -> float:
        return sample("command_errors_total", command="sh", error=kind)

    exit_status, timeout = errors("exit_status"), errors("timeout")
    with pytest.raises(CommandError):
        await CommandRunner().run(Command(["sh", "-c", "exit 3"]))
    result = await CommandRunner().run(Command(["sh", "-c", "exit 4"]), check=False)
    assert result.returncode == 4
    with pytest.raises(CommandError):
        await CommandRunner(timeout=0.2).run(Command(["sh", "-c", "sleep 5"]))
    assert errors("exit_status") == exit_status + 2
    assert errors("timeout") == timeout + 1
    before = sample("command_errors_total", command="other", error="not_started")
    with pytest.raises(CommandError):
        await CommandRunner().run(Command(["no-such-program-here"]))
    assert sample("command_errors_total", command="other", error="not_started") == before + 1


# --- status rounds -------------------------------------------------------------------------
async def test_status_rounds_and_jobs_by_state():
    states = {"1": JobState.RUNNING, "2": JobState.PENDING, "3": JobState.PENDING}

    async def query(ids):
        await asyncio.sleep(0.05)
        return {i: JobStatus(states[i]) for i in ids}

    poller = StatusPoller(metrics.timed_query("rounds", query), batch_delay=0)
    metrics.count_jobs("rounds", poller)
    for job_id in states:
        poller.watch(job_id)
    await poller.status("1")
    assert sample("status_round_duration_seconds_count", backend="rounds") == 1
    assert sample("status_round_duration_seconds_sum", backend="rounds") >= 0.05
    assert sample("status_round_jobs_sum", backend="rounds") == 3
    assert sample("jobs", backend="rounds", state="pending") == 2
    assert sample("jobs", backend="rounds", state="running") == 1
    assert REGISTRY.get_sample_value(P + "jobs", {"backend": "rounds", "state": "held"}) == 0
    states["1"] = JobState.DONE  # a finished job leaves the watch list, and the count
    await poller.status("1")
    assert sample("jobs", backend="rounds", state="running") == 0
    poller.forget("2")
    assert sample("jobs", backend="rounds", state="pending") == 1


async def test_a_failed_status_round_is_counted():
    async def query(ids):
        raise CommandError(Command(["squeue"]), 1, problem="exited with status 1")

    poller = StatusPoller(metrics.timed_query("failing", query), batch_delay=0)
    status = await poller.status("7")
    assert status.state is JobState.UNKNOWN
    assert sample("status_round_failures_total", backend="failing") == 1
    assert sample("status_round_duration_seconds_count", backend="failing") == 1


def test_watched_servers_gauge_follows_the_watch_registry(monkeypatch):
    monkeypatch.setattr(metrics.WATCHES, "watches", {object(), object()})
    monkeypatch.setattr(metrics.WATCHES, "down", {object()})
    assert sample("watched_servers") == 2
    assert sample("unreachable_servers") == 1


# --- the docs and the dashboard ------------------------------------------------------------
def _exported_names() -> set[str]:
    """Every metric name jobspawner exports, as PromQL sees it."""
    return {
        family.name + ("_total" if family.type == "counter" else "")
        for family in REGISTRY.collect()
        if family.name.startswith(P)
    }


def test_every_metric_is_documented_and_every_dashboard_metric_exists():
    page = (DOCS / "metrics.md").read_text()
    assert "metrics" in (DOCS / "index.md").read_text()
    exported = _exported_names()
    assert len(exported) >= 12, exported
    for name in exported:
        assert f"`{name}`" in page, f"{name} is not listed in docs/metrics.md"
    dashboard = json.loads((DOCS / "grafana" / "jobspawner.json").read_text())
    panels = [p for p in dashboard["panels"] if p.get("type") != "row"]
    assert panels
    series = {n + s for n in exported for s in ("", "_bucket", "_sum", "_count")}
    for panel in panels:
        exprs = [t["expr"] for t in panel["targets"]]
        assert exprs, panel["title"]
        for expr in exprs:
            used = set(re.findall(r"jupyterhub_jobspawner_[a-z_]+", expr))
            assert used and used <= series, (panel["title"], used - series)
            assert expr in page, f"the query of panel {panel['title']!r} is not in the docs"


async def test_a_lost_server_is_counted(tmp_path):
    from harness.fake_jupyter import fake_server, spawn_server
    from jobspawner.lifecycle import server_watch
    from jupyterhub.objects import Server

    from core.test_server_watch_spawner import started, until
    from core.test_spawner_unit import make_spawner

    spawner = make_spawner(tmp_path, cmd=["sleep", "300"], lost_server_timeout=0.5)
    backend = str(spawner.backend)
    lost = sample("lost_servers_total", backend=backend)
    ready = sample("spawn_queue_wait_seconds_count", backend=backend, profile="")
    async with fake_server(spawn_server("/user/root/", spawner)) as server:
        await started(spawner, server)
    assert sample("spawn_queue_wait_seconds_count", backend=backend, profile="") == ready + 1
    spawner.server = Server(ip="127.0.0.1", port=server.port)
    watch = server_watch.watch_of(spawner)
    assert watch is not None and await until(watch.lost, timeout=5)
    assert await spawner.poll() == 1
    assert sample("lost_servers_total", backend=backend) == lost + 1
    assert await until(lambda: spawner.job_id == "")
