"""One hub account on the login node that runs each command as the user with ``sudo``.

:data:`SERVICE` is the account the hub logs in as (one key); :func:`sudoers_rule` is the
drop-in that lets it run exactly the commands the local backend and the core need, as alice
and bob only, without a password (``sudo -n``). The sh scripts, paths and numbers are
matched with sudo's regular expressions (sudo >= 1.9.10: arguments between ``^`` and ``$``),
not with ``*``: sudo joins the arguments with spaces before matching, so a ``*`` after a
fixed script would also match one argument holding that script followed by ``; any
command``. Paths are absolute and limited to ``[A-Za-z0-9._/-]`` (no space, no shell
character). docs/remote.md shows the same rule for a site.
"""

from __future__ import annotations

import os
import secrets
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from jobspawner.boundary import user_files
from jobspawner.boundary.bounded_text import MAX_BYTES
from remote.sshd import unlock_for_keys

#: The hub's account on the test login node.
SERVICE = "jshubsvc"
SUDOERS_D = Path("/etc/sudoers.d")

_PATH = r"/[A-Za-z0-9._/-]+"


def sudo_available() -> bool:
    return os.path.exists("/usr/bin/sudo") and os.path.exists("/usr/sbin/visudo")


def ensure_service_account() -> None:
    """The hub's account: a system user with a shell and no password (keys only)."""
    if subprocess.run(["id", SERVICE], capture_output=True).returncode != 0:
        subprocess.run(
            ["useradd", "--system", "--create-home", "--home-dir", f"/var/lib/{SERVICE}",
             "--shell", "/bin/sh", SERVICE],
            check=True,
        )  # fmt: skip
    unlock_for_keys(SERVICE)


def sudoers_rule(python: str, users: Sequence[str] = ("alice", "bob")) -> str:
    """The drop-in: ``SERVICE`` may run these commands as ``users``, nothing else."""
    q = '"\\$1"'  # "$1" in a sudoers regular expression
    log_tail = f"\\[ -f {q} \\] && exec tail -c {MAX_BYTES} -- {q}"
    commands = [
        f"{python} -I -m jobspawner.jobside.local_jobs *",
        # every file created as the user (jobspawner.boundary.user_files)
        user_files.sudoers_command(),
        f"/usr/bin/sh ^-c {log_tail} sh {_PATH}$",
        f"/usr/bin/rm ^-f -- {_PATH}$",
    ]
    alias = ", \\\n    ".join(commands)
    return (
        f"# jobspawner tests: the hub's account runs exactly these commands as {', '.join(users)}\n"
        f"Defaults:{SERVICE} !use_pty, !lecture, env_reset\n"
        f"Cmnd_Alias JOBSPAWNER_TEST = {alias}\n"
        f"{SERVICE} ALL=({','.join(users)}) NOPASSWD: JOBSPAWNER_TEST\n"
    )


@contextmanager
def installed_sudoers(text: str) -> Iterator[Path]:
    """``text`` as a drop-in in /etc/sudoers.d (checked by visudo first), removed after."""
    path = SUDOERS_D / f"jobspawner-tests-{secrets.token_hex(4)}"
    draft = SUDOERS_D / f".{path.name}.draft"  # names with a dot are not read by sudo
    draft.write_text(text)
    try:
        check = subprocess.run(["visudo", "-cf", str(draft)], capture_output=True, text=True)
        if check.returncode != 0:
            raise RuntimeError(f"visudo refused the test rule: {check.stdout}{check.stderr}")
        draft.chmod(0o440)
        draft.rename(path)
        yield path
    finally:
        draft.unlink(missing_ok=True)
        path.unlink(missing_ok=True)
