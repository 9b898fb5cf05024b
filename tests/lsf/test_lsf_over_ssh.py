"""The LSF backend on the emulator with every command on a login node over SSH, as alice.

The emulator's own variables (its spool, its bin folder on PATH) reach the login node only
through the runner's explicit environment (``c.JobSpawner.ssh_env``), never the hub's."""

from __future__ import annotations

import asyncio
import time

import pytest
from jobspawner import JobState
from jobspawner.contract.context import BackendContext
from jobspawner.facade.backend import Backend, load_backend
from jobspawner.testing import record_queries
from lsf.lsfkit import Emulator
from lsf.test_lsf_integration import submit, wait_state
from remote.fixtures import fresh_ssh_connections, sshd
from remote.sshd import SSHServer
from remote.sshkit import ssh_context

pytestmark = pytest.mark.timeout(120)
__all__ = ["fresh_ssh_connections", "sshd"]


@pytest.fixture
def backend() -> Backend:
    return load_backend("lsf")


@pytest.fixture
def ctx(emulator: Emulator, backend: Backend, sshd: SSHServer) -> BackendContext:
    return ssh_context(sshd, backend, "alice", env=emulator.env)


async def test_submit_status_log_cancel_over_ssh(backend, ctx, emulator) -> None:
    job_id, output = await submit(
        backend, ctx, emulator, command=("bash", "-c", 'echo "id=$(id -un)"; sleep 60')
    )
    status = await wait_state(backend, ctx, job_id, {JobState.RUNNING})
    assert status.state is JobState.RUNNING
    calls = record_queries(ctx)
    second, _ = await submit(backend, ctx, emulator, name="jupyter-alice-2")
    await wait_state(backend, ctx, second, {JobState.RUNNING})
    calls.clear()
    statuses = await backend.query_status(ctx, [job_id, second])
    assert [c[0] for c in calls] == ["bjobs"]  # one query for both
    assert {s.state for s in statuses.values()} == {JobState.RUNNING}
    await backend.cancel(ctx, [job_id, second])
    status = (await backend.query_status(ctx, [job_id]))[job_id]
    assert status.state.finished and status.exit_code == 130
    deadline = time.monotonic() + 10
    log = ""
    while time.monotonic() < deadline and "id=" not in log:
        log = await backend.read_log(ctx, output, 40)  # tail on the login node, as alice
        await asyncio.sleep(0.1)
    assert log.rstrip().endswith("id=alice")


async def test_without_the_explicit_environment_the_emulator_is_not_found(
    backend, emulator, sshd, monkeypatch
) -> None:
    for name, value in emulator.env.items():
        monkeypatch.setenv(name, value)  # on the hub only: must not travel
    ctx = ssh_context(sshd, backend, "alice")
    status = (await backend.query_status(ctx, ["1"]))["1"]
    assert status.state is JobState.UNKNOWN
    assert "not on the login node's PATH" in (status.reason or "")
