"""``c.JupyterHub.internal_ssl``: the server's certificate, moved to where its job reads it.

JupyterHub creates each server's key and certificate (signed by its internal CA) in the
hub's own folder before the start, readable by the hub only. The job runs as the user, on a
compute node: ``move_certs`` writes the three files into a private folder of the user's
(``c.JobSpawner.internal_certs_dir``, mode 0700, files 0600) through the same runner as every
scheduler command, so as the user and, with the SSH transport, on the login node's file
system. The hub never reads that folder back. It is removed when the server stops.

The certificate names the hosts JupyterHub was told of when it was created: ``localhost``
and ``127.0.0.1`` plus ``c.Spawner.ssl_alt_names``. The compute node is not known before the
job starts, so a site lists its nodes there, e.g. ``["DNS:*.cluster.example.org"]`` (with
``host_map`` giving full names); the hub checks the server's certificate against it.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping
from pathlib import Path

from jobspawner.boundary import user_files
from jobspawner.contract.commands import Command
from jobspawner.contract.context import BackendContext

#: JupyterHub's names for the three files, and the names they get in the job's folder.
FILES = {"keyfile": "server.key", "certfile": "server.crt", "cafile": "ca.crt"}
_FOLDER_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}")


def job_folder(template: str, homedir: str, username: str, server_name: str) -> str:
    """The folder of one server's certificates (``{homedir}``, ``{username}``)."""
    base = template.format(homedir=homedir, username=username)
    name = server_name or "default"
    if not _FOLDER_NAME.fullmatch(name) or not posixpath.isabs(base) or "\n" in base:
        raise ValueError(
            f"c.JobSpawner.internal_certs_dir {template!r} must give an absolute path "
            f"(got {base!r} for server {name!r})"
        )
    return posixpath.join(base, name)


async def move_to_job(
    ctx: BackendContext, hub_paths: Mapping[str, str], folder: str
) -> dict[str, str]:
    """Copy the hub's files for this server into ``folder`` as the user; the new paths.

    A previous server's files are removed first; each file is then created new by
    :func:`jobspawner.boundary.user_files.create_command` (a folder that is a link or not the
    user's is refused, naming ``c.JobSpawner.internal_certs_dir``).
    """
    await remove_from_job(ctx, folder)
    moved: dict[str, str] = {}
    for key, name in FILES.items():
        content = Path(hub_paths[key]).read_text()
        path = posixpath.join(folder, name)
        result = await ctx.run(user_files.create_command(path, content), check=False)
        user_files.check(result, "c.JobSpawner.internal_certs_dir")
        moved[key] = path
    return moved


async def remove_from_job(ctx: BackendContext, folder: str) -> None:
    """Remove the server's certificate folder (as the user); a failure is the caller's."""
    await ctx.run(Command(["rm", "-rf", "--", folder]), check=False)
