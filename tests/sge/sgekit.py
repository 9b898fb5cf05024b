"""Shared helpers of the Grid Engine tests (options, job specs, fixture files)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jobspawner import JobSpec

from sge.cluster import SGE_CELL, SGE_ROOT

FIXTURES = Path(__file__).parent / "fixtures"

#: What the backend needs to reach the test cell (passed as options, not the environment).
OPTIONS = {"sge_root": SGE_ROOT, "sge_cell": SGE_CELL}


def make_spec(
    job_name: str = "jupyter-alice", options: dict[str, Any] | None = None, **values: Any
) -> JobSpec:
    """A spec built like the spawner's (JobSpec.create); ``values`` override variables."""
    return JobSpec.create(
        username="alice",
        job_name=job_name,
        output_file=values.get("output_file", "/home/alice/.jobspawner/logs/j.log"),
        workdir=values.get("workdir", "/home/alice"),
        command=values.get("command", ["/opt/env/bin/jobspawner-singleuser", "--debug"]),
        env=values.get("env", {"JUPYTERHUB_API_TOKEN": "abc"}),
        options=options,
        variables=values,
    )
