"""The FirecREST backend through the emulator on the real test Slurm: submit, status,
cancel, log tail, one request per round, token refresh, and service-account polling."""

from __future__ import annotations

import asyncio
import subprocess
import time
import uuid

import pytest
from jobspawner import CommandError, JobState
from jobspawner.contract.commands import CommandRunner
from jobspawner.contract.context import BackendContext
from jobspawner.contract.status import VANISHED_REASON
from jobspawner.facade.backend import Backend, load_backend
from jobspawner_firecrest.errors import LOGIN_AGAIN
from slurm.helpers import make_spec, remove_job_logs, running, squeue, wait_for

from .conftest import SERVICE_CLIENT, forget_tokens, gateway_options

pytestmark = [pytest.mark.scheduler("slurm"), pytest.mark.root]

LOG_DIR = "/home/{user}/.jobspawner-firecrest-tests"


@pytest.fixture(scope="module")
def backend() -> Backend:
    return load_backend("firecrest")


@pytest.fixture(autouse=True)
def _fresh_gateways():
    forget_tokens()
    yield
    forget_tokens()


@pytest.fixture(scope="module", autouse=True)
def _remove_job_logs():
    yield from remove_job_logs(LOG_DIR)


options = gateway_options


def context(backend, emulator, user="alice", auth_state=None, auth_states=None, **extra):
    states = dict(auth_states or {})
    if user and auth_state is not None:
        states[user] = auth_state
    return BackendContext(
        backend=backend,
        runner=CommandRunner(()),
        query_runner=CommandRunner(()),
        options=options(emulator, **extra),
        username=user,
        auth_state=auth_state,
        auth_states=states,
    )


async def submit(backend, ctx, command=("sleep", "300"), **kw):
    user = ctx.username
    name = f"jupyterhub-{user}-{uuid.uuid4().hex[:6]}"
    out = f"{LOG_DIR.format(user=user)}/{name}.log"
    spec = make_spec(command=list(command), username=user, job_name=name, output_file=out, **kw)
    script = backend.render_script(spec, backend.script_template(spec))
    return await backend.submit(ctx, spec, script), out, spec


def squeue_active(job_id):
    """The job's state and owner while it is active, "" once it is gone."""
    return squeue(job_id, "%T|%u")


async def test_submit_status_log_cancel(backend, emulator, clean_queue):
    ctx = context(backend, emulator, auth_state=emulator.state.login("alice"))
    job_id, out, spec = await submit(
        backend,
        ctx,
        command=["bash", "-c", "echo hello from $(id -un); sleep 300"],
        resources={"queue": "long"},
    )
    status = (await wait_for(backend, ctx, [job_id], running))[job_id]
    assert status.host == clean_queue.host and status.extra["partition"] == "long"
    assert squeue_active(job_id) == "RUNNING|alice"
    # the secrets file was uploaded as alice into her private folder, mode 0600
    folder = subprocess.run(
        ["stat", "-c", "%a %U", LOG_DIR.format(user="alice")], capture_output=True, text=True
    ).stdout.split()
    assert folder == ["700", "alice"]
    secrets = subprocess.run(
        ["stat", "-c", "%a %U", spec.secrets_file], capture_output=True, text=True
    ).stdout.split()
    assert secrets == ["600", "alice"]
    log = ""
    deadline = time.monotonic() + 15
    while "hello from" not in log and time.monotonic() < deadline:
        log = await backend.read_log(ctx, out, 10)
        await asyncio.sleep(0.3)
    assert "hello from alice" in log
    await backend.cancel(ctx, [job_id])
    assert squeue_active(job_id) == ""
    assert (await backend.query_status(ctx, [job_id]))[job_id].state is JobState.CANCELLED


async def test_one_request_per_user_per_round(backend, emulator, clean_queue, emulator_only):
    ctx = context(backend, emulator, auth_state=emulator.state.login("alice"))
    ids = [(await submit(backend, ctx))[0] for _ in range(3)]
    await wait_for(backend, ctx, ids, running)
    requests = emulator.state.requests
    before = dict(requests)
    statuses = await backend.query_status(ctx, [*ids, "999999"])
    delta = {k: v - before.get(k, 0) for k, v in requests.items() if v != before.get(k, 0)}
    # one list for all; only the job the list does not show is asked how it ended
    assert delta == {"GET /compute/cluster/jobs": 1, "GET /compute/cluster/jobs/999999": 1}
    assert all(statuses[i].state is JobState.RUNNING for i in ids)
    assert statuses["999999"].reason == VANISHED_REASON
    await backend.cancel(ctx, ids)


