"""The PBS family (Torque, PBS Pro, Moab) on the emulator with every command on a login node
over SSH, as alice: submit, batched status, log tail, cancel.

The emulator's spool variable reaches the login node only through the runner's explicit
environment (``c.JobSpawner.ssh_env``), never the hub's."""

from __future__ import annotations

import asyncio

import pytest
from jobspawner import JobState
from jobspawner.facade.backend import load_backend
from jobspawner.facade.templates import render
from jobspawner.testing import record_queries
from remote.fixtures import fresh_ssh_connections, sshd
from remote.sshd import SSHServer
from remote.sshkit import ssh_context
from torque.test_integration import FLAVOURS, make_spec

pytestmark = pytest.mark.timeout(120)
__all__ = ["fresh_ssh_connections", "sshd"]
QUERY = {"torque": "qstat", "pbspro": "qstat", "moab": "showq"}


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_submit_status_log_cancel_over_ssh(
    flavour: str, make_emulator, sshd: SSHServer
) -> None:
    emu = make_emulator(flavour, keep_completed=30)
    backend = load_backend(flavour)
    ctx = ssh_context(sshd, backend, "alice", options=emu.options(), env=emu.env)

    async def submit(command: list[str]) -> tuple[str, str]:
        spec = make_spec(emu, command)
        script = render(backend.script_template(spec) or "", spec.variables)
        return await backend.submit(ctx, spec, script), spec.output_file

    async def wait(job_id: str, predicate) -> object:
        for _ in range(100):
            status = (await backend.query_status(ctx, [job_id]))[job_id]
            if predicate(status):
                return status
            await asyncio.sleep(0.2)
        raise AssertionError(f"job {job_id} stayed {status}")

    job_id, output = await submit(["bash", "-c", 'echo "id=$(id -un)"; sleep 60'])
    await wait(job_id, lambda s: s.state is JobState.RUNNING)
    second, _ = await submit(["sleep", "60"])
    await wait(second, lambda s: s.state is JobState.RUNNING)
    assert {j["owner"] for j in emu.state()["jobs"].values()} == {"alice"}
    calls = record_queries(ctx)
    statuses = await backend.query_status(ctx, [job_id, second])
    assert [c[0].rsplit("/", 1)[-1] for c in calls] == [QUERY[flavour]]  # one for both
    assert {s.state for s in statuses.values()} == {JobState.RUNNING}
    log = ""
    for _ in range(50):
        log = await backend.read_log(ctx, output, 5)  # tail on the login node, as alice
        if "id=" in log:
            break
        await asyncio.sleep(0.1)
    assert "id=alice" in log
    await backend.cancel(ctx, [job_id, second])
    await wait(job_id, lambda s: s.state.finished)
    assert not any(j["state"] in ("R", "Q", "E") for j in emu.state()["jobs"].values())
    assert sshd.log_text().count("Accepted publickey for alice") == 1  # one shared connection
