"""Shared status rounds by default: one scheduler command per round for every user's running
and queued jobs, a watcher that notices ended jobs, and who runs the query."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from types import SimpleNamespace

import pytest
from jobspawner.contract.status import JobState, JobStatus
from jobspawner.lifecycle.job_start import JobStart
from jobspawner.lifecycle.poller import StatusPoller
from jobspawner.spawner import JobSpawner
from jupyterhub.objects import Hub

from core.test_spawner_unit import progress_until

FAKE = Path(__file__).resolve().parents[2] / "benchmarks" / "fake_slurm"
pytest.importorskip("jobspawner_slurm")


def follow(spawner: JobSpawner) -> JobStart:
    """A start that follows the spawner's loaded job, as ``start()`` does once it submitted
    it (its session and port report as there; far from its limits)."""
    start = JobStart(spawner.job_session(), spawner, spawner.context())
    start.port = spawner.expect_port()
    spawner.watch_job(hurry=True)
    return start


def slurm_spawner(tmp_path: Path, user: str, **config) -> JobSpawner:
    settings = {
        "backend": "slurm",
        "backend_options": {"squeue": str(FAKE / "squeue"), "sacct": ""},
        "exec_prefix": ["env", "JOBSPAWNER_AS={username}"],  # a per-user prefix, as sites use
        "command_env_keep": ["FAKE_SLURM_*"],
        "start_timeout": 600,
        **config,
    }
    spawner = JobSpawner(
        user=SimpleNamespace(name=user, url=f"/user/{user}/", escaped_name=user, id=1),
        hub=Hub(ip="127.0.0.1", port=8081, base_url="/hub/"),
        **settings,
    )
    return spawner


@pytest.fixture
def fake_slurm(tmp_path, monkeypatch):
    state, log = tmp_path / "jobs.json", tmp_path / "calls.log"
    log.write_text("")
    monkeypatch.setenv("FAKE_SLURM_STATE", str(state))
    monkeypatch.setenv("FAKE_SLURM_LOG", str(log))
    JobSpawner._pollers.clear()

    def set_jobs(jobs: dict[str, tuple[str, str]]) -> None:
        state.write_text(json.dumps(jobs))

    def calls() -> list[str]:
        return log.read_text().splitlines()

    yield SimpleNamespace(set_jobs=set_jobs, calls=calls)
    JobSpawner._pollers.clear()


async def test_one_command_per_round_for_all_users_running_and_queued(tmp_path, fake_slurm):
    """10 users with running servers and 3 with queued spawns, default settings except the
    intervals (scaled down): every round is one squeue for all 13 jobs, as the hub."""
    users = [f"user{i}" for i in range(13)]
    jobs = {str(100 + i): ("RUNNING" if i < 10 else "PENDING", f"node{i}") for i in range(13)}
    fake_slurm.set_jobs(jobs)
    spawners = [
        slurm_spawner(tmp_path, u, status_interval=0.6, startup_poll_interval=0.2) for u in users
    ]
    assert len({id(s.poller()) for s in spawners}) == 1  # one poller for every user
    for spawner, job_id in zip(spawners, jobs, strict=True):
        spawner.load_state({"job_id": job_id, "job_output": "/dev/null"})
    queued = []
    for spawner in spawners[10:]:  # queued spawns follow their jobs as start() does
        queued.append(asyncio.ensure_future(follow(spawner).wait_until_ready(1e12)))

    async def jupyterhub_polls() -> None:  # every running server polled often
        while True:
            await asyncio.gather(*(s.poll() for s in spawners[:10]))
            await asyncio.sleep(0.05)

    poller = asyncio.ensure_future(jupyterhub_polls())
    await asyncio.sleep(2.0)
    poller.cancel()
    for task in queued:
        task.cancel()
    await asyncio.gather(poller, *queued, return_exceptions=True)
    calls = fake_slurm.calls()
    # hurried rounds every 0.2 s while spawns are queued: about 10 in 2 s, never one per user
    assert 3 <= len(calls) <= 14, calls
    for call in calls:
        _stamp, _phase, uid, argv = call.split(" ", 3)  # the fake squeue's log line
        assert int(uid) == os.getuid()
        listed = argv.split("--jobs=")[1].split(" ")[0].split(",")
        assert sorted(set(listed)) == sorted(jobs)  # every job of every user in each call


async def test_one_command_per_interval_when_only_running(tmp_path, fake_slurm):
    fake_slurm.set_jobs({str(200 + i): ("RUNNING", "n") for i in range(20)})
    spawners = [slurm_spawner(tmp_path, f"u{i}", status_interval=0.5) for i in range(20)]
    for i, spawner in enumerate(spawners):
        spawner.load_state({"job_id": str(200 + i)})
    await asyncio.sleep(0.1)
    start = len(fake_slurm.calls())
    for _ in range(20):  # JupyterHub polls every spawner many times
        assert all(r is None for r in await asyncio.gather(*(s.poll() for s in spawners)))
        await asyncio.sleep(0.1)
    made = len(fake_slurm.calls()) - start
    assert 2 <= made <= 6, made  # about one per 0.5 s in 2 s, not 20 spawners x 20 polls


async def test_ended_job_runs_jupyterhubs_handling_at_the_next_round(tmp_path, fake_slurm):
    """A job cancelled while its server runs: the watcher's round sees it and runs
    poll_and_notify, whose callbacks are JupyterHub's own (user_stopped)."""
    fake_slurm.set_jobs({"300": ("RUNNING", "n"), "301": ("RUNNING", "n")})
    spawner = slurm_spawner(tmp_path, "alice", status_interval=0.3, poll_interval=3600)
    spawner.load_state({"job_id": "300"})
    other = slurm_spawner(tmp_path, "bob", status_interval=0.3, poll_interval=3600)
    other.load_state({"job_id": "301"})
    stopped = asyncio.Event()
    spawner.add_poll_callback(stopped.set)
    spawner.start_polling()  # as JupyterHub does for a running server
    other.start_polling()
    await asyncio.sleep(0.5)
    assert not stopped.is_set()
    fake_slurm.set_jobs({"301": ("RUNNING", "n")})  # scancel 300; squeue forgets it
    await asyncio.wait_for(stopped.wait(), timeout=5)  # long before poll_interval (1 h)
    assert await spawner.poll() == 0 and await other.poll() is None
    spawner.stop_polling()
    other.stop_polling()


