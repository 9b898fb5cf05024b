"""Settings changed on an object for the length of a ``with`` block, then put back."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any


@contextlib.contextmanager
def overridden(target: Any, values: Mapping[str, Any]) -> Iterator[None]:
    """Set each of ``values`` as an attribute of ``target`` (a spawner's traits: a
    profile's overrides, a kept job's settings); restore the old values afterwards, also
    when the block raises."""
    saved = {name: getattr(target, name) for name in values}
    try:
        for name, value in values.items():
            setattr(target, name, value)
        yield
    finally:
        for name, value in saved.items():
            setattr(target, name, value)
