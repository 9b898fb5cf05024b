"""The scheduler emulators' kernel (tests/harness/emulator_kernel.py): a spool several users
change concurrently without losing a write, jobs started as their owners, and an installed
copy that runs on the system Python without the checkout."""

from __future__ import annotations

import json
import os
import pwd
import secrets
import shutil
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from harness import emulator_kernel
from harness.strict import need, need_root
from harness.users import ensure_users
from harness.waiting import wait_for

pytestmark = pytest.mark.root

SYSTEM_PYTHON = "/usr/bin/python3"

#: One command of an emulator: add one to a counter in the spool's state, under the lock.
BUMP = """
import sys
sys.path.insert(0, sys.argv[1])
import emulator_kernel as kernel
for _ in range(int(sys.argv[3])):
    with kernel.locked_state(sys.argv[2]) as held:
        held.state["count"] = held.state.get("count", 0) + 1
        held.state.setdefault("by", []).append(kernel.user_name(kernel.os.getuid()))
"""


@pytest.fixture
def spool() -> Iterator[Path]:
    """A spool under /tmp with the kernel installed next to it, as the emulators' kits do."""
    need_root()
    ensure_users()
    need(os.access(SYSTEM_PYTHON, os.X_OK), f"the emulators run on {SYSTEM_PYTHON}")
    folder = Path(f"/tmp/emulator-kernel-{secrets.token_hex(4)}")
    folder.mkdir()
    kit = folder / "kit"
    kit.mkdir()
    emulator_kernel.install(str(kit))
    os.chmod(folder, 0o755)
    os.chmod(kit, 0o755)
    emulator_kernel.shared_folder(str(folder / "spool"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_concurrent_commands_of_several_users_lose_no_write(spool: Path) -> None:
    """Alice and bob (and root) change the state at once: every change is kept, and the
    files each created stay writable for the others."""
    procs = [
        subprocess.Popen(
            [
                *(["runuser", "-u", user, "--"] if user else []),
                SYSTEM_PYTHON,
                "-c",
                BUMP,
                str(spool / "kit"),
                str(spool / "spool"),
                "25",
            ],
            cwd="/tmp",
        )
        for user in ("alice", "bob", None, "alice", "bob")
    ]
    assert [p.wait(60) for p in procs] == [0] * 5
    state = json.loads((spool / "spool" / "state.json").read_text())
    assert state["count"] == 125
    assert sorted(set(state["by"])) == ["alice", "bob", "root"]
    for name in ("lock", "state.json"):
        assert stat.S_IMODE(os.stat(spool / "spool" / name).st_mode) == 0o666
    assert stat.S_IMODE(os.stat(spool / "spool").st_mode) == 0o1777


def test_a_failed_command_leaves_the_state_as_it_was(spool: Path) -> None:
    folder = str(spool / "spool")
    with emulator_kernel.locked_state(folder) as held:
        held.state["jobs"] = {"1": "queued"}
    with pytest.raises(RuntimeError), emulator_kernel.locked_state(folder) as held:
        held.state["jobs"]["1"] = "half-changed"
        raise RuntimeError("the command failed")
    with emulator_kernel.locked_state(folder) as held:
        assert held.state == {"jobs": {"1": "queued"}}


def test_a_job_is_started_as_its_owner_and_only_by_its_owner_or_root(spool: Path) -> None:
    alice = pwd.getpwnam("alice").pw_uid
    assert emulator_kernel.may_start(alice)  # root
    out = spool / "spool" / "whoami"
    pid = emulator_kernel.spawn_detached(
        ["/bin/sh", "-c", f"id -u > {out}.tmp; id -G >> {out}.tmp; mv {out}.tmp {out}"], alice
    )
    assert pid > 0
    assert wait_for(out.exists, timeout=10)
    uid, groups = out.read_text().splitlines()
    assert int(uid) == alice
    assert groups.split() == [
        str(g) for g in os.getgrouplist("alice", pwd.getpwnam("alice").pw_gid)
    ]
    check = "import sys; sys.path.insert(0, sys.argv[1]); import emulator_kernel as k; " \
        "print(k.may_start(0), k.may_start(int(sys.argv[2])))"  # fmt: skip
    as_bob = subprocess.run(
        ["runuser", "-u", "bob", "--", SYSTEM_PYTHON, "-c", check, str(spool / "kit"), str(alice)],
        capture_output=True, text=True, cwd="/tmp",
    )  # fmt: skip
    assert as_bob.stdout.split() == ["False", "False"], as_bob.stderr


#: A command of an emulator run from the installed kit: queue a job of alice and one of the
#: caller, then schedule; prints each job's state and reason.
SCHEDULE = """
import os, sys
sys.path.insert(0, sys.argv[1])
import emulator_queue as jq
q = jq.Queue({}, 0.0)
theirs = q.submit(int(sys.argv[2]), name="theirs", queue="q")
mine = q.submit(os.getuid(), name="mine", queue="q")
q.schedule({"h": 2}, lambda job: None)
print(theirs["state"], theirs["reason"], mine["state"], mine["user"])
"""


def test_the_installed_queue_starts_only_the_callers_jobs(spool: Path) -> None:
    """The kit carries the job queue; a user's command starts that user's jobs only."""
    alice = pwd.getpwnam("alice").pw_uid
    command = [SYSTEM_PYTHON, "-c", SCHEDULE, str(spool / "kit"), str(alice)]
    as_bob = subprocess.run(
        ["runuser", "-u", "bob", "--", *command], capture_output=True, text=True, cwd="/tmp"
    )
    assert as_bob.stdout.split() == ["queued", "owner", "running", "bob"], as_bob.stderr


def test_options_are_scanned_as_the_front_ends_name_them() -> None:
    scan = emulator_kernel.scan_options
    opts, operands = scan(["-json", "-o", "a b", "12", "-o", "c", "13"], ["-json"], ["-o"])
    assert (opts, operands) == ({"-json": True, "-o": "c"}, ["12", "13"])  # the last one wins
    opts, command = scan(
        ["-R", "x", "-q", "q", "-R", "y", "sleep", "-q", "-"], [], ["-q"], repeated=["-R"],
        until_operand=True,
    )  # fmt: skip
    assert (opts, command) == ({"-R": ["x", "y"], "-q": "q"}, ["sleep", "-q", "-"])
    assert scan(["-", "1"], [], []) == ({}, ["-", "1"])
    with pytest.raises(emulator_kernel.BadOption) as missing:
        scan(["-json", "-o"], ["-json"], ["-o"])
    with pytest.raises(emulator_kernel.BadOption) as unknown:
        scan(["-x", "1"], ["-json"], ["-o"])
    assert (missing.value.option, missing.value.missing) == ("-o", True)
    assert (unknown.value.option, unknown.value.missing) == ("-x", False)


def test_a_spool_folder_and_its_subfolders_are_shared(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EMU_TEST_SPOOL", str(tmp_path / "named"))
    path = emulator_kernel.spool_folder("EMU_TEST_SPOOL", str(tmp_path / "default"), "jobs")
    assert path == str(tmp_path / "named") and not (tmp_path / "default").exists()
    for folder in (Path(path), Path(path) / "jobs"):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o1777
    monkeypatch.delenv("EMU_TEST_SPOOL")
    assert emulator_kernel.spool_folder("EMU_TEST_SPOOL", str(tmp_path / "default")) == str(
        tmp_path / "default"
    )
