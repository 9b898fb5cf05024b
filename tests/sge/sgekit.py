"""Shared helpers of the Grid Engine tests (options, job specs, fixture files)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jobspawner import JobSpec

from sge.cluster import SGE_CELL, SGE_ROOT

FIXTURES = Path(__file__).parent / "fixtures"

#: What the backend needs to reach the test cell (passed as options, not the environment).
OPTIONS = {"sge_root": SGE_ROOT, "sge_cell": SGE_CELL}

UNSET = dict.fromkeys(
    [
        "queue",
        "account",
        "qos",
        "reservation",
        "runtime",
        "runtime_s",
        "memory_mb",
        "cpus",
        "gpus",
        "gpu_type",
        "nodes",
        "constraint",
        "cluster",
        "scheduler_server",
        "disk_mb",
    ]
)


def make_spec(
    job_name: str = "jupyter-alice", options: dict[str, Any] | None = None, **values: Any
) -> JobSpec:
    options = options or {}
    variables = {
        **UNSET,
        "job_name": job_name,
        "username": "alice",
        "server_name": "",
        "output_file": "/home/alice/.jobspawner/logs/j.log",
        "workdir": "/home/alice",
        "command": ["/opt/env/bin/jobspawner-singleuser", "--debug"],
        "env": {"JUPYTERHUB_API_TOKEN": "abc"},
        "prologue": "",
        "epilogue": "",
        "opts": options,
        **values,
    }
    return JobSpec(
        username="alice",
        server_name="",
        job_name=job_name,
        output_file=variables["output_file"],
        workdir=variables["workdir"],
        command=tuple(variables["command"]),
        env=variables["env"],
        variables=variables,
        options=options,
    )