def test_status_identity_by_default(tmp_path):
    slurm = slurm_spawner(tmp_path, "alice")
    ctx_prefix = slurm.context().query_runner.prefix
    assert ctx_prefix == ()  # the hub's identity: squeue reads nothing a user controls
    local = JobSpawner(
        user=SimpleNamespace(name="alice", url="/user/alice/", escaped_name="alice", id=1),
        exec_prefix=["sudo", "-u", "{username}"],
    )
    assert local.context().query_runner.prefix == ("sudo", "-u", "alice")  # per-user spool
    per_user = slurm_spawner(tmp_path, "bob", status_exec_prefix=["sudo", "-u", "{username}"])
    assert per_user.context().query_runner.prefix == ("sudo", "-u", "bob")
    assert slurm.poller() is not per_user.poller()


async def test_hidden_jobs_are_confirmed_as_their_user(tmp_path, fake_slurm, monkeypatch):
    """PrivateData=jobs: the hub's query does not list bob's job; asked as bob it is there,
    so the server is not taken for ended."""
    fake_slurm.set_jobs({"400": ("RUNNING", "n")})
    hide = tmp_path / "hide"
    hide.write_text("{}")
    spawner = slurm_spawner(
        tmp_path,
        "bob",
        exec_prefix=["env", f"FAKE_SLURM_STATE={fake_slurm_state(tmp_path)}"],
        status_exec_prefix=["env", f"FAKE_SLURM_STATE={hide}"],
    )
    spawner.load_state({"job_id": "400"})
    assert await spawner.poll() is None


def fake_slurm_state(tmp_path: Path) -> str:
    return str(tmp_path / "jobs.json")


