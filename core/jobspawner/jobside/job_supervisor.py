"""Running one batch job to its end: the part every job runner shares, standard library only.

A job is a process started in a process group (its own, or its supervisor's). Its
supervisor waits for it, enforces a run-time limit, delivers a cancel (first signals, then
SIGKILL after a grace period), ends whatever the job left behind in its group, and returns
an :class:`Outcome` (exit status or killing signal, CPU time, why it was stopped).

Used by the embedded ``local`` backend (:mod:`jobspawner.jobside.local_jobs`) and by the test
suite's scheduler emulators, which load this file by its path (it imports nothing from the
package, so an emulator running on the system Python can use it without jobspawner).

Facts about processes come from ``/proc`` (Linux): a zombie counts as ended, and a process
group is alive while any of its members is not a zombie.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import select
import signal
import time
from collections.abc import Callable, Iterable

#: How often a waiting supervisor looks at its limit and at cancel requests (seconds).
POLL_SECONDS = 0.1


# --- facts from /proc ------------------------------------------------------------------------


def proc_fields(pid: int) -> list[str] | None:
    """The fields of ``/proc/<pid>/stat`` after the command name (state first), or None."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            line = f.read()
    except OSError:
        return None
    # the command name may contain spaces and parentheses: split after the last ')'
    return line[line.rfind(")") + 2 :].split()


def proc_state(pid: int) -> str | None:
    """The one-letter state of ``pid`` (``R``, ``S``, ``T``, ``Z`` ...), or None when gone."""
    fields = proc_fields(pid)
    return fields[0] if fields else None


def start_time(pid: int) -> str | None:
    """When ``pid`` started (clock ticks since boot, as text): with the pid, an identity that
    survives pid reuse. None when there is no such process."""
    fields = proc_fields(pid)
    return fields[19] if fields else None


def group_of(pid: int) -> int | None:
    """The process group of ``pid``, or None."""
    fields = proc_fields(pid)
    return int(fields[2]) if fields else None


def process_alive(pid: int | None) -> bool:
    """Whether ``pid`` exists (as anyone's process) and is not a zombie."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return proc_state(pid) not in (None, "Z")


def group_alive(pgid: int) -> bool:
    """Whether any process of the group ``pgid`` is alive (zombies do not count)."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return any(
        proc_state(int(p)) not in (None, "Z") and group_of(int(p)) == pgid
        for p in os.listdir("/proc")
        if p.isdigit()
    )


# --- signals ---------------------------------------------------------------------------------


def signal_group(pgid: int | None, *signals: int) -> bool:
    """Send ``signals`` to the group ``pgid`` in turn; False when it is gone or not ours."""
    if not pgid:
        return False
    try:
        for sig in signals:
            os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def terminate_groups(
    pgids: Iterable[int],
    signals: Iterable[int] = (signal.SIGTERM, signal.SIGCONT),
    grace: float = 5.0,
) -> None:
    """End process groups: ``signals`` first (a stopped job needs SIGCONT to act on them),
    SIGKILL to those still alive after ``grace`` seconds."""
    first = tuple(signals)
    alive = [g for g in pgids if signal_group(g, *first)]
    deadline = time.monotonic() + grace
    while alive and time.monotonic() < deadline:
        time.sleep(0.05)
        alive = [g for g in alive if group_alive(g)]
    for pgid in alive:
        signal_group(pgid, signal.SIGKILL)


# --- the job's owner -------------------------------------------------------------------------


def user_name(uid: int) -> str:
    """The login name of ``uid`` (the number when it has none)."""
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def become(uid: int) -> Callable[[], None] | None:
    """A ``preexec_fn`` that makes a child process run as ``uid`` (its groups included);
    None when this process already is ``uid`` (only root can become someone else)."""
    if os.getuid() == uid:
        return None
    entry = pwd.getpwuid(uid)

    def preexec() -> None:
        os.setgid(entry.pw_gid)
        os.initgroups(entry.pw_name, entry.pw_gid)
        os.setuid(entry.pw_uid)

    return preexec


# --- supervising one job ---------------------------------------------------------------------

#: Why a supervisor stopped its job (``Outcome.stopped``).
LIMIT = "limit"
CANCEL = "cancel"


