"""Job control for the embedded ``local`` backend: a tiny scheduler CLI, standard library only.

Runs as the job's user (through the spawner's ``exec_prefix``)::

    python -m jobspawner.local_jobs submit --output FILE [--name NAME] < script
    python -m jobspawner.local_jobs status ID [ID ...]
    python -m jobspawner.local_jobs cancel ID [ID ...]

``submit`` starts the script under ``/bin/bash`` as a detached process group (its own
session) supervised by a small process that records the exit status, and prints the job id
``<pid>-<start time>``. The start time (from ``/proc``) makes the id safe against pid reuse,
so it stays valid across hub restarts. ``status`` prints one line per known job:
``ID STATE EXIT_CODE HOST`` with STATE one of running, suspended, done, failed, cancelled;
ids it does not know are left out, like a real scheduler. ``cancel`` signals the group
(SIGTERM, then SIGKILL after a grace period).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SPOOL_ENV = "JOBSPAWNER_LOCAL_SPOOL"
GRACE_SECONDS = 5.0


def spool_root() -> Path:
    return Path(
        os.environ.get(SPOOL_ENV) or os.path.join(tempfile.gettempdir(), "jobspawner-local")
    )


def _ensure_root(root: Path) -> None:
    if not root.exists():
        try:
            root.mkdir(parents=True)
            os.chmod(root, 0o1777)
        except FileExistsError:
            pass


def _start_time(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # the command name may contain spaces and parentheses: split after the last ')'
    fields = stat[stat.rfind(")") + 2 :].split()
    return fields[19]


def _proc_state(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat[stat.rfind(")") + 2 :].split()[0]


def _valid_id(job_id: str) -> tuple[int, str] | None:
    pid, _, start = job_id.partition("-")
    if not (pid.isdigit() and start.isdigit()):
        return None
    return int(pid), start


def cmd_submit(args: argparse.Namespace) -> int:
    script = sys.stdin.read()
    root = spool_root()
    _ensure_root(root)
    tmp = Path(tempfile.mkdtemp(prefix=".new-", dir=root))
    (tmp / "script").write_text(script)
    out = open(args.output, "ab", buffering=0)  # noqa: SIM115 - handed to the child
    proc = subprocess.Popen(
        [sys.executable, "-m", "jobspawner.local_jobs", "_supervise", str(tmp)],
        stdin=subprocess.DEVNULL,
        stdout=out,
        stderr=out,
        cwd=args.workdir or None,
        start_new_session=True,
        close_fds=True,
    )
    out.close()
    start = None
    for _ in range(100):
        start = _start_time(proc.pid)
        if start:
            break
        time.sleep(0.01)
    job_id = f"{proc.pid}-{start}"
    final = root / job_id
    (tmp / "name").write_text(args.name or "")
    os.rename(tmp, final)
    (final / "ready").touch()  # the supervisor waits for this before running the script
    print(job_id)
    return 0


def cmd_supervise(args: argparse.Namespace) -> int:
    tmp = Path(args.spool)
    me = f"{os.getpid()}-{_start_time(os.getpid())}"
    final = tmp.parent / me
    for _ in range(1000):
        if (final / "ready").exists():
            break
        time.sleep(0.01)
    else:
        return 1
    # SIGTERM reaches the whole group; the supervisor survives it to record the outcome.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    child = subprocess.Popen(
        ["/bin/bash", str(final / "script")],
        stdin=subprocess.DEVNULL,
        preexec_fn=lambda: signal.signal(signal.SIGTERM, signal.SIG_DFL),
    )
    code = child.wait()
    (final / "exit").write_text(str(code if code >= 0 else 128 - code))
    return 0


def status_line(job_id: str) -> str | None:
    parsed = _valid_id(job_id)
    spool = spool_root() / job_id
    if parsed is None or not spool.is_dir():
        return None
    pid, start = parsed
    host = os.uname().nodename
    if _start_time(pid) == start and not (spool / "exit").exists():
        state = _proc_state(pid)
        if state == "T":
            return f"{job_id} suspended - {host}"
        if state != "Z":
            return f"{job_id} running - {host}"
    if _group_alive(pid):
        # the job's script ended but processes it started live on (like Slurm's COMPLETING):
        # the job is not over until its whole process group is gone
        return f"{job_id} running - {host}"
    try:
        code = int((spool / "exit").read_text().strip())
    except (OSError, ValueError):
        return f"{job_id} failed - {host}"  # the supervisor was killed: no exit status
    if (spool / "cancelled").exists():
        return f"{job_id} cancelled {code} {host}"
    return f"{job_id} {'done' if code == 0 else 'failed'} {code} {host}"


def cmd_status(args: argparse.Namespace) -> int:
    for job_id in args.ids:
        line = status_line(job_id)
        if line:
            print(line)
    return 0


def cmd_cancel(args: argparse.Namespace) -> int:
    rc = 0
    alive: list[int] = []
    for job_id in args.ids:
        parsed = _valid_id(job_id)
        spool = spool_root() / job_id
        if parsed is None or not spool.is_dir():
            print(f"local_jobs: unknown job {job_id}", file=sys.stderr)
            rc = 1
            continue
        pid, start = parsed
        if _start_time(pid) != start:
            continue  # already ended
        try:
            (spool / "cancelled").touch()
            os.killpg(pid, signal.SIGTERM)
            os.killpg(pid, signal.SIGCONT)  # a stopped job must wake up to die
            alive.append(pid)
        except ProcessLookupError:
            pass
        except PermissionError as e:
            print(f"local_jobs: cannot cancel {job_id}: {e}", file=sys.stderr)
            rc = 1
    deadline = time.monotonic() + GRACE_SECONDS
    while alive and time.monotonic() < deadline:
        alive = [p for p in alive if _group_alive(p)]
        time.sleep(0.05)
    for pid in alive:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
    return rc


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # only zombies left?
    return any(
        _proc_state(int(p)) not in (None, "Z") and _pgid(int(p)) == pgid
        for p in os.listdir("/proc")
        if p.isdigit()
    )


def _pgid(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat[stat.rfind(")") + 2 :].split()[2])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jobspawner.local_jobs")
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("submit")
    p.add_argument("--output", required=True)
    p.add_argument("--name", default="")
    p.add_argument("--workdir", default="")
    p.set_defaults(func=cmd_submit)
    p = sub.add_parser("status")
    p.add_argument("ids", nargs="+")
    p.set_defaults(func=cmd_status)
    p = sub.add_parser("cancel")
    p.add_argument("ids", nargs="+")
    p.set_defaults(func=cmd_cancel)
    p = sub.add_parser("_supervise")
    p.add_argument("spool")
    p.set_defaults(func=cmd_supervise)
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
