"""Job control for the embedded ``local`` backend: a tiny scheduler CLI, standard library only.

Runs as the job's user (through the spawner's ``exec_prefix``), always isolated
(``python -I``, so nothing in the working folder, ``PYTHON*`` variables or the user's site
folder is imported)::

    python -I -m jobspawner.jobside.local_jobs submit --output FILE [--name NAME] < script
    python -I -m jobspawner.jobside.local_jobs status ID [ID ...]
    python -I -m jobspawner.jobside.local_jobs cancel ID [ID ...]

``submit`` starts the script under ``/bin/bash`` as a detached process group (its own
session) supervised by a small process that records the exit status, and prints the job id
``<pid>-<start time>``. The start time (from ``/proc``) makes the id safe against pid reuse,
so it stays valid across hub restarts. ``status`` prints one line per known job:
``ID STATE EXIT_CODE HOST`` with STATE one of running, suspended, done, failed, cancelled;
ids it does not know are left out, like a real scheduler. ``cancel`` signals the group
(SIGTERM, then SIGKILL after a grace period).

Job records live in the user's own spool folder (see :func:`spool_path`): owned by the user,
mode 0700, checked before every use and refused when anything else could have put files
there. The supervisor never looks its script up by name: ``submit`` hands it the script as
an open file descriptor and the job folder as a directory descriptor, and says "go" over a
pipe once the job id is recorded. Records are read and written relative to those
descriptors, never through symbolic links.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import secrets
import select
import signal
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from jobspawner.jobside.job_supervisor import (
    Supervisor,
    group_alive,
    proc_state,
    start_time,
    terminate_groups,
    user_name,
)

SPOOL_ENV = "JOBSPAWNER_LOCAL_SPOOL"
GRACE_SECONDS = 5.0
#: How long the supervisor waits for ``submit`` to record the job before giving up.
READY_TIMEOUT = 30.0

_JOB_ID = re.compile(r"\A([0-9]+)-([0-9]+)\Z")
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class SpoolError(Exception):
    """The spool folder cannot be used safely; the message says why and how to fix it.

    ``foreign``: someone else controls the path (it is theirs, or a link, or a folder on
    the way is), as opposed to a folder of the user's own that is open to others.
    """

    def __init__(self, message: str, foreign: bool = False) -> None:
        super().__init__(message)
        self.foreign = foreign


def _owner(uid: int) -> str:
    return f"{user_name(uid)} (uid {uid})"


def spool_path() -> Path:
    """This user's private spool folder.

    Default: ``$TMPDIR/jobspawner-local-<uid>``. A configured spool (``$JOBSPAWNER_LOCAL_SPOOL``,
    the backend's ``spool`` option) with ``{uid}`` or ``{username}`` placeholders is the user's
    folder itself; without placeholders it is a shared parent and the user's folder is the
    subfolder named by the uid.
    """
    uid = os.geteuid()
    configured = os.environ.get(SPOOL_ENV, "")
    if not configured:
        return Path(tempfile.gettempdir()) / f"jobspawner-local-{uid}"
    if not os.path.isabs(configured):
        raise SpoolError(f"the spool setting {configured!r} is not an absolute path")
    if "{" in configured or "}" in configured:
        try:
            return Path(configured.format(uid=uid, username=user_name(uid)))
        except (KeyError, IndexError, ValueError) as e:
            raise SpoolError(
                f"the spool setting {configured!r} has a placeholder other than {{uid}} and "
                f"{{username}} ({e})"
            ) from None
    return Path(configured) / str(uid)


def fallback_spool() -> Path | None:
    """Where the user's jobs go when the default spool's path is someone else's (a user can
    create ``/tmp/jobspawner-local-<uid>`` for another user before her first job): a folder
    in her home, which only she controls, per host. None with a configured spool (the
    admin chose it: it is used or refused) or a home that is not the user's."""
    if os.environ.get(SPOOL_ENV):
        return None
    import pwd

    try:
        home = pwd.getpwuid(os.geteuid()).pw_dir
    except KeyError:
        return None
    if not os.path.isabs(home):
        return None
    try:
        if os.stat(home).st_uid != os.geteuid():
            return None
    except OSError:
        return None
    return Path(home) / ".jobspawner" / f"local-spool-{os.uname().nodename}"