async def test_watcher_paces_rounds_and_hurries():
    calls: list[float] = []
    states = {"a": JobStatus(JobState.RUNNING), "b": JobStatus(JobState.PENDING)}

    async def query(ids):
        calls.append(asyncio.get_running_loop().time())
        return {i: states[i] for i in ids}

    poller = StatusPoller(query, batch_delay=0, interval=0.5, fast_interval=0.1)
    seen: list[str] = []
    poller.watch("a", lambda job, status: seen.append(job))
    await asyncio.sleep(1.2)
    slow = len(calls)
    assert 2 <= slow <= 4
    poller.watch("b")
    poller.hurry("b")
    await asyncio.sleep(0.6)
    assert len(calls) - slow >= 4  # hurried: one round per 0.1 s for all jobs
    poller.relax("b")
    states["a"] = JobStatus(JobState.CANCELLED)
    await asyncio.sleep(0.7)
    assert seen == ["a"] and "a" not in poller.watched


async def test_queued_spawns_wake_only_when_their_job_changes(tmp_path, fake_slurm):
    """Hurried rounds run every startup interval for all queued spawns, but a spawn whose
    job still waits is not woken by them: only a change of its own job's status (or its
    port report) wakes it. One job starts running: only its spawn moves on."""
    jobs = {str(400 + i): ("PENDING", "") for i in range(3)}
    fake_slurm.set_jobs(jobs)
    spawners = [slurm_spawner(tmp_path, f"q{i}", startup_poll_interval=0.1) for i in range(3)]
    looked: dict[str, int] = {}
    tasks = []
    for spawner, job_id in zip(spawners, jobs, strict=True):
        spawner.load_state({"job_id": job_id, "job_output": "/dev/null"})
        start = follow(spawner)
        real = start.session.shared_status

        async def counted(poller, fresh=False, real=real, job_id=job_id):
            looked[job_id] = looked.get(job_id, 0) + 1
            return await real(poller, fresh)

        start.session.shared_status = counted
        tasks.append(asyncio.ensure_future(start.wait_until_ready(1e12)))
    try:
        await asyncio.sleep(1.5)
        rounds = len(fake_slurm.calls())
        assert rounds >= 6  # one shared round per 0.1 s (the fake squeue takes a while)
        assert all(n <= 2 for n in looked.values()), looked  # not one look per round
        before = dict(looked)
        fake_slurm.set_jobs({**jobs, "401": ("RUNNING", "node7")})
        said: list[str] = []
        for _ in range(50):
            await asyncio.sleep(0.1)
            # no start() runs: the stream gives what was said so far, and ends
            said = await progress_until(spawners[1], lambda m: "running on node7" in m)
            if any("running on node7" in m for m in said):
                break
        assert any("running on node7" in m for m in said), said
        assert looked["401"] > before["401"]
        assert looked["400"] == before["400"] and looked["402"] == before["402"]
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for spawner in spawners:
            await spawner.poller().close()


def test_remembered_poller_follows_settings_and_the_registry(tmp_path, fake_slurm):
    """JupyterHub polls often, so a spawner remembers its shared poller; a changed setting
    or a cleared registry (hub shutdown, tests) gives the poller the key now names."""
    spawner = slurm_spawner(tmp_path, "memo", status_interval=5)
    first = spawner.poller()
    assert spawner.poller() is first
    spawner.status_interval = 7  # another round pace: another shared poller
    second = spawner.poller()
    assert second is not first and second.interval == 7
    assert slurm_spawner(tmp_path, "other", status_interval=7).poller() is second
    JobSpawner._pollers.clear()
    assert spawner.poller() is not second


def test_status_per_user_is_a_declared_hook(caplog):
    """The local backend says so through the hook, Slurm does not; a plugin module that still
    sets the old attribute is honoured (its status reads users' files) and its admin is told
    once."""
    import types

    import jobspawner_slurm.hooks
    from jobspawner.facade.backend import backend_from_plugin, load_backend

    local = load_backend("local")
    assert local.status_per_user() is True and local.implemented("status_per_user")
    assert load_backend("slurm").status_per_user() is False
    site = types.ModuleType("oldsite")
    site.jobspawner_status_per_user = True
    legacy = backend_from_plugin("slurm", jobspawner_slurm.hooks, plugins=[site])
    assert legacy.status_per_user() is True and legacy.status_per_user() is True
    warnings = [r for r in caplog.records if "status_per_user hook" in r.getMessage()]
    assert len(warnings) == 1
