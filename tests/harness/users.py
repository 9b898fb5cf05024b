"""Test users that jobs run as (created when missing; needs root)."""

from __future__ import annotations

import os
import pwd
import subprocess

TEST_USERS = ("alice", "bob")


def ensure_users(names: tuple[str, ...] = TEST_USERS) -> None:
    for name in names:
        try:
            pwd.getpwnam(name)
            continue
        except KeyError:
            pass
        if os.geteuid() != 0:
            raise RuntimeError(f"test user {name} is missing and only root can create it")
        subprocess.run(["useradd", "-m", "-s", "/bin/bash", name], check=True)


def home(name: str) -> str:
    return pwd.getpwnam(name).pw_dir
