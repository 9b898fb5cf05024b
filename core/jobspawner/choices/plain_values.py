"""A user's options as plain values, bounded: how they are kept and offered again.

The options of the last start that came up, of a job kept across a hub restart and of a
submission the hub refused are offered again (the spawn form's preselection, its *Launch again
with the same options* link); the job's record keeps them
(:class:`~jobspawner.lifecycle.job_record.JobRecord`). :func:`plain` is what each is read as:
``{name: text or number}``, of bounded size, whatever a form, a query string or a stored state
held.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: Longest text kept for one option or resource value (validated values are shorter).
MAX_VALUE = 256
#: Most entries kept in each mapping of options or resources.
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
