"""The slurmrestd backend against a real slurmrestd 22.05 and the real test Slurm.

Jobs are submitted as alice: her preparation commands (log folder, secrets file) run through
``runuser`` as the spawner's exec prefix does, the REST requests carry her JWT from
``scontrol token``; status queries run as the hub's user (root) in one ``GET /jobs``.
"""

from __future__ import annotations

import asyncio
import subprocess
import time
import uuid
from collections.abc import Sequence

import pytest
from jobspawner import CommandError, JobState
from jobspawner.contract.commands import CommandRunner
from jobspawner.contract.context import BackendContext
from jobspawner.contract.status import VANISHED_REASON
from jobspawner.facade.backend import Backend, load_backend
from jobspawner_slurmrestd import hooks as restd_hooks
from slurm.helpers import make_spec, remove_job_logs, running, squeue_active, wait_for

pytestmark = [pytest.mark.scheduler("slurm"), pytest.mark.root]

LOG_DIR = "/home/{user}/.jobspawner-restd-tests"


@pytest.fixture(scope="module")
def backend() -> Backend:
    return load_backend("slurmrestd")


@pytest.fixture(scope="module", autouse=True)
def _remove_job_logs():
    yield from remove_job_logs(LOG_DIR)


@pytest.fixture(autouse=True)
def _fresh_clients():
    restd_hooks._clients.clear()
    yield
    restd_hooks._clients.clear()


def context(backend: Backend, url: str, user: str | None = "alice", **options) -> BackendContext:
    prefix = ["runuser", "-u", user or "alice", "--"]
    return BackendContext(
        backend=backend,
        runner=CommandRunner(prefix, timeout=30),
        query_runner=CommandRunner(prefix, timeout=30),
        options={"url": url, "request_timeout": 5, **options},
        username=user,
    )


async def submit(backend, ctx, command: Sequence[str] = ("sleep", "300"), **kw) -> tuple[str, str]:
    user = ctx.username or "alice"
    name = f"jupyterhub-{user}-{uuid.uuid4().hex[:6]}"
    out = f"{LOG_DIR.format(user=user)}/{name}.log"
    spec = make_spec(command=list(command), username=user, job_name=name, output_file=out, **kw)
    script = backend.render_script(spec, backend.script_template(spec))
    return await backend.submit(ctx, spec, script), out


def scontrol_job(job_id: str) -> str:
    return subprocess.run(
        ["scontrol", "show", "job", job_id], capture_output=True, text=True
    ).stdout


async def test_submit_status_log_cancel_one(backend, restd, clean_queue):
    ctx = context(backend, restd.url)
    job_id, out = await submit(
        backend,
        ctx,
        command=["bash", "-c", "echo hello from $(id -un); sleep 300"],
        resources={"queue": "long", "runtime": "1:30:00", "memory": "300M", "cpus": 1},
    )
    status = (await wait_for(backend, ctx, [job_id], running))[job_id]
    assert status.host == clean_queue.host and status.extra["partition"] == "long"
    # the #SBATCH directives reached Slurm as job properties (slurmrestd ignores the lines)
    shown = scontrol_job(job_id)
    assert "JobName=jupyterhub-alice-" in shown
    assert "TimeLimit=01:30:00" in shown and "UserId=alice" in shown
    assert f"StdOut={out}" in shown and "MinMemoryNode=300M" in shown
    deadline = time.monotonic() + 15
    log = ""
    while "hello from" not in log and time.monotonic() < deadline:
        log = await backend.read_log(ctx, out, 20)
        await asyncio.sleep(0.2)
    assert "hello from alice" in log
    await backend.cancel(ctx, [job_id])
    assert squeue_active(job_id) == ""
    after = (await backend.query_status(ctx, [job_id]))[job_id]
    assert after.state is JobState.CANCELLED


async def test_many_jobs_one_request_per_round(backend, restd, clean_queue):
    ctx = context(backend, restd.url)
    ids = [(await submit(backend, ctx))[0] for _ in range(4)]
    await wait_for(backend, ctx, ids, running)
    client = restd_hooks.client_for(ctx.options)
    poller_ctx = context(backend, restd.url, user=None)  # as the shared poller calls it
    before = client.requests
    statuses = await backend.query_status(poller_ctx, [*ids, "999999"])
    # one GET /jobs for every job, and one accounting question for the id it does not list
    assert client.requests - before == 2, statuses
    assert all(statuses[i].state is JobState.RUNNING for i in ids)
    assert statuses["999999"].state is JobState.DONE
    assert statuses["999999"].reason == VANISHED_REASON
    await backend.cancel(ctx, ids)
    assert all(squeue_active(i) == "" for i in ids)


