"""The server command must be jobspawner-singleuser (or wrap it).

``jupyterhub-singleuser`` and batchspawner's ``batchspawner-singleuser`` do not report their
port to jobspawner, so with either one the job starts a server nobody connects to and the
spawn fails after its time limit. A spawn with such a command fails at once instead, saying
what to write.
"""

from __future__ import annotations

import os
from typing import Any

#: Server programs that cannot report their port to jobspawner.
FOREIGN_SERVERS = ("jupyterhub-singleuser", "batchspawner-singleuser", "jupyter-labhub")


def foreign_server(cmd: Any) -> str | None:
    """The name of the foreign server program ``cmd`` starts, or None when it is fine."""
    parts = [cmd] if isinstance(cmd, str) else list(cmd or [])
    if not parts or not str(parts[0]).strip():
        return None
    program = os.path.basename(str(parts[0]).split()[0])
    return program if program in FOREIGN_SERVERS else None


def refusal(cmd: Any) -> str | None:
    """The admin's message for a server command that cannot work, or None."""
    program = foreign_server(cmd)
    if program is None:
        return None
    return (
        f"c.Spawner.cmd starts {program}, which does not report its port to jobspawner, so "
        "the hub could never connect to it. Set c.Spawner.cmd = ['jobspawner-singleuser'] "
        "(the default: remove the setting); it takes the same arguments."
    )
