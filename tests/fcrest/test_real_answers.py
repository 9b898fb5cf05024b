"""The FirecREST backend reads what the real v2 server answers (issue #21 item 2): a job that
left the list has ended (with accounting's state), FirecREST's errors in an admin's words,
a cluster without accounting, the secrets upload's checks, and live queues for the form."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import pytest
from jobspawner import CommandError, JobState, UserFileError
from jobspawner.contract.context import BackendContext
from jobspawner.contract.status import VANISHED_REASON
from jobspawner.facade.backend import load_backend
from jobspawner.testing import ScriptedRunner
from jobspawner_firecrest.errors import explain
from slurm import cluster as slurm_cluster_module
from slurm.helpers import make_spec, running, wait_for

from .conftest import SERVICE_CLIENT, forget_tokens, gateway_options

pytestmark = [pytest.mark.scheduler("slurm"), pytest.mark.root]

LOG_DIR = "/home/alice/.jobspawner-firecrest-answers"
FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(autouse=True)
def _fresh():
    forget_tokens()
    yield
    forget_tokens()
    if os.path.islink(LOG_DIR):
        os.unlink(LOG_DIR)
    shutil.rmtree(LOG_DIR, ignore_errors=True)
    shutil.rmtree(LOG_DIR + "-target", ignore_errors=True)


def nothing_runs(argv):
    raise AssertionError(f"FirecREST ran a command on the hub's host: {argv}")


def context(emulator, user="alice"):
    backend = load_backend("firecrest")
    runner = ScriptedRunner(nothing_runs)
    login = emulator.state.login(user)
    return BackendContext(backend, runner, runner, gateway_options(emulator), user, login, {})


def spec_for(queue="debug", folder=LOG_DIR, command=("sleep", "300")):
    name = f"jupyterhub-alice-{uuid.uuid4().hex[:6]}"
    return make_spec(output_file=f"{folder}/{name}.log", job_name=name,
                     command=list(command), resources={"queue": queue})  # fmt: skip


async def submit(ctx, spec):
    backend = ctx.backend
    return await backend.submit(
        ctx, spec, backend.render_script(spec, backend.script_template(spec))
    )


def as_alice(*argv):
    subprocess.run(["runuser", "-u", "alice", "--", *argv], check=True)


async def test_a_job_that_left_the_list_ended_as_accounting_says(emulator, clean_queue):
    ctx = context(emulator)
    job_id = await submit(ctx, spec_for())
    await wait_for(ctx.backend, ctx, [job_id], running)
    await ctx.backend.cancel(ctx, [job_id])
    before = dict(emulator.state.requests)
    status = await ctx.backend.query_status(ctx, [job_id, "999999"])
    assert status[job_id].state is JobState.CANCELLED and status[job_id].exit_code == 0
    # FirecREST's 404 "Job not found." (accounting does not know it): ended all the same
    assert status["999999"].state is JobState.DONE
    assert status["999999"].reason == VANISHED_REASON
    if not emulator.api_url:  # the emulator counts requests (a real server does not)
        asked = {k: v - before.get(k, 0) for k, v in emulator.state.requests.items()}
        # the list no longer shows either; each is asked once how it ended
        assert asked["GET /compute/cluster/jobs"] == 1
        assert asked[f"GET /compute/cluster/jobs/{job_id}"] == 1


async def test_a_purged_jobs_exit_code_comes_from_accounting(emulator, clean_queue):
    """Once slurmctld has purged an ended job (MinJobAge), its end is accounting's: the
    script's own exit code (3), not a guess."""
    ctx = context(emulator)
    job_id = await submit(ctx, spec_for(command=("sh", "-c", "exit 3")))
    deadline = time.monotonic() + slurm_cluster_module.MIN_JOB_AGE + 60
    while (shown := subprocess.run(["scontrol", "show", "job", job_id], capture_output=True,
                                   text=True)).returncode == 0:  # fmt: skip
        assert time.monotonic() < deadline, f"slurmctld still lists job {job_id}: {shown.stdout}"
        await asyncio.sleep(1)
    status = (await ctx.backend.query_status(ctx, [job_id]))[job_id]
    assert (status.state, status.exit_code) == (JobState.FAILED, 3), status


async def test_sbatch_refusal_reads_as_what_sbatch_said(emulator, clean_queue):
    ctx = context(emulator)
    with pytest.raises(CommandError) as info:
        await submit(ctx, spec_for(queue="nosuch"))
    said = str(info.value)
    assert "HTTP 500" in said
    assert "the Slurm command failed (exit status 1): sbatch: error: invalid partition" in said
    assert "Unexpected Slurm command response" not in said  # FirecREST's wrapping is gone