async def test_pending_reason_and_describe(backend, restd, clean_queue):
    ctx = context(backend, restd.url)
    job_id, _ = await submit(backend, ctx, resources={"queue": "closed"})
    status = (
        await wait_for(backend, ctx, [job_id], lambda s: s.reason == "PartitionDown", patience=15)
    )[job_id]
    assert status.state is JobState.PENDING
    sentence = backend.describe_status(status)
    assert "partition closed is down" in sentence  # the Slurm backend's own words
    await backend.cancel(ctx, [job_id])


async def test_external_scancel_is_noticed(backend, restd, clean_queue):
    ctx = context(backend, restd.url)
    job_id, _ = await submit(backend, ctx)
    await wait_for(backend, ctx, [job_id], running)
    subprocess.run(["scancel", job_id], check=True)
    status = (await wait_for(backend, ctx, [job_id], lambda s: s.state.finished, patience=10))[
        job_id
    ]
    assert status.state is JobState.CANCELLED


async def test_other_users_job_cannot_be_cancelled(backend, restd, clean_queue):
    ctx = context(backend, restd.url)
    job_id, _ = await submit(backend, ctx)
    bob = context(backend, restd.url, user="bob")
    with pytest.raises(CommandError, match="permission denied"):
        await backend.cancel(bob, [job_id])
    assert squeue_active(job_id) in ("PENDING", "RUNNING")
    await backend.cancel(ctx, [job_id])


async def test_slurmrestd_down_is_unknown_never_gone(backend, restd, clean_queue):
    ctx = context(backend, restd.url)
    job_id, _ = await submit(backend, ctx)
    await wait_for(backend, ctx, [job_id], running)
    restd.stop()
    try:
        status = (await backend.query_status(ctx, [job_id]))[job_id]
        assert status.state is JobState.UNKNOWN
        assert restd.url in (status.reason or "") and "unreachable" in (status.reason or "")
        with pytest.raises(CommandError, match="unreachable"):
            await submit(backend, ctx)
    finally:
        restd.start()
    assert (await backend.query_status(ctx, [job_id]))[job_id].state is JobState.RUNNING
    await backend.cancel(ctx, [job_id])


async def test_invalid_token_gives_a_clear_error(backend, restd, clean_queue):
    forged = "eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjQxMDI0NDQ4MDAsInN1biI6ImFsaWNlIn0.c2lnbmF0dXJl"
    ctx = context(backend, restd.url, token_source=lambda user: forged)
    with pytest.raises(CommandError) as info:
        await submit(backend, ctx)
    message = str(info.value)
    assert "HTTP 401" in message and "/job/submit" in message and "JWT" in message
    status = (await backend.query_status(ctx, ["1"]))["1"]
    # GET /jobs with a refused token: slurmrestd 22.05 says only "Failed while looking for
    # jobs"; what matters is that the jobs are unknown, never gone
    assert status.state is JobState.UNKNOWN and "/slurm/v0.0.38/jobs" in (status.reason or "")


async def test_expired_token_is_renewed(backend, restd, clean_queue):
    """A token slurmctld no longer accepts (lifespan over) is replaced by a new one."""
    issued: list[str] = []

    def source(user: str) -> str:
        lifespan = 1 if not issued else 600
        out = subprocess.run(
            ["scontrol", "token", f"username={user}", f"lifespan={lifespan}"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        issued.append(out.strip().split("=", 1)[1])
        return issued[-1]

    ctx = context(backend, restd.url, user=None, token_source=source, token_refresh_margin=0)
    await backend.query_status(ctx, ["1"])
    await asyncio.sleep(2.5)  # the first token has expired
    status = (await backend.query_status(ctx, ["1"]))["1"]
    assert status.state is JobState.DONE  # answered: vanished, not unknown
    assert len(issued) == 2


async def test_token_source_failure_names_the_cause(backend, restd, clean_queue):
    ctx = context(backend, restd.url, token_source=["false"])
    with pytest.raises(CommandError, match="no slurmrestd token for alice from the token command"):
        await submit(backend, ctx)


async def test_discover_resources(backend, restd, clean_queue):
    ctx = context(backend, restd.url, user=None)
    queues = {q.name: q for q in await backend.discover_resources(ctx)}
    assert set(queues) == {"debug", "long", "closed"}
    assert queues["debug"].default and not queues["long"].default
    assert queues["long"].max_time_s == 2 * 86400 and queues["debug"].default_time_s == 3600
    assert queues["closed"].state == "down"
    assert queues["debug"].cpus_per_node == clean_queue.cpus
    assert queues["debug"].gpus_per_node == clean_queue.gpus
