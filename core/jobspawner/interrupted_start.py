"""Spawns a hub restart interrupted: the job was queued or starting when the hub stopped.

JupyterHub keeps everything that follows a spawn in the process that began it: the spawn's
future, its progress stream, the proxy route added once the server is ready. A restarted hub
(``JupyterHub.init_spawners``) only checks, before it listens, whether each server in its
database answers at its URL; a server whose start never finished has no URL, and its job
could not report its port to a hub that does not listen yet. So the restarted hub cannot
follow such a spawn. jobspawner therefore ends it at once, when the restarted hub first
polls the spawner: the job is cancelled (a job that starts later would find nobody waiting
for its port and die anyway, after using the allocation for nothing), and the user sees why
where JupyterHub shows a failed spawn (the server's page and the progress stream), then
starts again.

The spawner marks its state ``start_unfinished`` from the submission until the server
answered; a spawner that loads that mark from the database, and is not starting in this
process, belongs to an interrupted spawn.
"""

from __future__ import annotations

import asyncio
from typing import Any

from .hub_compat import SpawnException

#: The key in the spawner's persisted state.
STATE_KEY = "start_unfinished"


def user_message(job_id: str) -> str:
    """What the user reads about a start that a hub restart interrupted."""
    return (
        f"Your server was still starting (job {job_id}) when JupyterHub restarted, and the "
        "restarted JupyterHub could not follow that start, so the job was cancelled. "
        "Please start your server again."
    )


def failed_spawn(message: str) -> asyncio.Future[Any]:
    """A finished spawn future holding the failure, as JupyterHub keeps a failed spawn's.

    JupyterHub shows ``spawner._spawn_future``'s exception on the server's page
    (``/user/<name>/``, ``/hub/spawn-pending/<name>``) and as the progress stream's failed
    event, until the user starts the server again.
    """
    future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    error = SpawnException(message, reason="hub_restart")
    error.jupyterhub_message = message  # the message JupyterHub's pages show as the reason
    future.set_exception(error)
    future.exception()  # retrieved: no "exception never retrieved" warning at collection
    return future
