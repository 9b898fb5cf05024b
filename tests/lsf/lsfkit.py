"""Helpers for the LSF backend tests: the emulator, its spool, job specs (see conftest.py)."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from harness import emulator_kernel
from harness.strict import need, need_root
from harness.users import ensure_users
from jobspawner import JobSpec

HERE = Path(__file__).resolve().parent
EMULATOR = HERE / "emulator" / "lsf_emulator.py"
BIN = HERE / "emulator" / "bin"
FIXTURES = HERE / "fixtures"
SYSTEM_PYTHON = "/usr/bin/python3"


def fixture_text(name: str) -> str:
    return (FIXTURES / name).read_text()


def load_emulator() -> ModuleType:
    """The emulator's implementation as a module (for its formatters)."""
    spec = importlib.util.spec_from_file_location("lsf_emulator", EMULATOR)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass
class Emulator:
    """One emulated LSF cluster with its own spool folder."""

    spool: str
    config: dict[str, Any] = field(default_factory=dict)

    @property
    def bin(self) -> str:
        return os.path.join(self.spool, "bin")

    @property
    def env(self) -> dict[str, str]:
        return {"PATH": f"{self.bin}:{os.environ['PATH']}", "LSF_EMU_SPOOL": self.spool}

    def install(self) -> None:
        """Copy the emulator into the spool, so test users can run it even when the
        checkout is not readable by them (e.g. under /root)."""
        os.makedirs(self.bin, mode=0o755, exist_ok=True)
        target = os.path.join(self.bin, "lsf_emulator.py")
        shutil.copyfile(EMULATOR, target)
        os.chmod(target, 0o755)
        emulator_kernel.install(self.bin)
        for link in os.listdir(BIN):
            os.symlink("lsf_emulator.py", os.path.join(self.bin, link))

    def configure(self, **settings: Any) -> None:
        self.config.update(settings)
        load_emulator().write_config(self.spool, **self.config)

    def run(
        self, user: str | None, *argv: str, stdin: str | None = None, env: dict | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run an emulator command, as ``user`` through runuser (or as root)."""
        prefix = ["runuser", "-u", user, "--"] if user else []
        return subprocess.run(
            [*prefix, *argv],
            input=stdin,
            capture_output=True,
            text=True,
            env={**os.environ, **self.env, **(env or {})},
            timeout=30,
            cwd="/tmp",
        )

    def outdir(self) -> str:
        path = os.path.join(self.spool, "out")
        os.makedirs(path, exist_ok=True)
        os.chmod(path, 0o1777)
        return path

    def wait_for(self, job_id: str, states: tuple[str, ...], timeout: float = 20) -> str:
        """Poll bjobs (as root) until the job's STAT is one of ``states``."""
        deadline = time.monotonic() + timeout
        stat = ""
        while time.monotonic() < deadline:
            out = self.run(None, "bjobs", "-noheader", "-o", "stat", job_id).stdout.split()
            stat = out[-1] if out else ""
            if stat in states:
                return stat
            time.sleep(0.1)
        raise AssertionError(f"job {job_id} stayed {stat!r}, expected one of {states}")


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    """A fresh emulated cluster (root needed: jobs run as alice/bob through runuser)."""
    need_root()
    need(os.path.exists(SYSTEM_PYTHON), f"the emulator runs on {SYSTEM_PYTHON}")
    need(shutil.which("runuser"), "runuser (util-linux) is needed to run jobs as test users")
    ensure_users(("alice", "bob"))
    spool = tempfile.mkdtemp(prefix="lsf-emu-", dir="/tmp")
    os.chmod(spool, 0o1777)
    emu = Emulator(spool)
    emu.install()
    emu.configure(terminate_grace=1)
    try:
        yield emu
    finally:
        emu.run(None, "bkill", "0")  # root: every job still there
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            out = emu.run(None, "bjobs", "-u", "all", "-noheader", "-o", "stat").stdout
            if not any(s in out for s in ("RUN", "PEND", "SUSP")):
                break
            time.sleep(0.2)
        shutil.rmtree(spool, ignore_errors=True)


def make_spec(
    output_file: str = "/tmp/lsf-test.log",
    command: tuple[str, ...] = ("sleep", "60"),
    options: dict[str, Any] | None = None,
    **variables: Any,
) -> JobSpec:
    """A JobSpec built like the spawner's (JobSpec.create), every resource unset unless given."""
    return JobSpec.create(
        username="alice",
        job_name=variables.get("job_name", "jupyter-alice"),
        output_file=output_file,
        workdir=variables.get("workdir", "/tmp"),
        command=variables.get("command", command),
        env=variables.get("env", {"JUPYTERHUB_API_TOKEN": "secret-token", "LANG": "C.UTF-8"}),
        options=options,
        variables=variables,
    )
