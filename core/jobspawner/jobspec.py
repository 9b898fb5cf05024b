"""The description of one job that the spawner hands to the backend hooks."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class JobSpec:
    """Everything a backend needs to render, submit and name a job.

    ``variables`` holds every template variable (resources such as ``runtime``, ``memory``,
    ``cpus``, ``queue``; the server ``command``; ``prologue``/``epilogue``; ``env``...). The
    typed fields repeat the ones backends commonly need outside the template.
    ``options`` are the site's backend options (``c.JobSpawner.backend_options``), e.g. the
    path of a scheduler command or whether to use ``srun``.
    """

    username: str
    server_name: str
    job_name: str
    output_file: str
    workdir: str
    command: tuple[str, ...]
    env: Mapping[str, str] = field(default_factory=dict)
    variables: Mapping[str, Any] = field(default_factory=dict)
    options: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def create(
        cls,
        *,
        username: str,
        job_name: str,
        output_file: str,
        workdir: str,
        command: Sequence[str],
        server_name: str = "",
        homedir: str | None = None,
        env: Mapping[str, str] | None = None,
        resources: Mapping[str, Any] | None = None,
        prologue: str = "",
        epilogue: str = "",
        options: Mapping[str, Any] | None = None,
        site_variables: Mapping[str, Any] | None = None,
        variables: Mapping[str, Any] | None = None,
    ) -> JobSpec:
        """A spec with every template variable, built the one way the spawner builds it.

        ``resources`` are raw requests (``{"runtime": "2h", "memory": "4G"}``), validated and
        normalised by :func:`jobspawner.resources.normalise` (unset ones become ``None``);
        ``site_variables`` come first (``c.JobSpawner.template_vars``); ``variables``
        override anything at the end (tests, tools).
        """
        from .resources import normalise

        env = {k: str(v) for k, v in (env or {}).items()}
        options = dict(options or {})
        merged: dict[str, Any] = {
            **(site_variables or {}),
            **normalise(resources or {}),
            "job_name": job_name,
            "username": username,
            "server_name": server_name,
            "homedir": homedir or f"/home/{username}",
            "output_file": output_file,
            "workdir": workdir,
            "command": list(command),
            "env": env,
            "prologue": prologue,
            "epilogue": epilogue,
            "opts": options,
            **(variables or {}),
        }
        return cls(
            username=username,
            server_name=server_name,
            job_name=job_name,
            output_file=output_file,
            workdir=workdir,
            command=tuple(command),
            env=env,
            variables=merged,
            options=options,
        )

    def option(self, name: str, default: Any = None) -> Any:
        """A backend option, or ``default`` when the site did not set it."""
        return self.options.get(name, default)