def _path_problem(folder: Path) -> str | None:
    """Why another user could change which folder ``folder`` is, or None.

    Follows the path one name at a time from ``/``: every symbolic link on the way must
    belong to root or the user, and every folder too, and a folder others may write to must
    be sticky (else they could rename an entry in it). A missing part ends the walk (it is
    created by the user).
    """
    uid = os.geteuid()
    todo = list(Path(folder).parts[1:])
    current, links = "/", 0
    while todo:
        name = todo.pop(0)
        if name in ("", "."):
            continue
        if name == "..":
            current = os.path.dirname(current)  # current holds no link: physical parent
            continue
        step = os.path.join(current, name)
        try:
            st = os.lstat(step)
        except FileNotFoundError:
            return None
        if stat.S_ISLNK(st.st_mode):
            if st.st_uid not in (0, uid):
                return f"{step} is a symbolic link owned by {_owner(st.st_uid)}"
            links += 1
            if links > 40:
                return f"{step}: too many symbolic links"
            target = os.readlink(step)
            todo = [*Path(target).parts, *todo]
            if os.path.isabs(target):
                todo, current = todo[1:], "/"
            continue
        if not stat.S_ISDIR(st.st_mode):
            return f"{step} is not a folder"
        if st.st_uid not in (0, uid):
            return f"{step} is owned by {_owner(st.st_uid)}"
        if st.st_mode & 0o022 and not st.st_mode & stat.S_ISVTX:
            mode = stat.S_IMODE(st.st_mode)
            return f"{step} is writable by others (mode {mode:04o}) without the sticky bit"
        current = step
    return None


def _check_parent(parent: Path) -> None:
    """The folder holding a spool must not let another user remove or replace the spool.

    Created (private to the user) when missing: a folder several users share must be made
    by root beforehand.
    """
    try:
        st = os.stat(parent)
    except FileNotFoundError:
        os.makedirs(parent, 0o700, exist_ok=True)
        st = os.stat(parent)
    if not stat.S_ISDIR(st.st_mode):
        raise SpoolError(f"{parent}, the folder that holds the spool, is not a folder")
    if st.st_uid not in (0, os.geteuid()):
        raise SpoolError(
            foreign=True,
            message=f"{parent}, the folder that holds your spool, is owned by "
            f"{_owner(st.st_uid)}, who could remove or replace your spool: use a folder owned "
            f"by root or by you "
            f"(a spool folder shared by several users is made by root: "
            f"`install -d -m 1777 {parent}`)",
        )
    if st.st_mode & 0o022 and not st.st_mode & stat.S_ISVTX:
        raise SpoolError(
            f"{parent}, the folder that holds your spool, is writable by others (mode "
            f"{stat.S_IMODE(st.st_mode):04o}) without the sticky bit, so anyone could replace "
            f"your spool: make it sticky (`chmod +t {parent}`) or use another folder"
        )
    problem = _path_problem(parent)
    if problem:
        raise SpoolError(
            f"the way to your spool {parent} is not under your control: {problem}, so "
            f"someone else could point it elsewhere and hide or replace your jobs (check "
            f"$TMPDIR or the backend option `spool`)",
            foreign=True,
        )


