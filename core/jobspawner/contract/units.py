"""Durations and memory sizes as schedulers print them: one parser each, for every backend.

Schedulers agree on the shapes and differ in the details: what a bare number means (Slurm:
minutes; Grid Engine, PBS: seconds), whether days come as ``D-`` (Slurm) or as a fourth
``D:`` field (PBS), whether ``k`` is 1000 or 1024 bytes (Grid Engine tells them apart by
case), and what a size without a unit counts (bytes, KiB, MiB). Each backend passes its
details; the core's own request parsers (:mod:`jobspawner.contract.resources`) use the same code.
"""

from __future__ import annotations

import re

_CLOCK = re.compile(
    r"(?:(?P<dash>[0-9]{1,6})-)?(?P<a>[0-9]{1,9})(?::(?P<b>[0-9]{1,9}))?"
    r"(?::(?P<c>[0-9]{1,9}))?(?::(?P<d>[0-9]{1,9}))?(?P<fraction>\.[0-9]+)?"
)
_SIZE = re.compile(r"([0-9]{1,15}(?:\.[0-9]{1,9})?)\s*([A-Za-z]?)", re.A)
_BINARY = {"B": 1 / 1024**2, "K": 1 / 1024, "M": 1, "G": 1024, "T": 1024**2, "P": 1024**3}
_DECIMAL = {"k": 1000 / 1024**2, "m": 1000**2 / 1024**2, "g": 1000**3 / 1024**2,
            "t": 1000**4 / 1024**2}  # fmt: skip


def clock_seconds(
    text: str | None,
    *,
    bare: str = "seconds",
    day_dash: bool = False,
    colon_days: bool = False,
    fraction: bool = False,
) -> int | None:
    """Seconds of a clock-form duration; None when ``text`` is not one.

    ``H:M:S`` and ``M:S`` everywhere; a lone number counts ``bare`` (``"seconds"`` or
    ``"minutes"``). ``day_dash``: Slurm's ``D-H``, ``D-H:M``, ``D-H:M:S``. ``colon_days``:
    PBS's ``D:H:M:S``. ``fraction``: a trailing ``.NN`` on the seconds is ignored (PBS).
    Surrounding spaces and tabs are ignored, never a line break (the core validates requests
    with it).
    """
    m = _CLOCK.fullmatch((text or "").strip(" \t"))
    if m is None or (m["fraction"] and not fraction) or (m["dash"] and not day_dash):
        return None
    parts = [int(p) for p in (m["a"], m["b"], m["c"], m["d"]) if p is not None]
    if m["dash"] is not None:  # D-H[:M[:S]]
        if len(parts) > 3:
            return None
        h, mi, s = [*parts, 0, 0][:3]
        return int(m["dash"]) * 86400 + h * 3600 + mi * 60 + s
    if len(parts) == 4:
        if not colon_days:
            return None
        return parts[0] * 86400 + parts[1] * 3600 + parts[2] * 60 + parts[3]
    if len(parts) == 3:
        return parts[0] * 3600 + parts[1] * 60 + parts[2]
    if len(parts) == 2:
        return parts[0] * 60 + parts[1]
    return parts[0] * (60 if bare == "minutes" else 1)


def size_mib(text: str | None, *, bare: str = "M", decimal_lowercase: bool = False) -> float | None:
    """MiB of a size such as ``4G``, ``512 M``, ``2048`` or ``1.5g``; None when ``text`` is not one.

    Units are binary (``K`` = 1024 bytes) and read in either case, unless
    ``decimal_lowercase`` (Grid Engine: ``k`` = 1000, ``K`` = 1024). A number without a unit
    counts ``bare`` (``"B"`` bytes, ``"K"``, ``"M"``...). The caller rounds as its scheduler
    does and strips suffixes such as ``B``/``b`` first. Spaces and tabs around it are ignored,
    never a line break.
    """
    m = _SIZE.fullmatch((text or "").strip(" \t"))
    if m is None:
        return None
    number, unit = float(m.group(1)), m.group(2)
    if decimal_lowercase and unit in _DECIMAL:
        return number * _DECIMAL[unit]
    factor = _BINARY.get((unit or bare).upper())
    return None if factor is None else number * factor
