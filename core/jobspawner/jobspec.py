"""The description of one job that the spawner hands to the backend hooks."""

from __future__ import annotations

from collections.abc import Mapping
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

    def option(self, name: str, default: Any = None) -> Any:
        """A backend option, or ``default`` when the site did not set it."""
        return self.options.get(name, default)