def _problem(path: Path, st: os.stat_result, check_mode: bool = True) -> str | None:
    """Why ``st`` (from lstat or fstat) is not a usable private spool, or None."""
    fix = f"remove it (its owner or root: `rm -rf {path}`) or set the backend option `spool`"
    if stat.S_ISLNK(st.st_mode):
        return f"is a symbolic link, not a folder of your own: {fix}"
    if not stat.S_ISDIR(st.st_mode):
        return f"is not a folder: {fix}"
    if st.st_uid != os.geteuid():
        return (
            f"is owned by {_owner(st.st_uid)}, not by you ({_owner(os.geteuid())}); a spool "
            f"someone else controls could make your jobs run their script: {fix}"
        )
    mode = stat.S_IMODE(st.st_mode)
    if check_mode and mode & 0o077:
        return (
            f"has mode {mode:04o}: group and others have access to it, it must be private "
            f"(0700): `chmod 700 {path}`, or remove it so it is created again"
        )
    return None


def open_spool(create: bool) -> int | None:
    """This user's spool folder as a directory descriptor, checked; None when it is missing
    and ``create`` is false. Raises :class:`SpoolError` when it exists but is unsafe.

    When the default spool's path is someone else's (:attr:`SpoolError.foreign`), the
    :func:`fallback_spool` in the user's home is used instead.
    """
    try:
        return open_spool_at(spool_path(), create)
    except SpoolError as e:
        fallback = fallback_spool()
        if not e.foreign or fallback is None:
            raise
        try:
            return open_spool_at(fallback, create)
        except SpoolError as second:
            raise SpoolError(f"{e}; and the spool in your home: {second}") from None


def open_spools() -> list[int]:
    """Every spool folder of the user's that exists (the default one and the one in her
    home, :func:`fallback_spool`), as directory descriptors: a job is looked up in both,
    so one submitted to either is never missed. Raises :class:`SpoolError` for an unsafe
    folder, but not for a default path someone else holds (the user's jobs are not there)."""
    found: list[int] = []
    try:
        fd = open_spool_at(spool_path(), create=False)
    except SpoolError as e:
        if not e.foreign or fallback_spool() is None:
            raise
        fd = None
    if fd is not None:
        found.append(fd)
    fallback = fallback_spool()
    if fallback is not None:
        try:
            fd = open_spool_at(fallback, create=False)
        except SpoolError:
            if not found:
                raise
            fd = None
        if fd is not None:
            found.append(fd)
    return found


def open_spool_at(path: Path, create: bool) -> int | None:
    """The spool folder ``path`` as a directory descriptor, checked (see :func:`open_spool`)."""
    _check_parent(path.parent)
    created = False
    if create:
        try:
            os.mkdir(path, 0o700)
            created = True
        except FileExistsError:
            pass
    try:
        before = os.lstat(path)
    except FileNotFoundError:
        return None
    # a folder made just now gets its mode fixed below (a umask may have changed it)
    problem = _problem(path, before, check_mode=not created)
    if problem:
        foreign = stat.S_ISLNK(before.st_mode) or before.st_uid != os.geteuid()
        raise SpoolError(f"the spool folder {path} {problem}", foreign=foreign)
    fd = os.open(path, _DIR_FLAGS)
    try:
        st = os.fstat(fd)
        if (st.st_dev, st.st_ino) != (before.st_dev, before.st_ino):
            raise SpoolError(f"the spool folder {path} was replaced while it was checked")
        if created:
            os.fchmod(fd, 0o700)  # a restrictive umask may have left less than 0700
            st = os.fstat(fd)
        problem = _problem(path, st)
        if problem:
            raise SpoolError(f"the spool folder {path} {problem}")
    except BaseException:
        os.close(fd)
        raise
    return fd


def _valid_id(job_id: str) -> tuple[int, str] | None:
    match = _JOB_ID.fullmatch(job_id)
    if match is None:
        return None
    return int(match.group(1)), match.group(2)


def _write_record(dir_fd: int, name: str, data: bytes) -> None:
    """Write ``name`` in the folder ``dir_fd`` atomically (a new file, then a rename)."""
    tmp = f".{name}.{secrets.token_hex(4)}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600, dir_fd=dir_fd)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
    os.rename(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)


def _read_record(dir_fd: int, name: str) -> str | None:
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dir_fd)
    except OSError:
        return None
    try:
        return os.read(fd, 4096).decode(errors="replace")
    finally:
        os.close(fd)


