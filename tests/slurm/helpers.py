"""Shared helpers for the Slurm tests: job specs built like the core's spawner builds them."""

from __future__ import annotations

from typing import Any

from jobspawner import JobSpec
from jobspawner.resources import normalise


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
    """A spec with the variables the core's spawner builds (same keys, same validation)."""
    options = dict(options or {})
    env = dict(
        env or {"JUPYTERHUB_API_TOKEN": "secret-token", "JUPYTERHUB_SERVICE_PREFIX": "/user/alice/"}
    )
    command = list(command or ["/opt/jobenv/bin/jobspawner-singleuser", "--debug"])
    variables = {
        **normalise(resources or {}),
        "job_name": job_name,
        "username": username,
        "server_name": "lab",
        "homedir": f"/home/{username}",
        "output_file": output_file or f"/home/{username}/.jobspawner/{job_name}.log",
        "workdir": f"/home/{username}",
        "command": command,
        "env": env,
        "prologue": prologue,
        "epilogue": epilogue,
        "opts": options,
    }
    return JobSpec(
        username=username,
        server_name="lab",
        job_name=job_name,
        output_file=variables["output_file"],
        workdir=f"/home/{username}",
        command=tuple(command),
        env=env,
        variables=variables,
        options=options,
    )
