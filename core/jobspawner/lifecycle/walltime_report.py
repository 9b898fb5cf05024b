"""The save report a job's server sends before its walltime, parsed and bounded.

The report is the job's word (user-controlled): ``{"saved": [<path>...], "failed":
[<path>...]}``, of which at most :data:`MAX_PATHS` paths of :data:`MAX_PATH` characters are
kept, without control characters. The walltime handler (:mod:`jobspawner.lifecycle.walltime`)
parses a
report's body with it, and the job's record (:mod:`jobspawner.lifecycle.job_record`) a stored one.
"""

from __future__ import annotations

import json
import re

#: The most paths of a save report kept (saved and failed together).
MAX_PATHS = 50
#: The most characters of one path kept.
MAX_PATH = 300

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


class ReportError(ValueError):
    """A save report that is not the documented JSON."""


def _path(value: object) -> str:
    if not isinstance(value, str):
        raise ReportError("every path must be a string")
    text = _CONTROL.sub("", value)
    return text if len(text) <= MAX_PATH else "…" + text[-(MAX_PATH - 1) :]


def parse_report(body: bytes) -> dict[str, list[str]]:
    """``{"saved": [...], "failed": [...]}`` from a report body, bounded; ReportError else."""
    try:
        data = json.loads(body or b"null")
    except ValueError:
        raise ReportError("the body is not JSON") from None
    if not isinstance(data, dict) or not set(data) <= {"saved", "failed"}:
        raise ReportError('the body must be {"saved": [<path>...], "failed": [<path>...]}')
    out: dict[str, list[str]] = {}
    room = MAX_PATHS
    for key in ("saved", "failed"):
        values = data.get(key) or []
        if not isinstance(values, list):
            raise ReportError(f'"{key}" must be a list of paths')
        kept = [_path(v) for v in values[:room]]
        out[key] = list(dict.fromkeys(kept))
        room -= len(kept)
    return out
