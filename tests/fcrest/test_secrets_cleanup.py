"""FirecREST: a job's leftover secrets file (the server's API token) is removed through
FirecREST's file API as the user when the job is cancelled before its server started."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid

import pytest
from harness.queued_cancel import cancel_while_queued, spawner_for
from jobspawner import JobState
from jobspawner.contract.context import BackendContext
from jobspawner.facade.backend import load_backend
from jobspawner.testing import ScriptedRunner
from jobspawner_firecrest.errors import GatewayError
from slurm.helpers import make_spec

from .conftest import forget_tokens, gateway_options

pytestmark = [pytest.mark.scheduler("slurm"), pytest.mark.root]

LOG_DIR = "/home/alice/.jobspawner-firecrest-secrets-tests"


@pytest.fixture(autouse=True)
def _fresh():
    forget_tokens()
    yield
    forget_tokens()
    shutil.rmtree(LOG_DIR, ignore_errors=True)


options = gateway_options


def nothing_runs(argv):
    raise AssertionError(f"FirecREST ran a command on the hub's host: {argv}")


async def test_remove_secrets_goes_through_the_file_api_as_the_user(
    emulator, clean_queue, emulator_only
):
    backend = load_backend("firecrest")
    runner = ScriptedRunner(nothing_runs)
    login = emulator.state.login("alice")
    ctx = BackendContext(backend, runner, runner, options(emulator), "alice", login, {})
    name = f"jupyterhub-alice-{uuid.uuid4().hex[:6]}"
    spec = make_spec(output_file=f"{LOG_DIR}/{name}.log", job_name=name, command=["sleep", "300"],
                     resources={"queue": "closed"})  # fmt: skip
    job_id = await backend.submit(
        ctx, spec, backend.render_script(spec, backend.script_template(spec))
    )
    assert os.path.exists(spec.secrets_file)
    assert (await backend.query_status(ctx, [job_id]))[job_id].state is JobState.PENDING
    await backend.cancel(ctx, [job_id])
    before = emulator.state.requests["DELETE /filesystem/cluster/ops/rm"]
    await backend.remove_secrets(ctx, spec.secrets_file)
    assert not os.path.exists(spec.secrets_file)
    await backend.remove_secrets(ctx, spec.secrets_file)  # gone already (404): fine
    assert emulator.state.requests["DELETE /filesystem/cluster/ops/rm"] == before + 2
    assert runner.calls == []


async def test_remove_secrets_as_another_user_is_refused(emulator, clean_queue):
    """The file API acts as the token's user: bob's token cannot delete alice's file."""
    backend = load_backend("firecrest")
    runner = ScriptedRunner(nothing_runs)
    alice = BackendContext(backend, runner, runner, options(emulator), "alice",
                           emulator.state.login("alice"), {})  # fmt: skip
    name = f"jupyterhub-alice-{uuid.uuid4().hex[:6]}"
    spec = make_spec(output_file=f"{LOG_DIR}/{name}.log", job_name=name, command=["sleep", "300"],
                     resources={"queue": "closed"})  # fmt: skip
    job_id = await backend.submit(
        alice, spec, backend.render_script(spec, backend.script_template(spec))
    )
    await backend.cancel(alice, [job_id])
    bob = BackendContext(backend, runner, runner, options(emulator), "bob",
                         emulator.state.login("bob"), {})  # fmt: skip
    with pytest.raises(GatewayError) as refused:
        await backend.remove_secrets(bob, spec.secrets_file)
    assert refused.value.status == 403 and "Permission denied" in str(refused.value)
    assert os.path.exists(spec.secrets_file)
    await backend.remove_secrets(alice, spec.secrets_file)
    assert not os.path.exists(spec.secrets_file)


async def test_job_cancelled_while_queued_leaves_no_token_file(emulator, clean_queue):
    spawner = spawner_for(
        "firecrest", options(emulator), LOG_DIR, auth_state=emulator.state.login("alice"),
        req_queue="closed",
    )  # fmt: skip
    outcome = await cancel_while_queued(spawner)
    assert outcome.existed_while_queued, "the secrets file was not written before the submit"
    assert not outcome.left_after_stop, f"{outcome.secrets_file} was left behind"
    state = subprocess.run(["squeue", "-h", "-t", "all", "-j", outcome.job_id, "-o", "%T"],
                           capture_output=True, text=True).stdout.strip()  # fmt: skip
    assert state in ("CANCELLED", ""), state
    assert spawner.job_id == ""
