"""How a job that left slurmctld's queue ended, from slurmrestd's accounting endpoints.

The answers of a real slurmrestd 22.05.8 with slurmdbd (``fixtures/real-dbv0.0.38.json``, its
provenance inside) read through the Slurm backend's own sacct rules; then the backend asks a
real slurmrestd (with ``openapi/dbv0.0.38``) about a real job slurmctld has purged.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest
from jobspawner import JobState
from jobspawner.contract.status import VANISHED_REASON
from jobspawner.facade.backend import load_backend
from jobspawner_slurm.shared import sacct_statuses
from jobspawner_slurmrestd.convert import history_rows
from slurm import cluster as slurm_cluster_module
from slurm.accounting import accounted_state

from slurmrestd.test_backend import context, submit

RECORDED = json.loads((Path(__file__).parent / "fixtures" / "real-dbv0.0.38.json").read_text())


def recorded_status(name: str):
    answer = RECORDED["answers"][name]["slurmdb"]
    assert answer["status"] == 200
    job_id = RECORDED["jobs"].get(name, "99999")
    return sacct_statuses(history_rows(answer["body"].get("jobs", [])), [job_id]).get(job_id)


def test_recorded_ends_read_as_sacct_would():
    ok = recorded_status("ok")
    assert (ok.state, ok.exit_code, ok.native_state) == (JobState.DONE, 0, "COMPLETED")
    cancelled = recorded_status("cancel")
    assert cancelled.state is JobState.CANCELLED
    killed = recorded_status("sig")
    assert killed.state is JobState.FAILED and killed.extra["signal"] == "9"
    assert killed.exit_code == 137
    timeout = recorded_status("timeout")
    assert timeout.native_state == "TIMEOUT" and timeout.state.finished
    assert ok.extra["start"] and ok.extra["end"]


def test_a_failed_jobs_misreported_zero_is_left_unknown():
    """slurmrestd 22.05 answers return_code 0 for a script that exited 3 (sacct: 3:0): the
    state is kept, the code is not invented."""
    body = RECORDED["answers"]["exit3"]["slurmdb"]["body"]
    assert body["jobs"][0]["exit_code"] == {"status": "SUCCESS", "return_code": 0}
    failed = recorded_status("exit3")
    assert failed.state is JobState.FAILED and failed.exit_code is None


def test_a_job_accounting_does_not_know_is_left_out():
    assert RECORDED["answers"]["unknown"]["slurmdb"]["body"]["errors"]
    assert recorded_status("unknown") is None


def test_odd_records_are_skipped():
    assert list(history_rows([None, {"job_id": "1"}, {"job_id": 2, "state": 5}])) == [
        (None, {"jobid": "2", "state": "5", "exitcode": "", "nodelist": "", "start": "",
                "end": "", "cluster": ""}),
    ]  # fmt: skip


def _purged(job_id: str, within: float) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        shown = subprocess.run(["scontrol", "show", "job", job_id], capture_output=True)
        if shown.returncode != 0:
            return
        time.sleep(1)
    raise AssertionError(f"slurmctld still lists job {job_id} after {within:g} s")


@pytest.mark.scheduler("slurm")
@pytest.mark.root
@pytest.mark.timeout(180)
async def test_a_purged_jobs_end_comes_from_accounting(restd, clean_queue):
    backend = load_backend("slurmrestd")
    ctx = context(backend, restd.url)
    job_id, _ = await submit(backend, ctx, command=("sh", "-c", "kill -9 $$"))
    assert accounted_state(job_id, timeout=60) == "FAILED"
    _purged(job_id, within=slurm_cluster_module.MIN_JOB_AGE + 60)
    status = await backend.query_status(ctx, [job_id, "999999"])
    assert status[job_id].state is JobState.FAILED, status
    assert status[job_id].reason != VANISHED_REASON and status[job_id].exit_code == 137
    assert status["999999"].reason == VANISHED_REASON  # accounting does not know it
    # without the accounting option, only "no longer listed"
    plain = context(backend, restd.url, accounting=False)
    assert (await backend.query_status(plain, [job_id]))[job_id].reason == VANISHED_REASON