def _has_record(dir_fd: int, name: str) -> bool:
    try:
        os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except OSError:
        return False
    return True


def _open_job(spool_fd: int, job_id: str) -> int | None:
    if _valid_id(job_id) is None:
        return None
    try:
        return os.open(job_id, _DIR_FLAGS, dir_fd=spool_fd)
    except OSError:
        return None


def _remove_folder(parent_fd: int, name: str) -> None:
    """Remove the job folder ``name`` (flat: records only) from ``parent_fd``."""
    try:
        fd = os.open(name, _DIR_FLAGS, dir_fd=parent_fd)
    except OSError:
        return
    try:
        for entry in os.listdir(fd):
            with contextlib.suppress(OSError):
                os.unlink(entry, dir_fd=fd)
    finally:
        os.close(fd)
    with contextlib.suppress(OSError):
        os.rmdir(name, dir_fd=parent_fd)


def _start_supervisor(job: int, args: argparse.Namespace) -> tuple[subprocess.Popen[bytes], int]:
    """Start the supervisor of the job folder ``job`` (still under its temporary name);
    return it and the write end of the pipe that tells it to go."""
    script_fd = os.open("script", os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=job)
    out = os.open(
        args.output, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600
    )
    ready_r, ready_w = os.pipe()
    fds = (script_fd, job, ready_r)
    try:
        proc = subprocess.Popen(
            [sys.executable, "-I", "-m", "jobspawner.jobside.local_jobs", "_supervise",
             "--script-fd", str(script_fd), "--dir-fd", str(job), "--ready-fd", str(ready_r)],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=out,
            cwd=args.workdir or None,
            start_new_session=True,
            pass_fds=fds,
        )  # fmt: skip
    except BaseException:
        os.close(ready_w)
        raise
    finally:
        for fd in (out, script_fd, ready_r):
            os.close(fd)
    return proc, ready_w


def cmd_submit(args: argparse.Namespace) -> int:
    script = sys.stdin.buffer.read()
    spool = open_spool(create=True)
    if spool is None:
        raise SpoolError(f"the spool folder {spool_path()} vanished while it was created")
    tmp_name = f".new-{secrets.token_hex(8)}"
    os.mkdir(tmp_name, 0o700, dir_fd=spool)
    job = os.open(tmp_name, _DIR_FLAGS, dir_fd=spool)
    try:
        _write_record(job, "script", script)
        _write_record(job, "name", args.name.encode())
        proc, ready_w = _start_supervisor(job, args)
    except OSError as e:
        _remove_folder(spool, tmp_name)
        print(f"local_jobs: cannot start the job: {e}", file=sys.stderr)
        return 1
    finally:
        os.close(job)
    start = None
    for _ in range(100):
        start = start_time(proc.pid)
        if start:
            break
        time.sleep(0.01)
    if start is None:
        os.close(ready_w)  # the supervisor (if alive) sees the end of the pipe and gives up
        _remove_folder(spool, tmp_name)
        print("local_jobs: the job's supervisor ended before it could be recorded", file=sys.stderr)
        return 1
    job_id = f"{proc.pid}-{start}"
    _remove_folder(spool, job_id)  # a stale record of an earlier boot with the same id
    os.rename(tmp_name, job_id, src_dir_fd=spool, dst_dir_fd=spool)
    os.close(spool)
    os.write(ready_w, b"go")  # the supervisor waits for this before running the script
    os.close(ready_w)
    print(job_id)
    return 0


