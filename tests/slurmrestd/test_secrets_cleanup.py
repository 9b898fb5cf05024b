"""slurmrestd: a job's leftover secrets file (the server's API token) is removed as the user,
through the runner that wrote it, when the job is cancelled while queued or ends before its
server started (real slurmrestd 22.05, real Slurm)."""

from __future__ import annotations

import os
import shutil

import pytest
from harness.queued_cancel import cancel_while_queued, spawner_for
from jobspawner.facade.hub_compat import SpawnException
from jobspawner_slurmrestd import hooks as restd_hooks

pytestmark = [pytest.mark.scheduler("slurm"), pytest.mark.root]

LOG_DIR = "/home/alice/.jobspawner-restd-secrets-tests"
AS_USER = "runuser -u {username} --"


@pytest.fixture(autouse=True)
def _fresh():
    restd_hooks._clients.clear()
    yield
    restd_hooks._clients.clear()
    shutil.rmtree(LOG_DIR, ignore_errors=True)


async def test_job_cancelled_while_queued_leaves_no_token_file(restd, clean_queue):
    spawner = spawner_for(
        "slurmrestd", {"url": restd.url, "request_timeout": 10}, LOG_DIR,
        exec_prefix=AS_USER, req_queue="closed",
    )  # fmt: skip
    outcome = await cancel_while_queued(spawner)
    assert outcome.existed_while_queued, "the secrets file was not written before the submit"
    assert not outcome.left_after_stop, f"{outcome.secrets_file} was left behind"
    assert spawner.job_id == ""


async def test_job_ending_before_its_server_leaves_no_token_file(restd, clean_queue):
    spawner = spawner_for(
        "slurmrestd", {"url": restd.url, "request_timeout": 10}, LOG_DIR, exec_prefix=AS_USER,
    )  # fmt: skip
    spawner.cmd = ["bash", "-c", "echo no server today; exit 3"]
    with pytest.raises(SpawnException, match="ended before the notebook server started"):
        await spawner.start()
    assert os.path.isdir(LOG_DIR), "the job's log folder was not made"
    assert not [n for n in os.listdir(LOG_DIR) if n.endswith(".secrets")]
