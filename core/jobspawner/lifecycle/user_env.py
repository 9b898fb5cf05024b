"""The user's own account variables for the job: HOME, USER, LOGNAME, SHELL.

Whatever runs the submit command (``sudo -E``, ``runuser``, a scheduler that copies the
submitter's environment), the job's server gets the account's values from the password
database, never the hub's (a root hub's ``HOME=/root`` would otherwise reach the job and the
server would fail to write its runtime files).
"""

from __future__ import annotations

import pwd


def account_environment(username: str) -> dict[str, str]:
    """``HOME``, ``USER``, ``LOGNAME`` and ``SHELL`` of ``username``; ``{}`` if unknown."""
    try:
        entry = pwd.getpwnam(username)
    except KeyError:
        return {}
    env = {"HOME": entry.pw_dir, "USER": entry.pw_name, "LOGNAME": entry.pw_name}
    if entry.pw_shell:
        env["SHELL"] = entry.pw_shell
    return env
