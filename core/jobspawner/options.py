"""Reading backend options (``c.JobSpawner.backend_options``) the same way in every backend."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def tool(options: Mapping[str, Any], name: str) -> str:
    """The program to run for scheduler command ``name``: the option of that name (a full
    path, e.g. ``{"sbatch": "/opt/slurm/bin/sbatch"}``) or the bare name, found on PATH."""
    return str(options.get(name) or name)


def flag(options: Mapping[str, Any], name: str, default: bool) -> bool:
    """A yes/no option; strings such as "no", "false", "0", "off" and "" read as false."""
    value = options.get(name, default)
    if isinstance(value, str):
        return value.strip().lower() not in ("", "0", "false", "no", "off")
    return bool(value)
