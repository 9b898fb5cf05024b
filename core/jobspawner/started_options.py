"""The options and resources of the user's last start whose server came up.

"The same options as last time" means the options of a server that ran: a start is
remembered once its job was submitted *and* its notebook server came up (the hub verified
it and is about to route it, :meth:`JobSpawner._start`). A refused choice (a 400 before
anything is submitted), a start that failed before or after submitting, a job that ended
before its server reported: none of them is remembered, so neither the spawn form's
preselection, its *Launch again with the same options* link nor the session view's repeats a
failure.

The record holds the chosen options (plain values, as the validator accepted them) and the
resources of that job as a user reads them, so the session view's card of a stopped server
shows what ran, not the configuration's defaults. It is part of the spawner's state
(:func:`state_entries`, :func:`restore`) and ``JobSpawner.clear_state`` leaves it, so it
outlives the stop and a hub restart; the next start that comes up replaces it.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .spawner import JobSpawner

STATE_KEY = "last_started"
#: Longest text kept for one option or resource value (validated values are shorter).
MAX_VALUE = 256
#: Most entries kept in each of the record's mappings.
MAX_ENTRIES = 64


def plain(values: Any) -> dict[str, Any]:
    """``values`` as ``{name: text or number}``: lists of one value unwrapped, anything
    else (lists of several, nested data, booleans) left out, sizes bounded."""
    out: dict[str, Any] = {}
    if not isinstance(values, Mapping):
        return out
    for key, value in values.items():
        if isinstance(value, (list, tuple)):
            if len(value) != 1:
                continue
            value = value[0]
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            continue
        if isinstance(value, str) and len(value) > MAX_VALUE:
            continue
        out[str(key)[:MAX_VALUE]] = value
        if len(out) >= MAX_ENTRIES:
            break
    return out


def remember(spawner: JobSpawner, resources: Mapping[str, Any]) -> None:
    """The server of this start came up: keep its options and readable ``resources``."""
    spawner._last_started = {
        "job_id": spawner.job_id,
        "time": time.time(),
        "options": plain(spawner._chosen_options),
        "resources": plain(resources),
    }


def options(spawner: JobSpawner) -> dict[str, Any]:
    """The options of the last start that came up (empty when none did)."""
    return dict(spawner._last_started.get("options") or {})


def resources(spawner: JobSpawner) -> dict[str, Any]:
    """The resources (as a user reads them) of the last job whose server came up."""
    return dict(spawner._last_started.get("resources") or {})


# --- state ----------------------------------------------------------------------------------


def state_entries(spawner: JobSpawner) -> dict[str, Any]:
    """The record for ``get_state`` (nothing when there is none)."""
    return {STATE_KEY: dict(spawner._last_started)} if spawner._last_started else {}


def restore(spawner: JobSpawner, state: Mapping[str, Any]) -> None:
    """The record from a saved state; anything malformed is dropped."""
    record = state.get(STATE_KEY)
    spawner._last_started = {}
    if not isinstance(record, Mapping):
        return
    when = record.get("time")
    spawner._last_started = {
        "job_id": str(record.get("job_id") or ""),
        "time": float(when) if isinstance(when, (int, float)) else None,
        "options": plain(record.get("options")),
        "resources": plain(record.get("resources")),
    }
