"""Helpers of the HTCondor tests: a fresh emulated pool per test, and job specs."""

from __future__ import annotations

import fcntl
import functools
import importlib.util
import json
import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from harness import emulator_kernel
from harness.strict import need, need_root
from harness.users import ensure_users
from harness.waiting import wait_for as harness_wait_for

HERE = Path(__file__).parent
EMULATOR = HERE / "emulator"
BIN = EMULATOR / "bin"
TOOLS = (
    "condor_submit",
    "condor_q",
    "condor_history",
    "condor_rm",
    "condor_hold",
    "condor_release",
    "condor_status",
)
FIXTURES = HERE / "fixtures"
SYSTEM_PYTHON = "/usr/bin/python3"


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text()


@dataclass
class Pool:
    """One emulated HTCondor pool: its spool, a shared job folder and the tools' env."""

    spool: Path
    jobs: Path
    bin: Path = BIN

    @property
    def env(self) -> dict[str, str]:
        return {
            "PATH": f"{self.bin}:{os.environ.get('PATH', '/usr/bin:/bin')}",
            "CONDOR_EMU_SPOOL": str(self.spool),
        }

    def machine(self, **cfg: Any) -> None:
        (self.spool / "machine.json").write_text(json.dumps(cfg))
        os.chmod(self.spool / "machine.json", 0o644)

    def run(
        self, tool: str, *args: str, user: str | None = None, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        prefix = ["runuser", "-u", user, "--"] if user else []
        return subprocess.run(
            [*prefix, str(self.bin / tool), *args],
            input=stdin,
            capture_output=True,
            text=True,
            env={**os.environ, **self.env},
            timeout=30,
        )

    def state(self) -> dict[str, Any]:
        """The queue (``jobs`` by id) and the ``history``, as the emulator's ClassAds, read
        under its own lock (it rewrites the file in place) without changing anything."""
        path = self.spool / "state.json"
        if not path.exists():
            return {"jobs": {}, "history": []}
        with open(self.spool / "state.lock") as lock:
            fcntl.flock(lock, fcntl.LOCK_SH)
            text = path.read_text()
        snapshot: dict[str, Any] = emulator_module().snapshot(json.loads(text or "{}"))
        return snapshot

    def job(self, job_id: str) -> dict[str, Any] | None:
        return self.state().get("jobs", {}).get(job_id)

    def history(self, job_id: str) -> dict[str, Any] | None:
        for ad in self.state().get("history", []):
            if f"{ad['ClusterId']}.{ad['ProcId']}" == job_id:
                return dict(ad)
        return None

    def script(self, name: str, body: str, owner: str = "alice") -> str:
        path = self.jobs / name
        path.write_text("#!/bin/bash\n" + body)
        os.chmod(path, 0o755)
        shutil.chown(path, owner, owner)
        return str(path)

    def description(self, executable: str, *lines: str, queue: str = "queue") -> str:
        return "\n".join(
            [
                "universe = vanilla",
                f"executable = {executable}",
                f"initialdir = {self.jobs}",
                f"output = {self.jobs}/out.$(Cluster).txt",
                f"error = {self.jobs}/out.$(Cluster).txt",
                *lines,
                queue,
                "",
            ]
        )

    def submit(self, description: str, user: str = "alice") -> str:
        r = self.run("condor_submit", "-terse", "-", user=user, stdin=description)
        assert r.returncode == 0, r.stderr
        return r.stdout.split()[0]

    def clean(self) -> None:
        """Remove every job and wait until their shadows (and so the jobs) are gone."""
        pids = [ad.get("ShadowPid") for ad in self.state().get("jobs", {}).values()]
        self.run("condor_rm", "-all")
        wait_for(lambda: not self.state().get("jobs"), timeout=15)
        wait_for(lambda: not any(alive(p) for p in pids if isinstance(p, int)), timeout=15)


@functools.cache
def emulator_module() -> ModuleType:
    """The emulator's program, loaded as a module (its format writers, its ClassAd view)."""
    for folder in (str(EMULATOR), str(EMULATOR.parent.parent / "harness")):
        if folder not in sys.path:
            sys.path.insert(0, folder)
    spec = importlib.util.spec_from_file_location("condor_emu", EMULATOR / "condor_emu.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def wait_for(predicate: Callable[[], Any], timeout: float = 10, interval: float = 0.1) -> Any:
    """Like harness.waiting.wait_for, but a condition not met is an AssertionError."""
    value = harness_wait_for(predicate, timeout, interval)
    if not value:
        raise AssertionError(f"condition not met within {timeout}s")
    return value


def new_pool() -> Pool:
    """A fresh emulated pool (4 CPUs, 8 GiB) with its own spool and job folder in /tmp."""
    need_root()
    ensure_users()
    need(os.access(SYSTEM_PYTHON, os.X_OK), f"the emulator runs on {SYSTEM_PYTHON}")
    tag = secrets.token_hex(4)
    spool = Path(f"/tmp/condor-emu-test-{tag}")
    jobs = Path(f"/tmp/condor-jobs-test-{tag}")
    for folder in (spool, jobs):
        folder.mkdir(mode=0o1777)
        os.chmod(folder, 0o1777)
    return Pool(spool, jobs, install_emulator(Path(f"/tmp/condor-emu-bin-{tag}")))


def install_emulator(folder: Path) -> Path:
    """Copy the emulator where every user can run it (the checkout may be private, e.g.
    under /root); returns the folder of its commands."""
    bin_dir = folder / "bin"
    bin_dir.mkdir(parents=True)
    for name in ("condor_emu.py", "condor_classad.py"):
        shutil.copyfile(EMULATOR / name, folder / name)
        os.chmod(folder / name, 0o755 if name == "condor_emu.py" else 0o644)
    emulator_kernel.install(str(folder))
    for tool in TOOLS:
        (bin_dir / tool).symlink_to("../condor_emu.py")
    for path in (folder, bin_dir):
        os.chmod(path, 0o755)
    return bin_dir


def drop_pool(p: Pool) -> None:
    """Remove every job (their shadows kill the processes), then the folders."""
    try:
        p.clean()
    finally:
        shutil.rmtree(p.spool, ignore_errors=True)
        shutil.rmtree(p.jobs, ignore_errors=True)
        if p.bin != BIN:
            shutil.rmtree(p.bin.parent, ignore_errors=True)


@pytest.fixture
def pool(monkeypatch: pytest.MonkeyPatch) -> Iterator[Pool]:
    """A fresh emulated pool; its tools on PATH of this process too."""
    p = new_pool()
    for key, value in p.env.items():
        monkeypatch.setenv(key, value)
    try:
        yield p
    finally:
        drop_pool(p)
