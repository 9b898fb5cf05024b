"""Skips that CI turns into failures.

A test that needs a scheduler, root, or a tool calls :func:`need`. Normally a missing
requirement skips with the reason; with ``JOBSPAWNER_TESTS_STRICT=1`` (set by ``.ci/run``) it
fails, so a missing install step in CI cannot hide behind a skip.
"""

from __future__ import annotations

import os

import pytest

STRICT_ENV = "JOBSPAWNER_TESTS_STRICT"


def strict() -> bool:
    return os.environ.get(STRICT_ENV, "") not in ("", "0", "false", "no")


def need(condition: object, reason: str) -> None:
    """Skip (or, in strict mode, fail) the calling test unless ``condition`` holds."""
    if condition:
        return
    if strict():
        pytest.fail(f"{reason} ({STRICT_ENV} is set, so this cannot be skipped)")
    pytest.skip(reason)


def need_root() -> None:
    need(os.geteuid() == 0, "needs root: jobs run as other users (run the suite as root)")
