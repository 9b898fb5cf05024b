"""How jobs ended, read from real Slurm accounting once slurmctld has forgotten them.

Five real jobs end five ways at once: exit code 3, killed by a signal, past their time
limit, cancelled by an administrator (root), and ended by a node failure (their node set
DOWN while they run, on the second cluster, whose only node it is). Once ``squeue -t all``
no longer lists them (``MinJobAge``, then slurmctld's purge, every 10 s here), the
backend's public action ``query_status`` finds them gone from squeue and asks ``sacct``
(the ``history_command``/``parse_history`` hooks): each comes back with its end, its exit
code and the words the hub shows. One module fixture waits for all of them together (70 to
100 s: Slurm's shortest time limit is a minute, checked every 30 s), so it is paid once.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import pytest
from jobspawner import JobState, JobStatus
from jobspawner.contract.commands import CommandRunner
from jobspawner.contract.context import BackendContext
from jobspawner.facade.backend import Backend, load_backend
from jobspawner.testing import record_queries
from slurm import cluster as slurm_cluster_module
from slurm.helpers import make_spec, running, squeue, wait_for

pytestmark = [pytest.mark.scheduler("slurm"), pytest.mark.root, pytest.mark.timeout(300)]

LOG_DIR = "/home/{user}/.jobspawner-slurm-accounting"
#: Until the last of them has left squeue: the time limit (a minute, Slurm's smallest),
#: slurmctld's time-limit check (every 30 s), KillWait, MinJobAge, the purge (every 10 s
#: with a MinJobAge under a minute), and slack.
PURGED_WITHIN = 60 + 30 + 5 + slurm_cluster_module.MIN_JOB_AGE + 10 + 30


def context(backend: Backend) -> BackendContext:
    runner = CommandRunner(["runuser", "-u", "alice", "--"], timeout=30)
    return BackendContext(backend, runner, runner, options={}, username="alice")


async def submit(
    backend: Backend, ctx: BackendContext, command: Sequence[str], **resources: Any
) -> str:
    name = f"jupyterhub-alice-{uuid.uuid4().hex[:6]}"
    spec = make_spec(
        command=list(command),
        job_name=name,
        output_file=f"{LOG_DIR.format(user='alice')}/{name}.log",
        resources=resources or None,
    )
    return await backend.submit(
        ctx, spec, backend.render_script(spec, backend.script_template(spec))
    )


def in_squeue(job_id: str) -> str:
    return squeue(job_id, "%T", states="all")


@pytest.fixture(scope="module")
def backend() -> Backend:
    return load_backend("slurm")


@pytest.fixture(scope="module")
def ended(
    backend: Backend,
    slurm_cluster: slurm_cluster_module.Cluster,
    second_cluster: slurm_cluster_module.Cluster,
) -> Iterator[dict[str, str]]:
    """``{how: job id}`` of five real jobs that ended five ways and left squeue."""

    async def make() -> dict[str, str]:
        ctx = context(backend)
        jobs = {
            "exit": await submit(backend, ctx, ["bash", "-c", "exit 3"]),
            "signal": await submit(backend, ctx, ["bash", "-c", "kill -KILL $$"]),
            "timeout": await submit(backend, ctx, ["sleep", "300"], runtime="00:01:00"),
            "admin": await submit(backend, ctx, ["sleep", "300"]),
            "node": await submit(
                backend, ctx, ["sleep", "300"], cluster=slurm_cluster_module.SECOND
            ),
        }
        live = [jobs["admin"], jobs["node"], jobs["timeout"]]
        await wait_for(backend, ctx, live, running, patience=40)
        subprocess.run(["scancel", jobs["admin"]], check=True)  # root: an administrator
        down = ["scontrol", "update", f"nodename={second_cluster.host}", "state=down"]
        subprocess.run(
            [*down, "reason=jobspawner test: node failure"],
            check=True,
            env={"SLURM_CONF": str(second_cluster.conf), "PATH": "/usr/bin:/bin"},
        )
        return jobs

    jobs = asyncio.run(make())
    try:
        deadline = time.monotonic() + PURGED_WITHIN
        while any(in_squeue(j) for j in jobs.values()):
            left = {how: in_squeue(j) for how, j in jobs.items() if in_squeue(j)}
            assert time.monotonic() < deadline, f"still in squeue after {PURGED_WITHIN} s: {left}"
            time.sleep(2)
        yield jobs
    finally:
        subprocess.run(
            ["scontrol", "update", f"nodename={second_cluster.host}", "state=resume"],
            env={"SLURM_CONF": str(second_cluster.conf), "PATH": "/usr/bin:/bin"},
            check=False,
        )
        shutil.rmtree(LOG_DIR.format(user="alice"), ignore_errors=True)


@pytest.fixture(scope="module")
def statuses(backend: Backend, ended: dict[str, str]) -> Mapping[str, JobStatus]:
    """One ``query_status`` for all five, as a hub's status round asks: squeue, then sacct."""
    ctx = context(backend)
    calls = record_queries(ctx)
    found = asyncio.run(backend.query_status(ctx, list(ended.values())))
    programs = [argv[0] for argv in calls]
    assert programs.count("sacct") >= 1 and programs[0] == "squeue", calls
    return {how: found[job_id] for how, job_id in ended.items()}


def test_exit_code_from_accounting(statuses: Mapping[str, JobStatus]) -> None:
    status = statuses["exit"]
    assert status.state is JobState.FAILED and status.native_state == "FAILED", status
    assert status.exit_code == 3
    assert status.extra.get("end"), "accounting gives the end time"


def test_signal_from_accounting(backend: Backend, statuses: Mapping[str, JobStatus]) -> None:
    status = statuses["signal"]
    assert status.state.finished and status.extra.get("signal") == "9", status
    assert status.exit_code == 128 + 9


def test_time_limit_from_accounting(backend: Backend, statuses: Mapping[str, JobStatus]) -> None:
    status = statuses["timeout"]
    assert status.native_state == "TIMEOUT" and status.state.finished, status
    assert "reached its time limit" in backend.describe_status(status)


def test_admin_cancel_from_accounting(backend: Backend, statuses: Mapping[str, JobStatus]) -> None:
    status = statuses["admin"]
    assert status.state is JobState.CANCELLED, status
    assert status.extra.get("cancelled_by_uid") == "0" and status.reason == "cancelled by uid 0"


def test_node_failure_from_accounting_of_the_other_cluster(
    backend: Backend, ended: dict[str, str], statuses: Mapping[str, JobStatus]
) -> None:
    assert ended["node"].endswith(f";{slurm_cluster_module.SECOND}"), ended["node"]
    status = statuses["node"]
    assert status.native_state == "NODE_FAIL" and status.state.finished, status
    assert "failure of its node" in backend.describe_status(status)
