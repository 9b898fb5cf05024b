"""Polling for a condition in tests, with a deadline (no fixed sleeps)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_for(predicate: Callable[[], T], timeout: float = 30.0, interval: float = 0.2) -> T:
    """Call ``predicate`` until it returns something truthy; return that, or its last
    (falsy) answer at the deadline, for the caller to assert on."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)
