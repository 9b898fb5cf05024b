"""Shared helpers for the Slurm, slurmrestd and FirecREST tests: job specs built as the
core's spawner builds them, waiting for states and logs, squeue lines, log clean-up."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
from collections.abc import Iterator
from typing import Any

from jobspawner import JobSpec, JobState, JobStatus
from jobspawner.contract.context import BackendContext
from jobspawner.facade.backend import Backend
from jobspawner.testing import wait_for

__all__ = [
    "make_spec", "remove_job_logs", "running", "sigkill_job", "squeue", "squeue_active",
    "wait_for", "wait_for_log",
]  # fmt: skip


def make_spec(
    resources: dict[str, Any] | None = None,
    options: dict[str, Any] | None = None,
    prologue: str = "",
    epilogue: str = "",
    command: list[str] | None = None,
    env: dict[str, str] | None = None,
    username: str = "alice",
    output_file: str | None = None,
    job_name: str = "jupyterhub-alice-lab",
) -> JobSpec:
    """A spec built the way the core's spawner builds it (JobSpec.create)."""
    return JobSpec.create(
        username=username,
        server_name="lab",
        job_name=job_name,
        output_file=output_file or f"/home/{username}/.jobspawner/{job_name}.log",
        workdir=f"/home/{username}",
        command=command or ["/opt/jobenv/bin/jobspawner-singleuser", "--debug"],
        env=env
        or {"JUPYTERHUB_API_TOKEN": "secret-token", "JUPYTERHUB_SERVICE_PREFIX": "/user/alice/"},
        resources=resources,
        prologue=prologue,
        epilogue=epilogue,
        options=options,
    )


async def wait_for_log(
    backend: Backend, ctx: BackendContext, path: str, text: str, timeout: float = 15
) -> str:
    """The job log's last lines once ``text`` is in them (or whatever is there at ``timeout``)."""
    deadline = time.monotonic() + timeout
    while True:
        log = await backend.read_log(ctx, path, 20)
        if text in log or time.monotonic() > deadline:
            return log
        await asyncio.sleep(0.2)


def running(status: JobStatus) -> bool:
    return status.state is JobState.RUNNING


def remove_job_logs(log_dir: str) -> Iterator[None]:
    """Body of a module fixture: the jobs' output files go to the users' homes (``log_dir``
    holds ``{user}``); remove them after the module."""
    yield
    for user in ("alice", "bob"):
        shutil.rmtree(log_dir.format(user=user), ignore_errors=True)


def squeue(job_id: str, fmt: str = "%T|%u|%P", states: str = "PD,R,CG,S,ST,CF") -> str:
    """The job's line in squeue among ``states`` (the active ones by default; "" once gone).

    An id with a cluster (``123;jobspawner2``) is looked up on that cluster. A finished job
    leaves squeue ``MinJobAge`` seconds after its end: read how it ended from accounting
    (:func:`slurm.accounting.accounted_state`), not with ``states="all"``.
    """
    base, _, cluster = job_id.partition(";")
    argv = ["squeue", "-h", "-t", states, "-j", f"{base},{base}", "-o", fmt]
    if cluster:
        argv.append(f"--clusters={cluster}")
    out = subprocess.run(argv, capture_output=True, text=True).stdout
    return "\n".join(line for line in out.splitlines() if not line.startswith("CLUSTER:")).strip()


def squeue_active(job_id: str) -> str:
    """The job's state while it is active, "" once it is gone."""
    return squeue(job_id, "%T")


def sigkill_job(job_id: str) -> None:
    """SIGKILL every process of a running job at once (``scontrol listpids``): the server
    says nothing, as when the OOM killer or a node's crash ends it."""
    listed = subprocess.run(
        ["scontrol", "listpids", job_id], capture_output=True, text=True, check=True
    ).stdout.splitlines()[1:]
    pids = [line.split()[0] for line in listed if line.split()[0] != "-1"]
    assert pids, f"scontrol listpids found no process of the running job {job_id}"
    subprocess.run(["kill", "-KILL", *pids], check=True)


def fill_partition(cpus: int) -> str:
    """Submit a root job that takes all ``cpus`` of the test node for 30 minutes (the next
    job waits in the queue, reason Resources); its id. Cancel it when done."""
    return subprocess.run(
        ["sbatch", "--parsable", "-c", str(cpus), "-t", "30", "-o", "/dev/null"],
        input="#!/bin/bash\nsleep 600\n",
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