async def test_a_cluster_without_accounting_says_what_to_enable(
    emulator, clean_queue, emulator_only
):
    ctx = context(emulator)
    emulator.state.accounting = False
    try:
        status = (await ctx.backend.query_status(ctx, ["1"]))["1"]
    finally:
        emulator.state.accounting = True
    assert status.state is JobState.UNKNOWN  # never "gone" because the query failed
    assert "Slurm accounting storage is disabled" in (status.reason or "")
    assert "enable slurmdbd" in (status.reason or "")


async def test_the_upload_never_replaces_an_existing_name(emulator, clean_queue):
    ctx = context(emulator)
    spec = spec_for()
    as_alice("mkdir", "-m", "700", "-p", LOG_DIR)
    as_alice("sh", "-c", f'echo planted > "{spec.secrets_file}"')
    with pytest.raises(UserFileError, match="something exists under that name already"):
        await submit(ctx, spec)
    assert Path(spec.secrets_file).read_text() == "planted\n"  # nothing was written
    assert clean_queue.squeue_ids() == []  # and no job submitted


async def test_the_upload_refuses_a_folder_that_is_a_link(emulator, clean_queue):
    ctx = context(emulator)
    as_alice("mkdir", "-m", "700", "-p", LOG_DIR + "-target")
    as_alice("ln", "-s", LOG_DIR + "-target", LOG_DIR)
    spec = spec_for()
    with pytest.raises(UserFileError, match="is a symbolic link or is not owned by the user"):
        await submit(ctx, spec)
    assert os.listdir(LOG_DIR + "-target") == []  # nothing uploaded through the link


async def test_the_secrets_file_is_private_and_checked(emulator, clean_queue):
    ctx = context(emulator)
    spec = spec_for(queue="closed")  # stays queued
    job_id = await submit(ctx, spec)
    info = os.lstat(spec.secrets_file)
    assert oct(info.st_mode & 0o777) == "0o600" and info.st_uid == os.stat(LOG_DIR).st_uid
    assert oct(os.stat(LOG_DIR).st_mode & 0o777) == "0o700"
    assert json.loads(Path(spec.secrets_file).read_text()) == dict(spec.secrets)
    stats = [k for k in emulator.state.requests if k.endswith("/ops/stat")]
    assert stats or emulator.api_url  # checked through the file API, before and after
    await ctx.backend.cancel(ctx, [job_id])


async def test_live_queues_for_the_spawn_form(emulator, clean_queue):
    # the form's discovery acts as nobody: with the service account (one identity, part of
    # the backend options and so of the form cache's key), never one user's token
    nobody = context(emulator)
    nobody.username, nobody.auth_state = None, None
    assert await nobody.backend.discover_resources(nobody) == []
    sa = {"client_id": SERVICE_CLIENT[0], "client_secret": SERVICE_CLIENT[1]}
    ctx = context(emulator)
    ctx.username, ctx.auth_state = None, None
    ctx.options = gateway_options(emulator, service_account=sa)
    queues = {q.name: q for q in await ctx.backend.discover_resources(ctx)}
    assert set(queues) == set(clean_queue.partitions)
    assert queues["closed"].state == "down" and queues["debug"].state == "up"
    assert queues["debug"].cpus_per_node == clean_queue.cpus
    assert queues["debug"].total_cpus == clean_queue.cpus and queues["debug"].nodes == 1
    assert sum(queues["debug"].node_states.values()) == 1


def test_every_recorded_error_reads_without_firecrests_wrapping():
    """explain() on each error the real server answered (fixtures), no server needed."""
    seen = 0
    for path in sorted(FIXTURES.glob("real-v2-*/*.json")):
        record = json.loads(path.read_text())
        status, body = record["response"]["status"], record["response"]["body"]
        if not (isinstance(body, dict) and "errorType" in body) or status == 401:
            continue
        seen += 1
        words = explain(status, body)
        assert "Unexpected Slurm command response" not in words, path.name
        assert "Remote process failed" not in words, path.name
        if status == 403:
            assert words.startswith("permission denied on the cluster: "), path.name
        if "accounting" in json.dumps(body):
            assert "enable slurmdbd" in words, path.name
        if body["errorType"] == "validation":
            assert "fields job" in words, path.name
    assert seen >= 20
