"""The Grid Engine backend's core stories with every command on a login node over SSH (a
real OpenSSH server on loopback, as alice with her key): submit, one status query, the job's
output through the remote log tail, cancel confirmed."""

from __future__ import annotations

import asyncio

import pytest
from jobspawner import JobState
from jobspawner.facade.backend import Backend, load_backend
from remote.fixtures import fresh_ssh_connections, sshd
from remote.sshd import SSHServer
from remote.sshkit import ssh_context

from sge.cluster import SgeCluster
from sge.sgekit import OPTIONS
from sge.test_sge_integration import all_in, all_r, job_spec, submit, wait_status

pytestmark = [pytest.mark.scheduler("sge"), pytest.mark.root, pytest.mark.timeout(180)]
__all__ = ["fresh_ssh_connections", "sshd"]


@pytest.fixture(scope="module")
def backend() -> Backend:
    return load_backend("sge")


async def test_submit_status_log_cancel_over_ssh(
    sge: SgeCluster, backend: Backend, user_dir: str, sshd: SSHServer
) -> None:
    ctx = ssh_context(sshd, backend, "alice", options=OPTIONS)
    spec = job_spec(user_dir, command=("bash", "-c", "echo hello from $(id -un); sleep 300"))
    job_id = await submit(backend, ctx, spec)
    assert job_id.isdigit()
    st = await wait_status(backend, ctx, [job_id], all_r)
    assert st[job_id].state is JobState.RUNNING and st[job_id].host == sge.host
    assert "owner:                      alice" in sge.run("qstat", "-j", job_id).stdout
    log = ""
    for _ in range(50):
        log = await backend.read_log(ctx, spec.output_file, 10)
        if "hello from" in log:
            break
        await asyncio.sleep(0.2)
    assert "hello from alice" in log
    await backend.cancel(ctx, [job_id])
    assert job_id not in sge.jobs()
    st = await wait_status(backend, ctx, [job_id], lambda s: s[job_id].state.finished)
    assert st[job_id].state.finished
    assert ctx.runner.connection.connects == 1  # type: ignore[attr-defined]


async def test_two_jobs_one_query_over_ssh(
    sge: SgeCluster, backend: Backend, user_dir: str, sshd: SSHServer
) -> None:
    ctx = ssh_context(sshd, backend, "alice", options=OPTIONS)
    ids = [await submit(backend, ctx, job_spec(user_dir, job_name=f"ssh-{i}")) for i in range(2)]
    st = await wait_status(backend, ctx, ids, all_in(JobState.RUNNING))
    assert all(s.state is JobState.RUNNING for s in st.values()), st
    await backend.cancel(ctx, ids)
    assert not set(ids) & set(sge.jobs())