class Outcome:
    """How a job ended."""

    __slots__ = ("cpu_seconds", "returncode", "stopped")

    def __init__(self, returncode: int, cpu_seconds: float = 0.0, stopped: str = "") -> None:
        #: ``subprocess`` convention: the exit status, or minus the signal that killed the job.
        self.returncode = returncode
        #: User plus system CPU seconds of the job's process and the children it waited for.
        self.cpu_seconds = cpu_seconds
        #: ``""`` when the job ended by itself, :data:`LIMIT` or :data:`CANCEL` when stopped.
        self.stopped = stopped

    @property
    def signal(self) -> int | None:
        """The signal that killed the job, or None when it exited."""
        return -self.returncode if self.returncode < 0 else None

    @property
    def exit_code(self) -> int:
        """The shell's convention: the exit status, or 128 plus the killing signal."""
        return 128 - self.returncode if self.returncode < 0 else self.returncode


class Supervisor:
    """Waits for one started job (``pid``, leading its own group or in the supervisor's).

    ``limit``: seconds the job may run; then ``limit_signals`` go to its group (after
    ``on_limit(elapsed)``, e.g. to write a message into its output) and SIGKILL ``grace``
    seconds later. :meth:`cancel` (safe in a signal handler) does the same with
    ``cancel_signals``. When the job has its own group (``own_group``), whatever it left
    behind there is killed once it ends. The supervisor reaps the job itself: a caller that
    started it with :class:`subprocess.Popen` keeps that object alive meanwhile (a dropped
    one may reap the job behind the supervisor's back).
    """

    def __init__(
        self,
        pid: int,
        *,
        limit: float | None = None,
        grace: float = 10.0,
        limit_signals: tuple[int, ...] = (signal.SIGTERM,),
        cancel_signals: tuple[int, ...] = (signal.SIGTERM,),
        on_limit: Callable[[float], None] | None = None,
        own_group: bool = True,
    ) -> None:
        self.pid = pid
        self.limit = limit
        self.grace = grace
        self.limit_signals = limit_signals
        self.cancel_signals = cancel_signals
        self.on_limit = on_limit
        self.own_group = own_group
        self._cancelled = False
        self._stopped = ""
        self._kill_at: float | None = None
        self._started = time.monotonic()  # the limit counts from here

    def cancel(self) -> None:
        """Ask for the job to be cancelled (acted on at the next look, within a poll)."""
        self._cancelled = True

    def _stop(self, why: str, signals: tuple[int, ...], now: float) -> None:
        self._stopped = why
        self._kill_at = now + self.grace
        if self.own_group:
            signal_group(self.pid, *signals)
        else:
            for sig in signals:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.pid, sig)

    def _look(self) -> None:
        now = time.monotonic()
        if not self._stopped:
            if self._cancelled:
                self._stop(CANCEL, self.cancel_signals, now)
            elif self.limit is not None and now - self._started >= self.limit:
                if self.on_limit is not None:
                    self.on_limit(now - self._started)
                self._stop(LIMIT, self.limit_signals, now)
        elif self._kill_at is not None and now >= self._kill_at:
            self._kill_at = None
            if self.own_group:
                signal_group(self.pid, signal.SIGKILL)
            else:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.pid, signal.SIGKILL)

    def poll(self) -> Outcome | None:
        """One look: the outcome once the job has ended (it is reaped then); until then act
        on the limit and on cancel requests, and return None."""
        pid, status, usage = os.wait4(self.pid, os.WNOHANG)
        if not pid:
            self._look()
            return None
        if self.own_group:
            signal_group(self.pid, signal.SIGKILL)  # what the job left behind goes with it
        return Outcome(
            returncode=os.waitstatus_to_exitcode(status),
            cpu_seconds=usage.ru_utime + usage.ru_stime,
            stopped=self._stopped,
        )

    def wait(self) -> Outcome:
        """Wait for the job to end, acting on the limit and on cancel requests meanwhile."""
        pidfd = _pidfd(self.pid)
        try:
            while (outcome := self.poll()) is None:
                _pause(pidfd)
        finally:
            if pidfd is not None:
                os.close(pidfd)
        return outcome


def _pidfd(pid: int) -> int | None:
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):
        return None


def _pause(pidfd: int | None) -> None:
    """Sleep one poll, waking at once when the job (its pidfd) ends."""
    if pidfd is None:
        time.sleep(POLL_SECONDS)
    else:
        select.select([pidfd], [], [], POLL_SECONDS)
