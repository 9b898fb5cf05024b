"""Reading backend options (``c.JobSpawner.backend_options``) the same way in every backend."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jobspawner.contract import backend_options


def tool(options: Mapping[str, Any], name: str) -> str:
    """The program to run for scheduler command ``name``: the option of that name (a full
    path, e.g. ``{"sbatch": "/opt/slurm/bin/sbatch"}``) or the bare name, found on PATH."""
    return str(options.get(name) or name)


def flag(options: Mapping[str, Any], name: str, default: bool) -> bool:
    """A yes/no option, read by :func:`jobspawner.contract.backend_options.parse_bool`: strings such
    as "no", "false", "0", "off" and "" read as false; any other value as its truthiness."""
    value = options.get(name, default)
    parsed = backend_options.parse_bool(value)
    return bool(value) if parsed is None else parsed
