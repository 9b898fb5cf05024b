"""The condor backend on the emulator with every command on a login node over SSH, as alice:
submit, one batched query, log tail, cancel. The emulator's variables (its bin folder on
PATH, its spool) reach the login node only through the runner's explicit environment."""

from __future__ import annotations

import asyncio

import pytest
from condor.condorkit import Pool, wait_for
from condor.test_condor_integration import SLEEP, make_spec, submit, wait_state
from jobspawner import JobState
from jobspawner.contract.commands import DEFAULT_PATH
from jobspawner.facade.backend import load_backend
from jobspawner.testing import record_queries
from remote.fixtures import fresh_ssh_connections, sshd
from remote.sshd import SSHServer
from remote.sshkit import ssh_context

pytestmark = pytest.mark.timeout(120)
__all__ = ["fresh_ssh_connections", "sshd"]


async def test_submit_query_log_cancel_over_ssh(pool: Pool, sshd: SSHServer) -> None:
    backend = load_backend("condor")
    env = {"PATH": f"{pool.bin}:{DEFAULT_PATH}", "CONDOR_EMU_SPOOL": str(pool.spool)}
    ctx = ssh_context(sshd, backend, "alice", env=env)
    spec = make_spec(pool, "a", SLEEP)
    job_id = await submit(backend, ctx, spec)
    other = await submit(backend, ctx, make_spec(pool, "b", SLEEP))
    await wait_state(backend, ctx, job_id, {JobState.RUNNING})
    await wait_state(backend, ctx, other, {JobState.RUNNING})
    calls = record_queries(ctx)
    statuses = await backend.query_status(ctx, [job_id, other])
    assert [c[0] for c in calls] == ["condor_q"]  # one query for both
    assert {s.state for s in statuses.values()} == {JobState.RUNNING}
    log = ""
    for _ in range(50):
        log = await backend.read_log(ctx, spec.output_file, 5)  # tail as alice, remotely
        if log.strip():
            break
        await asyncio.sleep(0.1)
    assert log.strip() == "hello world from alice"
    await backend.cancel(ctx, [job_id, other])
    after = await backend.query_status(ctx, [job_id, other])
    assert {s.state for s in after.values()} == {JobState.CANCELLED}
    assert after[job_id].reason == "via condor_rm (by user alice)"
    wait_for(lambda: pool.job(job_id) is None and pool.history(job_id))
    assert sshd.log_text().count("Accepted publickey for alice") == 1
