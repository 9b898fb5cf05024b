"""The outputs recorded from a real OpenPBS server (``fixtures/openpbs``), as command results.

``provenance.json`` (written by ``record_openpbs.py``) names each record's command, user,
exit status and output files, and the job id of each situation (``jobs``).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from jobspawner import Command, CommandResult

ROOT = Path(__file__).parent / "fixtures" / "openpbs"


@cache
def provenance() -> dict[str, Any]:
    """The whole ``provenance.json``."""
    data: dict[str, Any] = json.loads((ROOT / "provenance.json").read_text())
    return data


def records() -> dict[str, dict[str, Any]]:
    """Every record by name: ``command``, ``user``, ``exit_status``, ``stdout``/``stderr``."""
    return provenance()["records"]


def jobs() -> dict[str, str]:
    """The job id of each recorded situation (``running``, ``queued`` ...)."""
    return provenance()["jobs"]


def stream(name: str, which: str) -> str:
    """The verbatim ``stdout``/``stderr`` of record ``name`` (empty when it printed none)."""
    file = records()[name].get(which)
    return (ROOT / file).read_text() if file else ""


def recorded(name: str) -> CommandResult:
    """Record ``name`` as the :class:`CommandResult` the backend's parsers receive."""
    entry = records()[name]
    return CommandResult(
        Command(list(entry["command"])),
        entry["exit_status"],
        stream(name, "stdout"),
        stream(name, "stderr"),
    )
