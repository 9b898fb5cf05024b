"""Validating and normalising resource requests before they reach a job script.

Every value that lands in a script, whether it comes from the site's config or from a user's
options, passes through :func:`normalise`. Errors name the field and say why the value was
refused.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from jobspawner.contract.units import clock_seconds, size_mib

#: Names (queues, accounts, clusters, scheduler servers): no spaces, quotes, shell or
#: directive metacharacters. Checked with ``fullmatch`` (``$`` would let a final newline in).
_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.:@+=,/-]{0,127}")
#: Tokens (QOS, reservations, GPU types): these land inside scheduler resource lists
#: (``-l qos=...``, ``--gres=gpu:TYPE:N``, ``-l gpu_model=TYPE``), so no ``= , : @ / +``.
_TOKEN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}")
#: Constraint expressions: feature names and the operators & | ! * ( ) [ ] : , (each backend
#: narrows this with its ``check_constraint`` hook). No ``=``: a constraint is never a
#: resource list.
_EXPR = re.compile(r"[A-Za-z0-9_.:&|!*()\[\],-]{1,256}")
_MEMORY = re.compile(r"([0-9]{1,12}(?:\.[0-9]{1,6})?) ?([kmgtp]?)i?b?", re.I | re.A)
_DURATION = re.compile(
    r"([0-9]{1,12}(?:\.[0-9]{1,6})?) ?(s|sec|m|min|h|hr|d|day|days)?", re.I | re.A
)
_COUNT = re.compile(r"[0-9]{1,12}")

#: Upper bounds: anything larger is a typo or an attack, and would overflow some schedulers.
MAX_MEMORY_MB = 1024**3  # 1 PiB
MAX_DURATION_S = 366 * 86400  # a year
#: The longest text accepted for a number (memory, duration, count).
_MAX_NUMBER_TEXT = 32


class ResourceError(ValueError):
    """A resource value was refused; ``field`` names it."""

    def __init__(self, field: str, value: Any, reason: str) -> None:
        self.field = field
        self.value = value
        self.reason = reason
        super().__init__(f"{field}: {_show(value)} {reason}")


def _show(value: Any, limit: int = 60) -> str:
    """``repr(value)`` for a message, cut to ``limit`` characters (never raises)."""
    try:
        text = repr(value)
    except ValueError:  # an int too long to print
        text = f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[: limit - 5] + "...(cut)"


def _number_text(field: str, value: Any, what: str) -> str:
    """The text of a number given as a string, refused when it is not one or too long."""
    if not isinstance(value, str):
        raise ResourceError(field, value, f"is not {what}")
    text = value.strip(" \t")
    if len(text) > _MAX_NUMBER_TEXT:
        raise ResourceError(field, value, f"is not {what} (too long)")
    return text


def parse_memory_mb(field: str, value: Any) -> int:
    """``4G``, ``512M``, ``1.5GiB``, ``2048`` (MiB) -> MiB, at most :data:`MAX_MEMORY_MB`."""
    if isinstance(value, bool):
        raise ResourceError(field, value, "is not a memory size")
    if isinstance(value, (int, float)):
        if (isinstance(value, float) and not math.isfinite(value)) or value > MAX_MEMORY_MB:
            raise ResourceError(field, value, f"is too large (at most {MAX_MEMORY_MB // 1024**3}P)")
        mb = round(value)
    else:
        text = _number_text(field, value, "a memory size (examples: 4G, 512M, 2048)")
        m = _MEMORY.fullmatch(text)
        if not m:
            raise ResourceError(field, value, "is not a memory size (examples: 4G, 512M, 2048)")
        mb = round(size_mib(m.group(1) + m.group(2), bare="M") or 0)
    if mb <= 0:
        raise ResourceError(field, value, "must be more than zero")
    if mb > MAX_MEMORY_MB:
        raise ResourceError(field, value, f"is too large (at most {MAX_MEMORY_MB // 1024**3}P)")
    return mb


def parse_duration_s(field: str, value: Any) -> int:
    """``01:30:00``, ``1-00:00:00``, ``90:00`` (min:sec), ``90m``, ``2h``, ``45s`` -> seconds.

    Forms follow Slurm's ``--time``: a bare number is minutes; ``M:S``, ``H:M:S``, ``D-H``,
    ``D-H:M``, ``D-H:M:S``. At most :data:`MAX_DURATION_S`.
    """
    if isinstance(value, bool):
        raise ResourceError(field, value, "is not a duration")
    if isinstance(value, (int, float)):
        if isinstance(value, float) and math.isnan(value):
            raise ResourceError(field, value, "is not a duration (not a number)")
        if (isinstance(value, float) and not math.isfinite(value)) or abs(value) > MAX_DURATION_S:
            raise ResourceError(
                field, value, f"is too long (at most {MAX_DURATION_S // 86400} days)"
            )
        seconds = int(value * 60)
    else:
        text = _number_text(field, value, "a duration (examples: 01:30:00, 1-00:00:00, 90m, 2h)")
        m = _DURATION.fullmatch(text)
        clock = None if m else clock_seconds(text, bare="minutes", day_dash=True)  # as Slurm
        if m and (m.group(2) or ":" not in text):
            unit = (m.group(2) or "m").lower()[0]
            seconds = int(float(m.group(1)) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[unit])
        elif clock is not None:
            seconds = clock
        else:
            raise ResourceError(
                field, value, "is not a duration (examples: 01:30:00, 1-00:00:00, 90m, 2h)"
            )
    if seconds <= 0:
        raise ResourceError(field, value, "must be more than zero")
    if seconds > MAX_DURATION_S:
        raise ResourceError(field, value, f"is too long (at most {MAX_DURATION_S // 86400} days)")
    return seconds


def format_hms(seconds: int) -> str:
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h:02d}:{m:02d}:{s:02d}"


def parse_count(field: str, value: Any, minimum: int = 1, maximum: int = 100_000) -> int:
    """A whole number between ``minimum`` and ``maximum`` (an int or its decimal text)."""
    if isinstance(value, bool):
        raise ResourceError(field, value, "is not a whole number")
    if isinstance(value, int):
        number = value
    else:
        text = _number_text(field, value, "a whole number")
        if not _COUNT.fullmatch(text):
            raise ResourceError(field, value, "is not a whole number")
        number = int(text)
    if not minimum <= number <= maximum:
        raise ResourceError(field, value, f"must be between {minimum} and {maximum}")
    return number


def _text(field: str, value: Any, what: str) -> str:
    """The text of a name-like value: a string, or a whole number (``account: 1234``)."""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise ResourceError(field, value, f"is not {what}")


def check_name(field: str, value: Any) -> str:
    """A queue/account/cluster/server name (see :data:`_NAME`), refused otherwise."""
    reason = "is not a valid name (letters, digits and _ . : @ + = , / - only; no spaces)"
    text = _text(field, value, "a valid name")
    if not _NAME.fullmatch(text):
        raise ResourceError(field, value, reason)
    return text


def check_token(field: str, value: Any) -> str:
    """A QOS, reservation or GPU type (see :data:`_TOKEN`), refused otherwise."""
    text = _text(field, value, "a valid name")
    if not _TOKEN.fullmatch(text):
        raise ResourceError(
            field, value, "is not a valid name (letters, digits and _ . - only, at most 64)"
        )
    return text


def check_expression(field: str, value: Any) -> str:
    """A constraint: feature names and operators only (see :data:`_EXPR`)."""
    text = _text(field, value, "a valid constraint")
    if not _EXPR.fullmatch(text):
        raise ResourceError(
            field,
            value,
            "is not a valid expression (feature names and & | ! * ( ) [ ] : , only; "
            "no spaces, quotes, = or ;)",
        )
    return text


@dataclass(frozen=True)
class Field:
    """One resource: how it is checked and the template variable(s) it fills."""

    name: str
    kind: str  # name | token | expr | count | gpus | memory | duration

    @property
    def variables(self) -> tuple[str, ...]:
        """The template variables :func:`normalise` fills from this field."""
        if self.kind == "memory":
            return (f"{self.name}_mb",)
        if self.kind == "duration":
            return ("runtime", "runtime_s")
        return (self.name,)


FIELDS: dict[str, Field] = {
    f.name: f
    for f in [
        Field("queue", "name"),
        Field("account", "name"),
        Field("qos", "token"),
        Field("reservation", "token"),
        Field("cluster", "name"),
        Field("scheduler_server", "name"),
        Field("gpu_type", "token"),
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
        elif spec.kind == "token":
            out[key] = check_token(name, value)
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


def overlay(
    site: Mapping[str, Any], chosen: Mapping[str, Any], keys: Iterable[str]
) -> dict[str, Any]:
    """The site's normalised requests with the user's in place for each field in ``keys``
    (the ones she set): both are :func:`normalise` outputs, so nothing is normalised twice.
    A chosen value that normalises to None (``gpus: 0``) replaces the site's too."""
    out = dict(site)
    for key in keys:
        for name in FIELDS[key].variables:
            out[name] = chosen[name]
    return out
