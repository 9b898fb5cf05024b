"""Shared helpers for the Slurm tests: job specs built like the core's spawner builds them."""

from __future__ import annotations

from typing import Any

from jobspawner import JobSpec


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