async def test_service_account_polls_everyone_in_one_request(
    backend, emulator, clean_queue, emulator_only
):
    sa = {"client_id": SERVICE_CLIENT[0], "client_secret": SERVICE_CLIENT[1]}
    alice = context(backend, emulator, auth_state=emulator.state.login("alice"), service_account=sa)
    bob = context(
        backend, emulator, user="bob", auth_state=emulator.state.login("bob"), service_account=sa
    )
    a, _, _ = await submit(backend, alice)
    b, _, _ = await submit(backend, bob)
    poller = context(backend, emulator, user=None, service_account=sa)  # acts as nobody
    await wait_for(backend, poller, [a, b], running)
    before = dict(emulator.state.requests)
    statuses = await backend.query_status(poller, [a, b])
    delta = {
        k: v - before.get(k, 0) for k, v in emulator.state.requests.items() if v != before.get(k, 0)
    }
    assert delta == {"GET /compute/cluster/jobs": 1}
    assert statuses[a].state is statuses[b].state is JobState.RUNNING
    await backend.cancel(alice, [a])
    await backend.cancel(bob, [b])


async def test_access_token_is_refreshed_before_it_expires(backend, emulator, clean_queue):
    state = emulator.state.login("alice", lifespan=45)  # under refresh_margin (60 s)
    ctx = context(backend, emulator, auth_state=state)
    before = emulator.state.token_grants["refresh_token"]
    statuses = await backend.query_status(ctx, ["999999"])
    assert statuses["999999"].state is JobState.DONE  # answered with a fresh token
    assert emulator.state.token_grants["refresh_token"] == before + 1
    await backend.query_status(ctx, ["999999"])  # the new token lasts: no second refresh
    assert emulator.state.token_grants["refresh_token"] == before + 1


async def test_expired_refresh_token_asks_the_user_to_log_in_again(backend, emulator, clean_queue):
    state = emulator.state.login("alice", lifespan=10)
    emulator.state.refresh_tokens.pop(state["refresh_token"])  # revoked / expired
    ctx = context(backend, emulator, auth_state=state)
    with pytest.raises(CommandError) as info:
        await submit(backend, ctx)
    assert LOGIN_AGAIN in str(info.value) and "invalid_grant" not in LOGIN_AGAIN
    assert "Token is not active" in str(info.value)  # the provider's words, for the admin
    status = (await backend.query_status(ctx, ["1"]))["1"]
    assert status.state is JobState.UNKNOWN  # never "gone" because tokens failed


async def test_no_auth_state_is_a_clear_error(backend, emulator, clean_queue):
    ctx = context(backend, emulator, auth_state=None)
    with pytest.raises(CommandError, match="log in again"):
        await submit(backend, ctx)


async def test_gateway_down_is_unknown(backend, emulator, clean_queue, emulator_only):
    ctx = context(backend, emulator, auth_state=emulator.state.login("alice"))
    emulator.state.down = True
    try:
        status = (await backend.query_status(ctx, ["1"]))["1"]
    finally:
        emulator.state.down = False
    assert status.state is JobState.UNKNOWN and "HTTP 503" in (status.reason or "")
    assert emulator.url in (status.reason or "")


async def test_uenv_options_reach_the_script_and_are_checked(backend, emulator):
    spec = make_spec(options={"uenv": "prgenv-gnu/24.11:v1", "uenv_view": "default"})
    script = backend.render_script(spec, backend.script_template(spec))
    assert "#SBATCH --uenv=prgenv-gnu/24.11:v1\n" in script
    assert "#SBATCH --view=default\n" in script
    ctx = context(backend, emulator, auth_state=emulator.state.login("alice"), uenv="x; rm -rf ~")
    with pytest.raises(CommandError, match="uenv"):
        await submit(backend, ctx)
