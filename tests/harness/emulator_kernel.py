"""The kernel of the scheduler emulators (LSF, Torque/PBS/Moab, HTCondor): standard library
only, so an emulator runs it on the system Python as any user.

Each emulator is a thin command front end (argument parsing, output formats) over this:

* a spool folder every user may write (mode 1777) holding the queue as one JSON file,
  changed under an exclusive ``fcntl`` lock by every command (:func:`locked_state`), so
  concurrent commands by several users are safe; there is no daemon;
* :func:`may_start`: a queued job is started only by a process of its owner (or root), so
  it runs as the user who submitted it;
* :func:`spawn_detached`: the job's supervisor process, detached, as the job's owner;
* :mod:`emulator_queue`: the job record, its state machine, slot scheduling, dispatch,
  cancel and history, which every emulator names in its own words;
* :func:`start_job`, in that process: the job in its own process group, watched by the
  product's :mod:`jobspawner.jobside.job_supervisor` (run-time limit, cancel signals, exit status
  and CPU time), loaded by its path and re-exported here as :data:`supervisor`: the same
  code the ``local`` backend runs.

An emulator copied out of the checkout (so test users can run it when the checkout is
private) takes this kernel along: :func:`install` copies the files it needs.
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib.util
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from types import ModuleType
from typing import Any

_HERE = os.path.dirname(os.path.realpath(__file__))
_SUPERVISOR = "job_supervisor.py"


def _load_supervisor() -> ModuleType:
    """The product's job supervisor: a copy next to this file, or the checkout's."""
    for folder in (_HERE, os.path.join(_HERE, "..", "..", "core", "jobspawner", "jobside")):
        path = os.path.join(folder, _SUPERVISOR)
        if os.path.exists(path):
            break
    name = "emulator_job_supervisor"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None, path
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # loaded once per process
    spec.loader.exec_module(module)
    return module


supervisor = _load_supervisor()


def install(folder: str) -> None:
    """Copy the kernel (its queue, and the supervisor it loads) into ``folder``, next to an emulator
    copied there, readable by every user."""
    import shutil  # only here: every emulator command loads this module

    queue = os.path.join(_HERE, "emulator_queue.py")
    for source in (os.path.realpath(__file__), queue, supervisor.__file__):
        target = os.path.join(folder, os.path.basename(source))
        shutil.copyfile(source, target)
        os.chmod(target, 0o644)


# --- users -----------------------------------------------------------------------------------


user_name = supervisor.user_name


def may_start(owner_uid: int) -> bool:
    """Whether this process may start a job of ``owner_uid``: its owner or root. The others
    wait for their owner's next command, so that every job runs as its owner."""
    return os.getuid() in (0, owner_uid)


# --- the spool -------------------------------------------------------------------------------


def shared_folder(path: str) -> str:
    """Make ``path`` (if missing) a folder every user may write, sticky (1777)."""
    with contextlib.suppress(FileExistsError):
        os.mkdir(path, 0o1777)
    st = os.stat(path)
    if st.st_uid == os.geteuid() and (st.st_mode & 0o7777) != 0o1777:
        os.chmod(path, 0o1777)  # not subject to the umask
    return path


def spool_folder(env: str, default: str, *subfolders: str) -> str:
    """An emulator's spool: the folder ``$env`` names (else ``default``), and its
    ``subfolders``, each one every user may write (:func:`shared_folder`)."""
    path = shared_folder(os.environ.get(env) or default)
    for name in subfolders:
        shared_folder(os.path.join(path, name))
    return path


def open_shared(path: str) -> int:
    """Open, creating if needed, a file every user may read and write: created 0666 at once
    (another user opening it between a create and a chmod would be refused), and never
    with O_CREAT on a file someone else owns in a sticky folder."""
    while True:
        try:
            return os.open(path, os.O_RDWR)
        except FileNotFoundError:
            pass
        old = os.umask(0)
        try:
            return os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        finally:
            os.umask(old)


class Held:
    """The queue state loaded under the lock (saved on leaving :func:`locked_state`)."""

    def __init__(self, state: dict[str, Any], busy: bool = False) -> None:
        self.state = state
        #: Whether the lock was held by another command for longer than ``busy_after``.
        self.busy = busy


def _lock(fd: int, busy_after: float | None) -> bool:
    """Take the exclusive lock; True when it was busy for longer than ``busy_after``."""
    if busy_after is not None:
        deadline = time.monotonic() + busy_after
        while time.monotonic() <= deadline:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return False
            except BlockingIOError:
                time.sleep(0.01)
    fcntl.flock(fd, fcntl.LOCK_EX)
    return busy_after is not None


