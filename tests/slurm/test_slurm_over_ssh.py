"""The Slurm backend's core stories with every command on a login node over SSH (a real
OpenSSH server on loopback, logged in as alice with her key): submit (the secrets file
written through the channel's stdin), status in one squeue per round, log tail, cancel, and
a login node that goes down (unknown, never gone) and comes back."""

from __future__ import annotations

import glob
import os
import re
import stat

import pytest
from jobspawner import JobState
from jobspawner.facade.backend import Backend, load_backend
from jobspawner.testing import record_queries
from remote.fixtures import fresh_ssh_connections, sshd
from remote.sshd import SSHServer
from remote.sshkit import ssh_context
from slurm.cluster import login_env
from slurm.helpers import running, squeue_active, wait_for, wait_for_log
from slurm.test_cluster import submit

pytestmark = [pytest.mark.scheduler("slurm"), pytest.mark.root, pytest.mark.timeout(180)]
__all__ = ["fresh_ssh_connections", "sshd"]


@pytest.fixture(scope="module")
def backend() -> Backend:
    return load_backend("slurm")


async def test_submit_status_log_cancel_over_ssh(backend, clean_queue, sshd: SSHServer) -> None:
    ctx = ssh_context(sshd, backend, "alice", env=login_env())
    job_id, out = await submit(
        backend, ctx, command=["bash", "-c", "echo hello from $(id -un); sleep 300"]
    )
    assert job_id.isdigit()
    # the secrets file has a random name in the job's log folder: the newest one there
    found = glob.glob(os.path.join(os.path.dirname(out), ".jobspawner-*.secrets"))
    secrets = max(found, key=os.path.getmtime)
    info = os.stat(secrets)
    assert stat.S_IMODE(info.st_mode) == 0o600 and info.st_uid == os.stat("/home/alice").st_uid
    with open(secrets) as f:
        assert "secret-token" in f.read()  # came over the SSH channel's stdin
    calls = record_queries(ctx)
    status = (await wait_for(backend, ctx, [job_id], running))[job_id]
    assert status.host == clean_queue.host
    assert "hello from alice" in await wait_for_log(backend, ctx, out, "hello from")
    await backend.cancel(ctx, [job_id])
    assert squeue_active(job_id) == ""
    assert (await backend.query_status(ctx, [job_id]))[job_id].state is JobState.CANCELLED
    assert calls and all(c[0] in ("squeue", "sacct") for c in calls)
    assert ctx.runner.connection.connects == 1  # type: ignore[attr-defined]


async def test_many_jobs_one_squeue_per_round_over_one_connection(
    backend, clean_queue, sshd: SSHServer
) -> None:
    ctx = ssh_context(sshd, backend, "alice", env=login_env())
    ids = [(await submit(backend, ctx))[0] for _ in range(3)]
    await wait_for(backend, ctx, ids, running)
    calls = record_queries(ctx)
    statuses = await backend.query_status(ctx, ids)
    assert [c[0] for c in calls] == ["squeue"]
    assert all(statuses[i].state is JobState.RUNNING for i in ids)
    await backend.cancel(ctx, ids)
    assert all(squeue_active(i) == "" for i in ids)


async def test_login_node_down_is_unknown_never_gone(backend, clean_queue, sshd) -> None:
    ctx = ssh_context(sshd, backend, "alice", env=login_env())
    job_id, _ = await submit(backend, ctx)
    await wait_for(backend, ctx, [job_id], running)
    sshd.stop()
    try:
        for _ in range(2):  # the lost connection, then the refused reconnect
            status = (await backend.query_status(ctx, [job_id]))[job_id]
            assert status.state is JobState.UNKNOWN, status
            assert re.search(r"alice@127\.0\.0\.1:\d+", status.reason or ""), status.reason
        assert "unreachable" in (status.reason or "")
        assert squeue_active(job_id) == "RUNNING"  # the job itself is untouched
    finally:
        sshd.start()
    status = (await wait_for(backend, ctx, [job_id], running, patience=20))[job_id]
    assert status.state is JobState.RUNNING
    await backend.cancel(ctx, [job_id])
