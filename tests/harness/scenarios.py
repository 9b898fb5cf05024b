"""End-to-end stories every backend tells the same way."""

from __future__ import annotations

import time

import pytest

from .hub import Hub, SpawnFailed


def failing_prologue(marker: str, code: int = 3) -> str:
    """Hub config for a job that prints ``marker`` and exits ``code`` before its server."""
    return f'c.JobSpawner.prologue = "echo {marker} >&2; exit {code}"'


def expect_fast_failure(
    hub: Hub, user: str, marker: str, within: float, server_name: str = "", code: int = 3
) -> str:
    """Start a server whose job dies at once: the spawn must fail within ``within`` seconds
    with the job's exit code and the tail of its output (where ``marker`` was printed), and
    the spawner must hold no job any more. Returns the failure message."""
    started = time.monotonic()
    with pytest.raises(SpawnFailed) as failure:
        hub.start_server(user, server_name, timeout=max(60.0, 2 * within))
    elapsed = time.monotonic() - started
    message = failure.value.message
    assert "ended before the notebook server started" in message, message
    assert f"exit code {code}" in message, message
    assert marker in message, message  # the log tail
    assert elapsed < within, f"the spawn took {elapsed:.1f}s to fail"
    assert not hub.spawner_state(user, server_name).get("job_id")
    return message
