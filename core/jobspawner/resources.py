"""Validating and normalising resource requests before they reach a job script.

Every value that lands in a script, whether it comes from the site's config or from a user's
options, passes through :func:`normalise`. Errors name the field and say why the value was
refused.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

#: Names (queues, accounts, QOS, reservations, clusters, GPU types, servers): no spaces,
#: quotes, shell or directive metacharacters.
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.:@+=,/-]{0,127}$")
#: Constraint/requirement expressions may also use & | ! * ( ) [ ].
_EXPR = re.compile(r"^[A-Za-z0-9_.:@+=,/&|!*()\[\]-]{1,256}$")
_MEMORY = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgtp]?)i?b?\s*$", re.IGNORECASE)
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|hr|d|day|days)?\s*$", re.IGNORECASE)
_CLOCK = re.compile(r"^(?:(\d+)-)?(\d+)(?::(\d+))?(?::(\d+))?$")


class ResourceError(ValueError):
    """A resource value was refused; ``field`` names it."""

    def __init__(self, field: str, value: Any, reason: str) -> None:
        self.field = field
        self.value = value
        self.reason = reason
        super().__init__(f"{field}: {value!r} {reason}")


def parse_memory_mb(field: str, value: Any) -> int:
    """``4G``, ``512M``, ``1.5GiB``, ``2048`` (MiB) -> MiB."""
    if isinstance(value, bool):
        raise ResourceError(field, value, "is not a memory size")
    if isinstance(value, int):
        mb = value
    else:
        m = _MEMORY.match(str(value))
        if not m:
            raise ResourceError(field, value, "is not a memory size (examples: 4G, 512M, 2048)")
        number, unit = float(m.group(1)), m.group(2).lower()
        factor = {"": 1, "k": 1 / 1024, "m": 1, "g": 1024, "t": 1024**2, "p": 1024**3}[unit]
        mb = round(number * factor)
    if mb <= 0:
        raise ResourceError(field, value, "must be more than zero")
    return mb


def parse_duration_s(field: str, value: Any) -> int:
    """``01:30:00``, ``1-00:00:00``, ``90:00`` (min:sec), ``90m``, ``2h``, ``45s`` -> seconds.

    Forms follow Slurm's ``--time``: a bare number is minutes; ``M:S``, ``H:M:S``, ``D-H``,
    ``D-H:M``, ``D-H:M:S``.
    """
    if isinstance(value, bool):
        raise ResourceError(field, value, "is not a duration")
    if isinstance(value, (int, float)):
        seconds = int(value * 60)
    else:
        text = str(value).strip()
        m = _DURATION.match(text)
        clock = _CLOCK.match(text)
        if m and (m.group(2) or ":" not in text):
            unit = (m.group(2) or "m").lower()[0]
            seconds = int(float(m.group(1)) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[unit])
        elif clock:
            days, a, b, c = (int(g) if g else None for g in clock.groups())
            if days is not None:  # D-H[:M[:S]]
                seconds = days * 86400 + (a or 0) * 3600 + (b or 0) * 60 + (c or 0)
            elif c is not None:  # H:M:S
                seconds = (a or 0) * 3600 + (b or 0) * 60 + c
            elif b is not None:  # M:S
                seconds = (a or 0) * 60 + b
            else:
                seconds = (a or 0) * 60  # bare number in clock form = minutes (Slurm)
        else:
            raise ResourceError(
                field, value, "is not a duration (examples: 01:30:00, 1-00:00:00, 90m, 2h)"
            )
    if seconds <= 0:
        raise ResourceError(field, value, "must be more than zero")
    return seconds


def format_hms(seconds: int) -> str:
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h:02d}:{m:02d}:{s:02d}"


def parse_count(field: str, value: Any, minimum: int = 1, maximum: int = 100_000) -> int:
    if isinstance(value, bool):
        raise ResourceError(field, value, "is not a whole number")
    try:
        number = int(str(value).strip()) if not isinstance(value, int) else value
    except ValueError:
        raise ResourceError(field, value, "is not a whole number") from None
    if not minimum <= number <= maximum:
        raise ResourceError(field, value, f"must be between {minimum} and {maximum}")
    return number


def check_name(field: str, value: Any) -> str:
    text = str(value)
    if not _NAME.match(text):
        raise ResourceError(
            field,
            value,
            "is not a valid name (letters, digits and _ . : @ + = , / - only; no spaces)",
        )
    return text


def check_expression(field: str, value: Any) -> str:
    text = str(value)
    if not _EXPR.match(text):
        raise ResourceError(
            field, value, "is not a valid expression (no spaces, quotes, $ or ; allowed)"
        )
    return text


@dataclass(frozen=True)
class Field:
    """One resource: how it is checked and the template variable(s) it fills."""

    name: str
    kind: str  # name | expr | count | gpus | memory | duration


FIELDS: dict[str, Field] = {
    f.name: f
    for f in [
        Field("queue", "name"),
        Field("account", "name"),
        Field("qos", "name"),
        Field("reservation", "name"),
        Field("cluster", "name"),
        Field("scheduler_server", "name"),
        Field("gpu_type", "name"),
        Field("constraint", "expr"),
        Field("runtime", "duration"),
        Field("memory", "memory"),
        Field("disk", "memory"),
        Field("cpus", "count"),
        Field("nodes", "count"),
        Field("gpus", "gpus"),
    ]
}


def empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def normalise(values: Mapping[str, Any], label: str = "req_{}") -> dict[str, Any]:
    """Validate resource values and return the template variables they become.

    Unset values (None or "") become None. ``runtime`` gives ``runtime`` ("HH:MM:SS") and
    ``runtime_s``; ``memory`` gives ``memory_mb``; ``disk`` gives ``disk_mb``.
    ``label`` formats the field name used in errors (``req_memory`` for config).
    """
    out: dict[str, Any] = {
        "queue": None, "account": None, "qos": None, "reservation": None, "cluster": None,
        "scheduler_server": None, "gpu_type": None, "constraint": None, "runtime": None,
        "runtime_s": None, "memory_mb": None, "disk_mb": None, "cpus": None, "nodes": None,
        "gpus": None,
    }  # fmt: skip
    for key, value in values.items():
        spec = FIELDS.get(key)
        if spec is None:
            raise ResourceError(label.format(key), value, "is not a known resource")
        if empty(value):
            continue
        name = label.format(key)
        if spec.kind == "name":
            out[key] = check_name(name, value)
        elif spec.kind == "expr":
            out[key] = check_expression(name, value)
        elif spec.kind == "count":
            out[key] = parse_count(name, value)
        elif spec.kind == "gpus":
            out[key] = parse_count(name, value, minimum=0, maximum=1024) or None
        elif spec.kind == "memory":
            out[f"{key}_mb"] = parse_memory_mb(name, value)
        elif spec.kind == "duration":
            seconds = parse_duration_s(name, value)
            out["runtime_s"] = seconds
            out["runtime"] = format_hms(seconds)
    return out
