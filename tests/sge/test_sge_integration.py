"""The backend against a real Grid Engine (SoGE 8.1.9), through load_backend + make_context.

Jobs are submitted as alice (or bob) through ``runuser``; the hub side runs as root.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pytest
from jobspawner import CommandError, JobSpec, JobState, JobStatus
from jobspawner.contract.context import BackendContext, make_context
from jobspawner.facade.backend import Backend, load_backend

from sge.cluster import SgeCluster
from sge.sgekit import OPTIONS, make_spec

pytestmark = [pytest.mark.scheduler("sge"), pytest.mark.root]


@pytest.fixture(scope="module")
def backend() -> Backend:
    return load_backend("sge")


def context(backend: Backend, user: str = "alice", **options: Any) -> BackendContext:
    return make_context(
        backend,
        options={**OPTIONS, **options},
        prefix=["runuser", "-u", user, "--"],
        username=user,
    )


def job_spec(
    folder: str, user: str = "alice", command: Sequence[str] = ("sleep", "300"), **values: Any
) -> JobSpec:
    name = values.pop("job_name", f"sge-test-{user}")
    options = {**OPTIONS, **values.pop("options", {})}
    home = f"/home/{user}"
    spec = make_spec(
        job_name=name,
        options=options,
        username=user,
        output_file=os.path.join(folder.replace("/home/alice", home), f"{name}.log"),
        workdir=home,
        command=list(command),
        env={"SGE_TEST": "1"},
        **values,
    )
    return JobSpec(
        username=user,
        server_name="",
        job_name=name,
        output_file=spec.variables["output_file"],
        workdir=home,
        command=tuple(command),
        env=spec.env,
        variables=spec.variables,
        options=options,
    )


async def submit(backend: Backend, ctx: BackendContext, spec: JobSpec) -> str:
    script = backend.render_script(spec, backend.script_template(spec) or "")
    return await backend.submit(ctx, spec, script)


async def wait_status(
    backend: Backend,
    ctx: BackendContext,
    ids: list[str],
    ok: Callable[[Mapping[str, JobStatus]], bool],
    timeout: float = 30,
) -> Mapping[str, JobStatus]:
    deadline = time.monotonic() + timeout
    while True:
        statuses = await backend.query_status(ctx, ids)
        if ok(statuses) or time.monotonic() > deadline:
            return statuses
        await asyncio.sleep(0.3)


def all_r(statuses: Mapping[str, JobStatus]) -> bool:
    """Every job in state ``r`` (not only RUNNING: ``t``, being transferred, is RUNNING too)."""
    return all(s.native_state == "r" for s in statuses.values())


def all_in(state: JobState) -> Callable[[Mapping[str, JobStatus]], bool]:
    return lambda st: all(s.state is state for s in st.values())


async def test_submit_status_cancel_one(sge: SgeCluster, backend: Backend, user_dir: str) -> None:
    ctx = context(backend)
    spec = job_spec(user_dir, queue="all.q", runtime="01:00:00", memory_mb=2048)
    t0 = time.monotonic()
    job_id = await submit(backend, ctx, spec)
    assert job_id.isdigit()
    st = await wait_status(backend, ctx, [job_id], all_r)
    assert st[job_id].state is JobState.RUNNING, st
    print(f"submit -> running {time.monotonic() - t0:.2f}s")
    assert st[job_id].host == sge.host and st[job_id].native_state == "r"
    assert backend.get_host(st[job_id], ctx.options) == sge.host
    # it runs as alice, with the resources of the template
    detail = sge.run("qstat", "-j", job_id).stdout
    assert "owner:                      alice" in detail
    assert "hard resource_list:         h_rt=3600,h_vmem=2048M" in detail
    t0 = time.monotonic()
    await backend.cancel(ctx, [job_id])
    print(f"cancel confirmed {time.monotonic() - t0:.2f}s")
    assert job_id not in sge.jobs()
    st = await backend.query_status(ctx, [job_id])
    assert st[job_id].state.finished


async def test_many_jobs_one_query(sge: SgeCluster, backend: Backend, user_dir: str) -> None:
    alice = context(backend)
    bob = context(backend, "bob")
    ids = [await submit(backend, alice, job_spec(user_dir, job_name=f"many-{i}")) for i in range(3)]
    ids.append(await submit(backend, bob, job_spec(user_dir.replace("alice", "bob"), user="bob")))
    # one status query as alice sees bob's job too (the per-user answer falls back to -u '*')
    st = await wait_status(backend, alice, ids, all_in(JobState.RUNNING))
    assert [s.state for s in st.values()] == [JobState.RUNNING] * 4, st
    assert st[ids[3]].extra["owner"] == "bob"
    # a shared poller as root with status_users='*' sees them as well
    root = make_context(backend, options={**OPTIONS, "status_users": "*"})
    assert all(
        s.state is JobState.RUNNING for s in (await backend.query_status(root, ids)).values()
    )
    # alice may not delete bob's job: refused at once, not after retries
    t0 = time.monotonic()
    with pytest.raises(CommandError, match=f"refused for job\\(s\\) {ids[3]}"):
        await backend.cancel(alice, ids)
    assert time.monotonic() - t0 < 5
    await backend.cancel(alice, ids[:3])
    await backend.cancel(bob, ids[3:])
    assert not set(ids) & set(sge.jobs())


async def test_exit_code_from_accounting(sge: SgeCluster, backend: Backend, user_dir: str) -> None:
    ctx = context(backend)
    job_id = await submit(
        backend, ctx, job_spec(user_dir, command=["bash", "-c", "echo out-line; exit 3"])
    )
    st = await wait_status(backend, ctx, [job_id], lambda s: s[job_id].state.finished)
    assert st[job_id].state is JobState.FAILED and st[job_id].exit_code == 3, st
    assert st[job_id].host == sge.host
    log = await backend.read_log(ctx, job_spec(user_dir).output_file, 5)
    assert "out-line" in log


async def test_vanished_without_accounting(
    sge: SgeCluster, backend: Backend, user_dir: str
) -> None:
    ctx = context(backend, use_qacct=False)
    job_id = await submit(backend, ctx, job_spec(user_dir, command=["true"]))
    st = await wait_status(backend, ctx, [job_id], lambda s: s[job_id].state.finished)
    assert st[job_id] == JobStatus.vanished()


async def test_admin_qdel_is_noticed(sge: SgeCluster, backend: Backend, user_dir: str) -> None:
    ctx = context(backend)
    job_id = await submit(backend, ctx, job_spec(user_dir))
    await wait_status(backend, ctx, [job_id], all_r)
    assert "has registered the job" in sge.run("qdel", job_id).stdout
    st = await wait_status(backend, ctx, [job_id], lambda s: s[job_id].state.finished, 15)
    assert st[job_id].state is JobState.FAILED, st
    assert st[job_id].exit_code == 137  # killed: signal 9 (said by jobspawner.contract.exit_words)


async def test_queued_job_says_why(sge: SgeCluster, backend: Backend, user_dir: str) -> None:
    ctx = context(backend)
    job_id = await submit(backend, ctx, job_spec(user_dir, cpus=64))
    st = await wait_status(
        backend, ctx, [job_id], lambda s: "PE" in (s[job_id].reason or ""), timeout=15
    )
    status = st[job_id]
    assert status.state is JobState.PENDING and status.native_state == "qw"
    assert status.reason == 'cannot run in PE "smp" because it only offers 0 slots'
    assert "not enough free CPU slots" in backend.describe_status(status)
    t0 = time.monotonic()
    await backend.cancel(ctx, [job_id])
    print(f"cancel of a waiting job {time.monotonic() - t0:.2f}s")
    assert job_id not in sge.jobs()


async def test_held_job(sge: SgeCluster, backend: Backend, user_dir: str) -> None:
    ctx = context(backend)
    job_id = await submit(backend, ctx, job_spec(user_dir, options={"directives": ["-h"]}))
    st = await backend.query_status(ctx, [job_id])
    assert st[job_id].state is JobState.HELD and st[job_id].native_state == "hqw"
    assert st[job_id].reason == "Job is in hold state"
    assert "on hold" in backend.describe_status(st[job_id])
    await backend.cancel(ctx, [job_id])


async def test_error_state_is_a_failure_with_reason(
    sge: SgeCluster, backend: Backend, user_dir: str
) -> None:
    """Eqw: the output file cannot be opened (a folder alice may not write)."""
    ctx = context(backend)
    spec = job_spec(user_dir)
    variables = {**spec.variables, "output_file": "/root/forbidden.log"}
    spec = JobSpec(
        **{**spec.__dict__, "output_file": "/root/forbidden.log", "variables": variables}
    )
    script = backend.render_script(spec, backend.script_template(spec) or "")
    cmd = backend.submit_command(spec, script)
    job_id = backend.parse_submit(await ctx.run(cmd, check=False), spec)
    st = await wait_status(
        backend, ctx, [job_id], lambda s: s[job_id].state is JobState.FAILED, timeout=20
    )
    status = st[job_id]
    assert status.native_state == "Eqw", status
    assert status.reason == 'can\'t stat() "/root/forbidden.log" as stdout_path: Permission denied'
    assert "could not start your job (state Eqw)" in backend.describe_status(status)
    await backend.cancel(ctx, [job_id])  # qdel removes it (a failed state alone would not)
    assert job_id not in sge.jobs()


async def test_job_name_starting_with_digit(
    sge: SgeCluster, backend: Backend, user_dir: str
) -> None:
    ctx = context(backend)
    job_id = await submit(backend, ctx, job_spec(user_dir, job_name="1st-server"))
    assert "job_name:                   j1st-server" in sge.run("qstat", "-j", job_id).stdout
    await backend.cancel(ctx, [job_id])


async def test_submit_refused(sge: SgeCluster, backend: Backend, user_dir: str) -> None:
    ctx = context(backend)
    with pytest.raises(CommandError, match="refused the job"):
        await submit(backend, ctx, job_spec(user_dir, queue="nosuch.q"))


async def test_unreachable_qmaster_is_unknown(backend: Backend) -> None:
    ctx = make_context(backend, options={"sge_root": "/nonexistent", "sge_cell": "nocell"})
    st = await backend.query_status(ctx, ["1"])
    assert st["1"].state is JobState.UNKNOWN


async def test_discover_resources(sge: SgeCluster, backend: Backend) -> None:
    queues = {q.name: q for q in await backend.discover_resources(context(backend))}
    assert set(queues) == {"all.q", "long.q"}
    assert queues["long.q"].max_time_s == 12 * 3600 and queues["all.q"].max_time_s is None
    assert queues["all.q"].total_cpus == sge.slots and queues["all.q"].nodes == 1
    assert queues["all.q"].gres == "smp" and queues["all.q"].state == "open"
