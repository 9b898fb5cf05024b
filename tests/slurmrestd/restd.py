"""A real slurmrestd (Debian's 22.05, openapi v0.0.38, ``rest_auth/jwt``) for the tests.

Started on a free loopback port against the test Slurm of :mod:`slurm.cluster` (whose
slurm.conf turns on ``AuthAltTypes=auth/jwt`` when the plugin is installed), as user
``slurm``: slurmrestd refuses to run as root. ``SLURM_JWT=daemon`` in its environment makes
it authenticate each request with the client's token (without it every request fails with
"Rejecting thread config token"). Stopped by its PID.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from slurm.cluster import login_env

SLURMRESTD = "/usr/sbin/slurmrestd"
RUN_AS = "slurm"


def missing() -> str | None:
    """Why slurmrestd cannot run here (None when it can)."""
    if not os.path.exists(SLURMRESTD):
        return "slurmrestd is not installed (run .ci/install-rest.sh)"
    if shutil.which("setpriv") is None:
        return "setpriv (util-linux) is missing"
    try:
        import pwd

        pwd.getpwnam(RUN_AS)
    except KeyError:
        return f"user {RUN_AS!r} does not exist (slurm-wlm creates it)"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def token(user: str, lifespan: int = 600) -> str:
    out = subprocess.run(
        ["scontrol", "token", f"username={user}", f"lifespan={lifespan}"],
        capture_output=True,
        text=True,
        timeout=15,
        check=True,
    ).stdout
    return out.strip().split("=", 1)[1]


@dataclass
class Restd:
    """A running slurmrestd: its URL, PID and log."""

    port: int
    log: Path
    pid: int | None = None
    #: The openapi plugins it loads (``-s``); the first one answers ``get`` (the readiness ping).
    plugins: tuple[str, ...] = ("v0.0.38",)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def get(self, path: str, user: str = "root") -> dict:
        req = urllib.request.Request(
            f"{self.url}/slurm/{self.plugins[0]}{path}",
            headers={"X-SLURM-USER-NAME": user, "X-SLURM-USER-TOKEN": token(user)},
        )
        with urllib.request.urlopen(req, timeout=10) as f:
            return json.load(f)

    def start(self, timeout: float = 20.0) -> None:
        out = open(self.log, "ab")  # noqa: SIM115 - the daemon keeps it
        proc = subprocess.Popen(
            [
                "setpriv",
                f"--reuid={RUN_AS}",
                f"--regid={RUN_AS}",
                "--init-groups",
                SLURMRESTD,
                "-a",
                "rest_auth/jwt",
                "-s",
                ",".join(f"openapi/{p}" for p in self.plugins),
                f"127.0.0.1:{self.port}",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "SLURM_JWT": "daemon", **login_env()},
            start_new_session=True,
        )
        out.close()
        self.pid = proc.pid
        self._proc = proc
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"slurmrestd exited: {self.log.read_text()[-2000:]}")
            try:
                if self.get("/ping")["pings"][0]["ping"] == "UP":
                    return
            except (OSError, urllib.error.URLError, KeyError, ValueError):
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(
            f"slurmrestd did not answer on {self.url}: {self.log.read_text()[-2000:]}"
        )

    def stop(self) -> None:
        if self.pid is None:
            return
        try:
            os.kill(self.pid, signal.SIGTERM)
            self._proc.wait(timeout=10)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.kill(self.pid, signal.SIGKILL)
            self._proc.wait(timeout=5)
        self.pid = None
