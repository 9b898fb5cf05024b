"""The condor backend through load_backend + make_context on the emulator, jobs as alice."""

from __future__ import annotations

import asyncio
import os
import stat
from pathlib import Path
from typing import Any

import pytest
from condor.condorkit import Pool, wait_for
from jobspawner import CommandError, JobSpec, JobState
from jobspawner.contract.context import BackendContext, make_context
from jobspawner.contract.status import VANISHED_REASON
from jobspawner.facade import defaults
from jobspawner.facade.backend import Backend, load_backend

ALICE = ["runuser", "-u", "alice", "--"]

#: the emulator's own variables, kept by the commands (as a site keeps its scheduler's)
EMULATOR_ENV = ["CONDOR_EMU_*"]


def make_spec(pool: Pool, name: str, command: list[str], **resources: Any) -> JobSpec:
    """A spec built like the spawner's (JobSpec.create); ``resources`` override variables."""
    options = resources.pop("options", {})
    return JobSpec.create(
        username="alice",
        server_name=name,
        job_name=f"jupyter-alice-{name}",
        output_file=f"{pool.jobs}/alice-logs/jupyter-alice-{name}.log",
        workdir=str(pool.jobs),
        command=command,
        env={"JUPYTERHUB_API_TOKEN": "tok-123", "GREETING": "hello world"},
        options=options,
        variables=resources,
    )


def setup(options: dict[str, Any] | None = None) -> tuple[Backend, BackendContext]:
    backend = load_backend("condor")
    return backend, make_context(
        backend, options=options or {}, prefix=ALICE, timeout=20, env_keep=EMULATOR_ENV
    )


async def submit(backend: Backend, ctx: BackendContext, spec: JobSpec) -> str:
    script = backend.render_script(spec, backend.script_template(spec) or "")
    return await backend.submit(ctx, spec, script)


async def wait_state(
    backend: Backend, ctx: BackendContext, job_id: str, states: set[JobState], timeout: float = 10
) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        status = (await backend.query_status(ctx, [job_id]))[job_id]
        if status.state in states:
            return status
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"job {job_id} stayed {status}")
        await asyncio.sleep(0.2)


SLEEP = ["/bin/sh", "-c", 'echo "$GREETING from $(id -un)"; sleep 60']


async def test_submit_run_query_cancel(pool: Pool) -> None:
    backend, ctx = setup()
    spec = make_spec(pool, "a", SLEEP, cpus=1, memory_mb=256, runtime_s=600)
    job_id = await submit(backend, ctx, spec)
    assert job_id.endswith(".0")
    other = await submit(backend, ctx, make_spec(pool, "b", SLEEP))
    statuses = await backend.query_status(ctx, [job_id, other])
    assert set(statuses) == {job_id, other}
    status = await wait_state(backend, ctx, job_id, {JobState.RUNNING})
    assert status.host == os.uname().nodename and status.native_state == "2"
    assert backend.get_host(status, ctx.options) == status.host
    assert "running on" in backend.describe_status(status)
    await asyncio.sleep(0.3)
    assert (await backend.read_log(ctx, spec.output_file, 5)).strip() == "hello world from alice"
    script = Path(spec.output_file).with_suffix(".condor.sh")
    st = script.stat()
    assert stat.S_IMODE(st.st_mode) == 0o700 and st.st_uid == Path(spec.output_file).stat().st_uid
    ad = pool.job(job_id) or {}
    assert ad["RequestMemory"] == 256 and ad["MaxRuntime"] == 600
    assert "tok-123" not in str(ad)  # the API token is not in the job ClassAd
    await backend.cancel(ctx, [job_id, other])
    after = await backend.query_status(ctx, [job_id, other])
    assert {s.state for s in after.values()} == {JobState.CANCELLED}
    assert after[job_id].reason == "via condor_rm (by user alice)"
    # a removed running job stays in the queue as X (JobStatus 3) until its process is gone
    wait_for(lambda: pool.job(job_id) is None and pool.history(job_id))


async def test_completed_and_failed_jobs_come_from_history(pool: Pool) -> None:
    backend, ctx = setup()
    ok = await submit(backend, ctx, make_spec(pool, "ok", ["/bin/true"]))
    bad_spec = make_spec(pool, "bad", ["/bin/sh", "-c", "echo 'Traceback: boom' >&2; exit 3"])
    bad = await submit(backend, ctx, bad_spec)
    done = await wait_state(backend, ctx, ok, {JobState.DONE})
    assert done.exit_code == 0 and done.reason is None and done.host
    failed = await wait_state(backend, ctx, bad, {JobState.FAILED})
    assert failed.exit_code == 3
    assert "Traceback: boom" in await backend.read_log(ctx, bad_spec.output_file, 10)
    assert pool.job(bad) is None  # it left the queue: the state came from condor_history


