"""The options and resources of the user's last start whose server came up.

"The same options as last time" means the options of a server that ran: a start is
remembered once its job was submitted *and* its notebook server came up (the hub verified
it and is about to route it, :meth:`JobSpawner.start`). A refused choice (a 400 before
anything is submitted), a start that failed before or after submitting, a job that ended
before its server reported: none of them is remembered, so neither the spawn form's
preselection, its *Launch again with the same options* link nor the session view's repeats a
failure.

The record holds the chosen options (plain values, as the validator accepted them) and the
resources of that job as a user reads them, so the session view's card of a stopped server
shows what ran, not the configuration's defaults. It is part of the job's record
(:attr:`jobspawner.lifecycle.job_record.JobRecord.last_started`), and ``JobSpawner.clear_state``
leaves it, so it outlives the stop and a hub restart; the next start that comes up replaces
it.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, Protocol

from jobspawner.choices.plain_values import plain
from jobspawner.lifecycle.job_record import JobRecord


class RecordHost(Protocol):
    """Whose record it is (the spawner)."""

    @property
    def record(self) -> JobRecord:
        """The server's record (the current job's id and options are in it)."""


def remember(host: RecordHost, resources: Mapping[str, Any]) -> None:
    """The server of this start came up: keep its options and readable ``resources``."""
    record = host.record
    record.last_started = {
        "job_id": record.job_id,
        "time": time.time(),
        "options": plain(record.options),
        "resources": plain(resources),
    }


def options(host: RecordHost) -> dict[str, Any]:
    """The options of the last start that came up (empty when none did)."""
    return host.record.started_options()


def resources(host: RecordHost) -> dict[str, Any]:
    """The resources (as a user reads them) of the last job whose server came up."""
    return dict(host.record.last_started.get("resources") or {})


def readable(resources: Mapping[str, Any]) -> dict[str, str]:
    """Resources as a user reads them: ``memory 4096 MiB``, ``runtime 02:00:00``."""
    out: dict[str, str] = {}
    for key, value in resources.items():
        if value is None or key == "runtime_s":
            continue
        if key.endswith("_mb"):
            out[key[:-3]] = f"{value} MiB"
        else:
            out[key.replace("_", " ")] = str(value)
    return out
