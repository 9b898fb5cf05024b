"""A JobSpawner (no hub) whose job is cancelled while still queued, for any backend.

The job is submitted to a partition where it stays pending (the test Slurm's ``closed``
partition), so its server never starts and never reads (and deletes) its secrets file; the
start is then cancelled as JupyterHub does (cancel the pending spawn, poll, stop). The tests
check what is left behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from jobspawner.spawner import JobSpawner
from jupyterhub.objects import Hub


def spawner_for(
    backend: str,
    backend_options: dict[str, Any],
    log_dir: str,
    username: str = "alice",
    auth_state: dict[str, Any] | None = None,
    **config: Any,
) -> JobSpawner:
    """A spawner for ``username`` outside a hub (the user's auth state from ``auth_state``)."""

    async def get_auth_state() -> dict[str, Any] | None:
        return auth_state

    user = SimpleNamespace(
        name=username, url=f"/user/{username}/", escaped_name=username, id=1,
        get_auth_state=get_auth_state,
    )  # fmt: skip
    return JobSpawner(
        user=user,
        hub=Hub(ip="127.0.0.1", port=8081, base_url="/hub/"),
        api_token="secret-token-" + os.urandom(8).hex(),
        oauth_client_id=f"jupyterhub-user-{username}",
        backend=backend,
        backend_options=backend_options,
        log_dir=log_dir,
        workdir=f"/home/{username}",
        cmd=["sleep", "300"],
        startup_poll_interval=0.2,
        **config,
    )


@dataclass
class Outcome:
    job_id: str
    secrets_file: str
    existed_while_queued: bool
    left_after_stop: bool


async def cancel_while_queued(spawner: JobSpawner, timeout: float = 30) -> Outcome:
    """Start, wait for the job id (the secrets file is written before the submit), cancel
    the start, then poll and stop as JupyterHub does; what happened to the secrets file."""
    start = asyncio.ensure_future(spawner.start())
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not spawner.job_id:
        if start.done():
            start.result()  # the start failed: show why
            raise AssertionError("the start ended without a job")
        if loop.time() > deadline:
            raise AssertionError("no job was submitted")
        await asyncio.sleep(0.05)
    job_id, path = spawner.job_id, spawner.job_secrets
    existed = os.path.exists(path)
    await asyncio.sleep(0.5)  # a status round sees it pending
    start.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await start
    await spawner.poll()  # as JupyterHub does after cancelling a pending spawn
    await spawner.stop()
    return Outcome(job_id, path, existed, os.path.exists(path))
