"""Fixtures for the PBS-family tests: recorded outputs and the CLI emulator."""

from __future__ import annotations

import contextlib
import fcntl
import importlib.util
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).parent
FIXTURES = HERE / "fixtures"
EMULATOR = HERE / "emulator"


def fixture_text(name: str) -> str:
    return (FIXTURES / name).read_text()


def _load_pbsemu():
    """The emulator's implementation as a module (for its view of the kernel's records)."""
    spec = importlib.util.spec_from_file_location("pbsemu", EMULATOR / "pbsemu.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


pbsemu = _load_pbsemu()


class Emulator:
    """One emulated PBS server: a spool folder in /tmp and the flavour's bin folder."""

    def __init__(self, flavour: str, spool: Path, config: dict) -> None:
        self.flavour = flavour
        self.spool = spool
        self.bin = EMULATOR / f"bin-{flavour}"
        self.config = config
        self.write_config()

    def write_config(self, **changes: object) -> None:
        self.config.update(changes)
        path = self.spool / "config.json"
        path.write_text(json.dumps(self.config))
        path.chmod(0o644)

    @property
    def env(self) -> dict[str, str]:
        return {"PBSEMU_SPOOL": str(self.spool)}

    def options(self) -> dict[str, str]:
        """Backend options pointing every command at this emulator."""
        names = [
            "qsub",
            "qstat",
            "qdel",
            "pbsnodes",
            "tracejob",
            "msub",
            "showq",
            "mjobctl",
            "mdiag",
        ]
        return {n: str(self.bin / n) for n in names if (self.bin / n).exists()}

    def run(
        self, prog: str, *args: str, user: str | None = None, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        prefix = ["runuser", "-u", user, "--"] if user else []
        return subprocess.run(
            [*prefix, str(self.bin / prog), *args],
            input=stdin,
            capture_output=True,
            text=True,
            env={**os.environ, **self.env},
            cwd="/tmp",
            timeout=30,
        )

    def state(self) -> dict:
        """The queue, read under the emulator's own lock (it rewrites the file in place), its
        jobs in the server's words (``state`` letters, ``owner`` ...)."""
        with open(self.spool / "lock") as lock:
            fcntl.flock(lock, fcntl.LOCK_SH)
            state = json.loads((self.spool / "state.json").read_text())
        jobs = state.get("jobs", {})
        state["jobs"] = {seq: pbsemu.view(self, job) for seq, job in jobs.items()}
        return state

    def wait(self, predicate, timeout: float = 20.0, poll: str = "qstat") -> None:
        """Call ``qstat`` (which schedules) until ``predicate(state)`` holds."""
        deadline = time.monotonic() + timeout
        while True:
            self.run(poll if (self.bin / poll).exists() else "showq")
            if predicate(self.state()):
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"emulator state did not settle: {self.state()}")
            time.sleep(0.2)

    def kill_all(self) -> None:
        try:
            jobs = self.state()["jobs"].values()
        except (OSError, ValueError):
            return
        for job in jobs:
            if job.get("pgid"):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(job["pgid"], signal.SIGKILL)


@pytest.fixture
def make_emulator() -> Iterator:
    made: list[Emulator] = []

    def make(flavour: str, **config: object) -> Emulator:
        spool = Path(tempfile.mkdtemp(prefix=f"pbsemu-{flavour}-", dir="/tmp"))
        spool.chmod(0o777)
        cfg = {"server": "vm", "nodes": {"vm": 2}, "keep_completed": 0}
        cfg.update(config)
        emu = Emulator(flavour, spool, cfg)
        made.append(emu)
        return emu

    yield make
    for emu in made:
        emu.kill_all()
        shutil.rmtree(emu.spool, ignore_errors=True)


def ensure_users() -> bool:
    """Create alice and bob when missing (needs root); True when they exist."""
    ok = True
    for name in ("alice", "bob"):
        if subprocess.run(["id", name], capture_output=True).returncode != 0:
            if os.geteuid() != 0:
                ok = False
                continue
            subprocess.run(["useradd", "-m", name], check=False, capture_output=True)
    return ok