def cmd_supervise(args: argparse.Namespace) -> int:
    ready = args.ready_fd
    go = b""
    deadline = time.monotonic() + READY_TIMEOUT
    while (left := deadline - time.monotonic()) > 0:
        if not select.select([ready], [], [], left)[0]:
            break
        chunk = os.read(ready, 16)
        if not chunk:
            break
        go += chunk
        if go == b"go":
            break
    os.close(ready)
    if go != b"go":
        return 1  # submit failed before recording the job: run nothing
    # SIGTERM reaches the whole group; the supervisor survives it to record the outcome.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    child = subprocess.Popen(
        # /dev/fd/N reopens the very file submit wrote, whatever its name points to now
        ["/bin/bash", f"/dev/fd/{args.script_fd}"],
        stdin=subprocess.DEVNULL,
        pass_fds=(args.script_fd,),
        preexec_fn=lambda: signal.signal(signal.SIGTERM, signal.SIG_DFL),
    )
    os.close(args.script_fd)
    # the job shares the supervisor's group: `cancel` ends them both, leftovers keep it running
    outcome = Supervisor(child.pid, own_group=False).wait()
    child.returncode = outcome.returncode
    _write_record(args.dir_fd, "exit", str(outcome.exit_code).encode())
    return 0


def status_line(spool_fd: int, job_id: str) -> str | None:
    parsed = _valid_id(job_id)
    job = _open_job(spool_fd, job_id)
    if parsed is None or job is None:
        return None
    try:
        return _job_status(job_id, parsed, job)
    finally:
        os.close(job)


def _job_status(job_id: str, parsed: tuple[int, str], job: int) -> str:
    pid, start = parsed
    host = os.uname().nodename
    if start_time(pid) == start and not _has_record(job, "exit"):
        state = proc_state(pid)
        if state == "T":
            return f"{job_id} suspended - {host}"
        if state != "Z":
            return f"{job_id} running - {host}"
    if group_alive(pid):
        # the job's script ended but processes it started live on (like Slurm's COMPLETING):
        # the job is not over until its whole process group is gone
        return f"{job_id} running - {host}"
    try:
        code = int((_read_record(job, "exit") or "").strip())
    except ValueError:
        return f"{job_id} failed - {host}"  # the supervisor was killed: no exit status
    if _has_record(job, "cancelled"):
        return f"{job_id} cancelled {code} {host}"
    return f"{job_id} {'done' if code == 0 else 'failed'} {code} {host}"


def cmd_status(args: argparse.Namespace) -> int:
    spools = open_spools()  # none yet: no jobs
    try:
        for job_id in args.ids:
            line = next(filter(None, (status_line(s, job_id) for s in spools)), None)
            if line:
                print(line)
    finally:
        for spool in spools:
            os.close(spool)
    return 0


def _find_job(spools: list[int], job_id: str) -> int | None:
    """The job's folder in whichever of the user's spools holds it."""
    for spool in spools:
        job = _open_job(spool, job_id)
        if job is not None:
            return job
    return None


def cmd_cancel(args: argparse.Namespace) -> int:
    rc = 0
    alive: list[int] = []
    spools = open_spools()
    for job_id in args.ids:
        parsed = _valid_id(job_id)
        job = _find_job(spools, job_id)
        if parsed is None or job is None:
            print(f"local_jobs: unknown job {job_id}", file=sys.stderr)
            rc = 1
            continue
        pid, start = parsed
        try:
            if start_time(pid) != start:
                continue  # already ended
            _write_record(job, "cancelled", b"")
            os.killpg(pid, signal.SIGTERM)
            os.killpg(pid, signal.SIGCONT)  # a stopped job must wake up to die
            alive.append(pid)
        except ProcessLookupError:
            pass
        except PermissionError as e:
            print(f"local_jobs: cannot cancel {job_id}: {e}", file=sys.stderr)
            rc = 1
        finally:
            os.close(job)
    for spool in spools:
        os.close(spool)
    terminate_groups(alive, signals=(), grace=GRACE_SECONDS)  # signalled above: SIGKILL late ones
    return rc


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -I -m jobspawner.jobside.local_jobs")
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
    p.add_argument("--script-fd", type=int, required=True)
    p.add_argument("--dir-fd", type=int, required=True)
    p.add_argument("--ready-fd", type=int, required=True)
    p.set_defaults(func=cmd_supervise)
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except SpoolError as e:
        print(f"local_jobs: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