async def test_idle_job_says_why_and_cancels(pool: Pool) -> None:
    pool.machine(cpus=2, memory=4096)
    backend, ctx = setup()
    job_id = await submit(backend, ctx, make_spec(pool, "big", SLEEP, memory_mb=65536, cpus=2))
    status = await wait_state(backend, ctx, job_id, {JobState.PENDING})
    for _ in range(20):
        if status.reason:
            break
        await asyncio.sleep(0.1)
        status = (await backend.query_status(ctx, [job_id]))[job_id]
    assert status.reason == "no match found" and status.host is None
    text = backend.describe_status(status)
    assert "no machine in the pool can take it" in text and "2 CPUs, 65536 MiB" in text
    await backend.cancel(ctx, [job_id])
    assert (await backend.query_status(ctx, [job_id]))[job_id].state is JobState.CANCELLED


async def test_held_job_reports_its_reason(pool: Pool) -> None:
    backend, ctx = setup()
    job_id = await submit(backend, ctx, make_spec(pool, "held", SLEEP))
    await wait_state(backend, ctx, job_id, {JobState.RUNNING})
    r = pool.run("condor_hold", "-reason", "maintenance of the pool until 14:00", job_id)
    assert r.returncode == 0, r.stderr
    status = await wait_state(backend, ctx, job_id, {JobState.HELD})
    assert status.reason == "maintenance of the pool until 14:00"
    assert not status.state.finished
    text = backend.describe_status(status)
    assert text.startswith("Your job is on hold: maintenance of the pool until 14:00.")
    assert "put on hold by an administrator or with condor_hold" in text
    await backend.cancel(ctx, [job_id])
    assert (await backend.query_status(ctx, [job_id]))[job_id].state is JobState.CANCELLED


async def test_walltime_removes_the_job(pool: Pool) -> None:
    backend, ctx = setup()
    job_id = await submit(backend, ctx, make_spec(pool, "short", SLEEP, runtime_s=1))
    status = await wait_state(backend, ctx, job_id, {JobState.CANCELLED}, timeout=10)
    assert "PeriodicRemove" in (status.reason or "")


async def test_query_failures_are_unknown_and_missing_jobs_vanished(pool: Pool) -> None:
    backend, ctx = setup()
    status = (await backend.query_status(ctx, ["424242.0"]))["424242.0"]
    assert status.state is JobState.DONE and status.reason == VANISHED_REASON
    broken = make_context(
        backend, options={"condor_q": "/nonexistent/condor_q"}, prefix=ALICE, env_keep=EMULATOR_ENV
    )
    status = (await backend.query_status(broken, ["1.0"]))["1.0"]
    assert status.state is JobState.UNKNOWN
    failing = make_context(
        backend, options={"condor_q": "/bin/false"}, prefix=ALICE, env_keep=EMULATOR_ENV
    )
    assert (await backend.query_status(failing, ["1.0"]))["1.0"].state is JobState.UNKNOWN


async def test_submit_failure_is_a_clear_error(pool: Pool) -> None:
    backend, ctx = setup({"submit_lines": ["universe = grid"]})
    spec = make_spec(pool, "x", SLEEP, options={"submit_lines": ["universe = grid"]})
    try:
        await submit(backend, ctx, spec)
    except Exception as e:  # CommandError
        assert "I don't know about the 'grid' universe" in str(e)
        assert "condor_submit -terse -" in str(e)
    else:
        raise AssertionError("the submit should have failed")


async def test_resources(pool: Pool) -> None:
    pool.machine(cpus=6, memory=16384, gpus=1)
    backend, ctx = setup({"pool_name": "htc"})
    queues = await backend.discover_resources(ctx)
    assert [q.name for q in queues] == ["htc", os.uname().nodename]
    machine = queues[1]
    assert (machine.cpus_per_node, machine.memory_per_node_mb, machine.gpus_per_node) == (
        6,
        16384,
        1,
    )
    assert machine.idle_cpus == 6 and queues[0].default


async def test_cancel_is_quick_and_refusals_are_reported(
    pool: Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(defaults, "CANCEL_CHECKS", 3)
    pool.machine(cpus=1)
    backend, ctx = setup()
    running = await submit(backend, ctx, make_spec(pool, "r", SLEEP))
    idle = await submit(backend, ctx, make_spec(pool, "i", SLEEP, cpus=4))
    await wait_state(backend, ctx, running, {JobState.RUNNING})
    loop = asyncio.get_running_loop()
    started = loop.time()
    await backend.cancel(ctx, [idle])  # idle: leaves the queue at once
    assert loop.time() - started < 3
    await backend.cancel(ctx, ["424242.0"])  # not in the queue: nothing to do
    refusing = make_context(
        backend, options={"condor_rm": "/bin/true"}, prefix=ALICE, env_keep=EMULATOR_ENV
    )
    try:
        await backend.cancel(refusing, [running])
    except CommandError as e:
        assert f"did not remove job(s) {running}" in str(e)
    else:
        raise AssertionError("a cancel that changes nothing must not be confirmed")
    assert (await backend.query_status(ctx, [running]))[running].state is JobState.RUNNING
