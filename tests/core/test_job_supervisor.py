"""The job supervisor the ``local`` backend and the scheduler emulators share: exit statuses,
run-time limits, cancels with a grace period, leftovers of the job's process group."""

from __future__ import annotations

import ast
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from harness.waiting import wait_for
from jobspawner.jobside import job_supervisor
from jobspawner.jobside.job_supervisor import CANCEL, LIMIT, Outcome, Supervisor

ROOT = Path(__file__).resolve().parents[2]


def start(script: str, own_group: bool = True) -> subprocess.Popen[bytes]:
    return subprocess.Popen(["/bin/bash", "-c", script], start_new_session=own_group)


def test_an_exit_status_is_kept_and_a_signal_death_follows_the_shell_convention() -> None:
    assert Outcome(3).exit_code == 3 and Outcome(3).signal is None
    assert Outcome(-9).exit_code == 137 and Outcome(-9).signal == 9
    proc = start("exit 7")  # kept: a dropped Popen may reap its child behind our back
    outcome = Supervisor(proc.pid).wait()
    assert (outcome.returncode, outcome.stopped) == (7, "")


def test_a_job_over_its_limit_gets_the_limit_signals_after_on_limit() -> None:
    seen: list[float] = []
    proc = start("sleep 30")
    outcome = Supervisor(
        proc.pid, limit=0.3, limit_signals=(signal.SIGUSR2,), on_limit=seen.append
    ).wait()
    assert outcome.stopped == LIMIT
    assert outcome.returncode == -signal.SIGUSR2
    assert len(seen) == 1 and seen[0] >= 0.3


def test_a_job_ignoring_the_signals_is_killed_after_the_grace_period() -> None:
    proc = start("trap '' TERM; sleep 30")
    began = time.monotonic()
    outcome = Supervisor(proc.pid, limit=0.2, grace=0.3).wait()
    assert outcome.returncode == -signal.SIGKILL and outcome.stopped == LIMIT
    assert time.monotonic() - began >= 0.5


def test_a_cancel_from_another_thread_stops_the_job_with_the_cancel_signals() -> None:
    proc = start("sleep 30")
    sup = Supervisor(proc.pid, cancel_signals=(signal.SIGINT, signal.SIGTERM))
    threading.Timer(0.2, sup.cancel).start()
    outcome = sup.wait()
    assert outcome.stopped == CANCEL
    assert outcome.returncode == -signal.SIGINT  # the first signal ends sleep


def test_what_a_job_leaves_in_its_own_group_ends_with_it() -> None:
    proc = start("sleep 30 & exit 0")
    outcome = Supervisor(proc.pid).wait()
    assert outcome.returncode == 0
    assert wait_for(lambda: not job_supervisor.group_alive(proc.pid), timeout=5)


def test_a_job_sharing_its_supervisors_group_leaves_its_leftovers_alone(tmp_path: Path) -> None:
    """The local backend's model: the group outlives the script (like Slurm's COMPLETING)."""
    pid_file = tmp_path / "pid"
    program = (
        "import subprocess; from jobspawner.jobside.job_supervisor import Supervisor; "
        "c = subprocess.Popen(['/bin/bash', '-c', "
        f"'sleep 30 >/dev/null 2>&1 & echo $! > {pid_file}']); "
        "print(Supervisor(c.pid, own_group=False).wait().returncode)"
    )
    supervisor = subprocess.run(
        [sys.executable, "-c", program], start_new_session=True, capture_output=True, text=True
    )
    assert supervisor.stdout == "0\n", supervisor.stderr
    left = int(pid_file.read_text())
    group = job_supervisor.group_of(left)
    assert group is not None and group != left
    try:
        assert job_supervisor.process_alive(left)
        assert job_supervisor.group_alive(group)
    finally:
        job_supervisor.terminate_groups([group], grace=2)
    assert wait_for(lambda: not job_supervisor.process_alive(left), timeout=5)


def test_terminate_groups_wakes_a_stopped_group_and_kills_a_stubborn_one() -> None:
    stopped = start("sleep 30")
    stubborn = start("trap '' TERM; while true; do sleep 0.05; done")
    time.sleep(0.2)
    os.killpg(stopped.pid, signal.SIGSTOP)
    job_supervisor.terminate_groups([stopped.pid, stubborn.pid], grace=0.5)
    assert stopped.wait(5) == -signal.SIGTERM
    assert stubborn.wait(5) == -signal.SIGKILL


def test_become_is_nothing_for_oneself() -> None:
    assert job_supervisor.become(os.getuid()) is None


#: The kernel's own modules, which it installs next to each other.
KERNEL_MODULES = {"emulator_kernel", "emulator_queue"}


@pytest.mark.parametrize(
    "path",
    [
        "core/jobspawner/jobside/job_supervisor.py",
        "tests/harness/emulator_kernel.py",
        "tests/harness/emulator_queue.py",
    ],
)
def test_the_shared_kernel_is_standard_library_only(path: str) -> None:
    """The emulators run it on the system Python, as any user, without jobspawner."""
    tree = ast.parse((ROOT / path).read_text())
    modules = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    } | {
        (node.module or "").split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and not node.level
    }
    outside = modules - KERNEL_MODULES - set(sys.stdlib_module_names)
    assert not outside, outside


def test_poll_says_nothing_while_the_job_runs_and_the_outcome_once_it_ended() -> None:
    proc = start("sleep 0.3; exit 4")
    sup = Supervisor(proc.pid)
    assert sup.poll() is None
    outcome = wait_for(sup.poll, timeout=5)
    assert outcome is not None and outcome.returncode == 4