@contextlib.contextmanager
def locked_state(
    folder: str,
    *,
    lock_name: str = "lock",
    state_name: str = "state.json",
    empty: Callable[[], dict[str, Any]] = dict,
    busy_after: float | None = None,
    indent: int | None = 1,
) -> Iterator[Held]:
    """The spool's queue state under its exclusive lock, written back (in place, only when
    it changed) when the block ends without an exception."""
    lock_fd = open_shared(os.path.join(folder, lock_name))
    try:
        busy = _lock(lock_fd, busy_after)
        fd = open_shared(os.path.join(folder, state_name))
        with os.fdopen(fd, "r+") as f:
            text = f.read()
            held = Held(json.loads(text) if text.strip() else empty(), busy)
            yield held
            data = json.dumps(held.state, indent=indent)
            if data != text:
                f.seek(0)
                f.truncate()
                f.write(data)
    finally:
        fcntl.flock(lock_fd, fcntl.LOCK_UN)
        os.close(lock_fd)


# --- command lines --------------------------------------------------------------------------


class BadOption(Exception):
    """A command line option the command does not know, or one without its value."""

    def __init__(self, option: str, missing: bool) -> None:
        super().__init__(option)
        self.option = option
        #: True: a known option whose value is missing; False: an unknown option.
        self.missing = missing


def scan_options(
    args: list[str],
    flags: Iterable[str],
    valued: Iterable[str],
    *,
    repeated: Iterable[str] = (),
    until_operand: bool = False,
) -> tuple[dict[str, Any], list[str]]:
    """Whole-word options (``-json``, ``-o value``): each of ``flags`` maps to True, each of
    ``valued`` to the next word (the last one wins; ``repeated`` ones collect a list), and
    the operands in order (with ``until_operand``: every word from the first operand on,
    like a command and its arguments; ``-`` alone is an operand). Raises :class:`BadOption`."""
    flags, valued, repeated = set(flags), set(valued), set(repeated)
    opts: dict[str, Any] = {name: [] for name in repeated}
    operands: list[str] = []
    i = 0
    while i < len(args):
        word = args[i]
        if word in flags:
            opts[word] = True
        elif word in valued or word in repeated:
            if i + 1 >= len(args):
                raise BadOption(word, missing=True)
            i += 1
            if word in repeated:
                opts[word].append(args[i])
            else:
                opts[word] = args[i]
        elif word.startswith("-") and word != "-":
            raise BadOption(word, missing=False)
        elif until_operand:
            return opts, args[i:]
        else:
            operands.append(word)
        i += 1
    return opts, operands


# --- starting a job's supervisor -------------------------------------------------------------


def spawn_detached(argv: list[str], owner_uid: int, env: dict[str, str] | None = None) -> int:
    """Start ``argv`` (a job's supervisor) detached in its own session, as ``owner_uid``
    (root becomes the owner; the owner stays itself); returns its pid."""
    return subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd="/",
        env=env,
        start_new_session=True,
        preexec_fn=supervisor.become(owner_uid),
        close_fds=True,
    ).pid


# --- running the job (in its supervisor process) ---------------------------------------------


class Job:
    """A started job: its process, leading its own process group, and its supervisor."""

    def __init__(self, proc: subprocess.Popen[bytes], watch: Any) -> None:
        self.proc = proc
        self.watch = watch  # a job_supervisor.Supervisor

    @property
    def pid(self) -> int:
        """The job's pid, which is its process group's id too."""
        return self.proc.pid

    def _ended(self, outcome: Any) -> Any:
        if outcome is not None:
            self.proc.returncode = outcome.returncode  # reaped by the supervisor
        return outcome

    def poll(self) -> Any:
        """The job's ``Outcome`` once it has ended, else None (see ``Supervisor.poll``)."""
        return self._ended(self.watch.poll())

    def wait(self) -> Any:
        """Wait for the job's ``Outcome`` (see ``Supervisor.wait``)."""
        return self._ended(self.watch.wait())

    def stop(self) -> None:
        """Cancel the job and wait until it has ended (nothing when it already has)."""
        if self.proc.returncode is None:
            self.watch.cancel()
            self.wait()


def start_job(
    argv: list[str],
    *,
    stdout: Any,
    stderr: Any,
    env: dict[str, str],
    cwd: str,
    stdin: Any = subprocess.DEVNULL,
    **supervision: Any,
) -> Job:
    """Start a job in its own session and process group, with its supervisor (``supervision``:
    the keyword arguments of ``Supervisor``: limit, grace, signals, on_limit). Raises
    :class:`OSError` when it cannot be started."""
    streams = {"stdin": stdin, "stdout": stdout, "stderr": stderr}
    proc = subprocess.Popen(argv, env=env, cwd=cwd, start_new_session=True, **streams)
    return Job(proc, supervisor.Supervisor(proc.pid, **supervision))
