"""Removing a job's leftover secrets file (the server's API token) once the job is over.

``jobspawner-singleuser`` reads and deletes the file when the server starts. A job cancelled
while queued, or one that ends before its server started, never does: the spawner then asks
the backend's ``remove_secrets`` hook to delete it, as the user, through the same way the file
was written (the user's runner for command-line backends and slurmrestd, a gateway's file API
for FirecREST). This module holds the command the core's default runs and the one call the
spawner makes.
"""

from __future__ import annotations

import logging

from jobspawner.contract.commands import Command, CommandError
from jobspawner.contract.context import BackendContext


class NotRemovable(RuntimeError):
    """The backend has no way to remove the file (it wrote it without the core's runner and
    implements no ``remove_secrets``); the message is for the admin."""


def remove_command(path: str) -> Command:
    """Delete ``path`` if it exists (``rm -f``: a file already gone is fine); the path is one
    argument after ``--``, never parsed by a shell."""
    return Command(["rm", "-f", "--", path])


async def remove_secrets_by_runner(ctx: BackendContext, path: str) -> None:
    """``rm -f`` as the user through ``ctx.run``: for every backend whose secrets file the
    core's preparation commands wrote through that runner (command-line backends, and
    slurmrestd, which runs them before its REST submit)."""
    result = await ctx.run(remove_command(path), check=False)
    if not result.ok:
        raise CommandError.from_result(result, problem=f"could not remove {path}")


async def remove_leftover(ctx: BackendContext, path: str, log: logging.Logger, name: str) -> bool:
    """Ask the backend to delete the job's secrets file ``path`` (recorded at submission).

    Never raises: a file that cannot be removed is logged for the admin (the job is over
    either way). True when the backend reported it removed (or already gone).
    """
    if not path:
        return False
    try:
        await ctx.backend.remove_secrets(ctx, path)
    except Exception as e:  # the stop or the failure message matters more
        log.warning("%s: could not remove the job's secrets file %s: %s", name, path, e)
        return False
    return True
