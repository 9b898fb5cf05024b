"""The server watch: one idle TCP connection per running server, to notice silent deaths.

The shared status rounds (:mod:`jobspawner.lifecycle.poller`) ask the scheduler about every job once
per ``status_interval`` (15 s): cheap for the scheduler, but a job killed without a word
(the out-of-memory killer, ``SIGKILL``, Grid Engine's ``qdel``) is noticed only at the next
round, and a lost node only when the scheduler marks it down (minutes). The watch notices
both within seconds and costs no scheduler command at all:

* Once a start has succeeded (the server answered the hub's check at the routed address)
  and whenever JupyterHub's ``poll`` finds a running job with no watch (after a hub
  restart), the hub opens ONE TCP connection to the address the proxy routes to (the
  server's host and port, or the local end of an SSH forward) and leaves it idle. It sends
  nothing and reads (and discards, unparsed) at most :data:`MAX_READ` bytes: the job
  controls what arrives. TCP keepalive (``SO_KEEPALIVE`` with ``TCP_KEEPIDLE``,
  ``TCP_KEEPINTVL``, ``TCP_KEEPCNT`` from ``lost_server_timeout``) lets the kernel find a
  host that stopped answering, at no cost in the hub's process.
* The connection closes (end of stream or reset: the server's process died and the kernel
  closed its sockets): ONE reconnect with a short timeout. It connects: the server lives
  (Jupyter's server closes connections idle for an hour), watch again, after a growing pause
  when connections keep closing quickly (a server that closes them at once cannot make the
  hub spin). It fails: the job's end is *hinted* like the server's own ending report
  (``JobSpawner.job_end_hinted``: hurried status rounds) and the scheduler's answer decides.
* The keepalive times out or the address stops answering (a lost node): the rounds are
  hurried too; when the server stayed unreachable for ``lost_server_timeout`` seconds while
  the scheduler still lists its job, JupyterHub's ``poll`` reports the server ended, so
  JupyterHub stops it (its job is cancelled) and the user is told why (:mod:`last_end`).
* Guard against a fault on the hub's side (:mod:`.watch_registry`): while at least
  ``GUARD_MIN_WATCHES`` servers are watched and more than half of them are unreachable,
  nobody is stopped and the admin reads one error saying so.
* One file descriptor per watch: the soft ``RLIMIT_NOFILE`` is raised towards the hard
  limit at first use, and watches never use more than the limit less a reserve; beyond it
  the hub logs once and relies on the status rounds.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import math
import socket
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

from traitlets import Bool, Float, HasTraits

from jobspawner.contract.status import JobState, JobStatus
from jobspawner.lifecycle import metrics, status_rounds
from jobspawner.lifecycle.watch_registry import REGISTRY, Registry

if TYPE_CHECKING:
    from jobspawner.lifecycle.job_session import JobSession
    from jobspawner.lifecycle.poller import StatusPoller

_log = logging.getLogger(__name__)

#: Most bytes read (and discarded) from one watch connection before it is closed.
MAX_READ = 64 * 1024
#: Seconds a connection must stay open to count as a normal one (no backoff after it).
QUICK_CLOSE = 5.0
#: Longest pause between reconnects of a server that keeps closing connections at once.
MAX_BACKOFF = 60.0
#: Fewest seconds between two hints of the same watch (a hint hurries the status rounds).
HINT_EVERY = 30.0
#: Seconds between reconnect attempts while a server is unreachable.
RETRY_EVERY = 1.0
#: The same while the hub-side fault guard holds (most servers unreachable at once).
FAULT_RETRY_EVERY = 5.0


class ServerWatchConfig(HasTraits):
    """The ``c.JobSpawner`` settings of the server watch (a mixin of ``JobSpawner``)."""

    watch_server = Bool(
        True,
        config=True,
        help="""Hold one idle TCP connection to each running server (the address the proxy
        routes to) so that a server killed without a word (out-of-memory killer, SIGKILL)
        or a lost node is noticed within seconds, without any scheduler command: the
        connection's end hurries the status rounds, and the scheduler's answer decides. The
        hub sends nothing on it and ignores what arrives. Costs one file descriptor per
        server.""",
    )
    lost_server_timeout = Float(
        10.0,
        config=True,
        help="""Seconds a watched server may stay unreachable (TCP keepalive timed out,
        connections time out or are refused) while the scheduler still lists its job as
        running, before the hub stops the server, cancels its job and tells the user it
        stopped answering. 0: only hurry the status rounds, never stop. Nobody is stopped
        while more than half of the watched servers (at least 4) are unreachable at once:
        that is a fault on the hub's side.""",
    )


@dataclass(frozen=True)
class Keepalive:
    """TCP keepalive timing (whole seconds, as Linux takes them)."""

    idle: int
    interval: int
    count: int

    @classmethod
    def for_timeout(cls, lost_timeout: float) -> Keepalive:
        """Probes that find a dead peer within about half of ``lost_timeout`` (10 s: idle 2,
        then 3 probes 1 s apart)."""
        timeout = lost_timeout if lost_timeout > 0 else 10.0
        interval = max(1, int(timeout // 10))
        return cls(idle=max(1, int(timeout // 5)), interval=interval, count=3)

    @property
    def unanswered(self) -> float:
        """Seconds between the first unanswered probe and the kernel's timeout."""
        return float(self.interval * self.count)

    @property
    def silent(self) -> float:
        """Seconds a peer has been silent, at most, when the kernel times the connection
        out: the idle period before the first unanswered probe, and the probes."""
        return float(self.idle) + self.unanswered

    def apply(self, sock: Any) -> None:
        """Turn keepalive on for ``sock`` (the timing only where the platform has it)."""
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        for name, value in (
            ("TCP_KEEPIDLE", self.idle),
            ("TCP_KEEPINTVL", self.interval),
            ("TCP_KEEPCNT", self.count),
        ):
            option = getattr(socket, name, None)
            if option is not None:
                sock.setsockopt(socket.IPPROTO_TCP, option, value)


@dataclass
class Events:
    """What a watch tells its spawner (each a plain call; the spawner schedules work)."""

    gone: Callable[[], None]  # the server's process seems gone: hint the job's end
    unreachable: Callable[[], None]  # the server stopped answering: hurry the rounds
    lost: Callable[[], None]  # unreachable for lost_timeout: let JupyterHub poll now


class ServerWatch:
    """One idle connection to one server (see the module's text)."""

    def __init__(
        self,
        host: str,
        port: int,
        events: Events,
        lost_timeout: float,
        registry: Registry = REGISTRY,
        connect_timeout: float = 2.0,
        name: str = "",
    ) -> None:
        self.host, self.port = host, port
        self.events = events
        self.lost_timeout = lost_timeout
        self.registry = registry
        self.connect_timeout = connect_timeout
        self.name = name or f"{host}:{port}"
        self.keepalive = Keepalive.for_timeout(lost_timeout)
        self.unreachable_since: float | None = None  # monotonic; None while it answers
        self.connections = 0  # how many connections were opened (tests, benchmarks)
        self.hints = 0  # how many times the job's end was hinted
        self.backoff = 0.0  # the current pause before a reconnect (quick closes)
        self._last_hint = -math.inf
        self._lost_told = False
        self._task: asyncio.Task[None] | None = None
        self.finalizer: weakref.finalize[Any, Any] | None = None  # ends it with its spawner
        self.decided = False  # the server was declared lost: poll says so until a new start
        self.told = asyncio.Event()  # set once the poll that declared it lost noted why

    # --- control --------------------------------------------------------------------------
    def start(self) -> bool:
        """Begin watching (False when the fd budget is spent: the rounds alone then)."""
        if not self.registry.admit(self):
            return False
        self._task = asyncio.get_running_loop().create_task(self._run())
        return True

    def close(self) -> None:
        """Stop watching now (idempotent; safe from a finaliser)."""
        self.registry.leave(self)
        if self.finalizer is not None:
            self.finalizer.detach()
        task, self._task = self._task, None
        if task is not None and not task.done():
            with contextlib.suppress(RuntimeError):  # its loop is already closed
                task.cancel()

    @property
    def active(self) -> bool:
        return self._task is not None and not self._task.done()

    def lost(self) -> bool:
        """True when the server stayed unreachable for ``lost_timeout`` seconds (and the
        hub-side fault guard does not hold)."""
        since = self.unreachable_since
        if since is None or self.lost_timeout <= 0:
            return False
        if time.monotonic() - since < self.lost_timeout:
            return False
        return not self.registry.hub_fault()

    def unreachable_for(self) -> float:
        """Seconds the server has been unreachable (0 while it answers)."""
        since = self.unreachable_since
        return 0.0 if since is None else max(0.0, time.monotonic() - since)

    # --- the loop -------------------------------------------------------------------------
    async def _run(self) -> None:
        held: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        try:
            while True:
                if held is None:
                    try:
                        held = await self._connect()
                    except OSError as e:
                        self._unreachable(time.monotonic(), e)
                        await asyncio.sleep(self._retry_pause())
                        continue
                reader, writer = held
                self._answered()
                opened = time.monotonic()
                why = await self._hold(reader)
                held = None
                writer.close()
                if why == "keepalive":  # the kernel's probes went unanswered: it was last
                    # heard at most one idle period before the first of them
                    self._unreachable(time.monotonic() - self.keepalive.silent, why)
                    continue
                quick = time.monotonic() - opened < QUICK_CLOSE
                if not quick:
                    self.backoff = 0.0
                if self.backoff:
                    # it closed at once again though it accepted: hint (rarely; an SSH
                    # forward whose far end is gone behaves so), then pause before asking
                    self._hint()
                    await asyncio.sleep(self.backoff)
                # the one reconnect that tells a closed connection from a dead server
                try:
                    held = await self._connect()
                except OSError as e:
                    self._unreachable(time.monotonic(), e)
                    self._hint()
                    await asyncio.sleep(self._retry_pause())
                    continue
                if quick:
                    self.backoff = min(MAX_BACKOFF, max(1.0, self.backoff * 2))
        except asyncio.CancelledError:
            raise
        except Exception:  # a watch must never take the hub down
            _log.exception("%s: the server watch failed; the status rounds go on", self.name)
        finally:
            if held is not None:
                held[1].close()
            self.registry.leave(self)

    def _retry_pause(self) -> float:
        """Seconds before the next try while unreachable: RETRY_EVERY, or less when the
        server is about to count as lost (so that it is told on time)."""
        if self.registry.hub_fault():
            return FAULT_RETRY_EVERY  # a thousand watches must not retry every second
        return max(0.05, min(RETRY_EVERY, self._until_lost()))

    def _until_lost(self) -> float:
        """Seconds until an unreachable server counts as lost (inf when that is not due)."""
        since = self.unreachable_since
        if since is None or self.lost_timeout <= 0 or self._lost_told:
            return math.inf
        return since + self.lost_timeout - time.monotonic()

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """One connection with keepalive, or OSError (a timeout included)."""
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(self.host, self.port, limit=MAX_READ),
                max(0.5, min(self.connect_timeout, self._until_lost())),
            )
        except asyncio.TimeoutError as e:
            raise TimeoutError(errno.ETIMEDOUT, "connect timed out") from e
        self.connections += 1
        sock = writer.get_extra_info("socket")
        if sock is not None:
            try:
                self.keepalive.apply(sock)
            except OSError as e:
                _log.debug("%s: no keepalive on the watch: %s", self.name, e)
        return reader, writer

    async def _hold(self, reader: asyncio.StreamReader) -> str:
        """Wait until the idle connection ends: ``closed`` (end of stream, reset, or the
        server sent more than MAX_READ bytes) or ``keepalive`` (probes unanswered)."""
        received = 0
        while received <= MAX_READ:
            try:
                data = await reader.read(4096)
            except TimeoutError:  # ETIMEDOUT: keepalive
                return "keepalive"
            except OSError as e:
                if e.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH):
                    return "keepalive"
                return "closed"
            if not data:
                return "closed"
            received += len(data)  # never looked at: the job controls it
        return "closed"

    # --- state ----------------------------------------------------------------------------
    def _answered(self) -> None:
        if self.unreachable_since is not None:
            _log.info("%s: the server answers again", self.name)
        self.unreachable_since = None
        self._lost_told = False
        self.registry.down.discard(self)
        if self.registry.fault_told:
            self.registry.hub_fault()  # lets the guard log that it is over

    def _hint(self) -> None:
        now = time.monotonic()
        if now - self._last_hint < HINT_EVERY or self.registry.hub_fault():
            return
        self._last_hint = now
        self.hints += 1
        self.events.gone()

    def _unreachable(self, since: float, why: object) -> None:
        if self.unreachable_since is None:
            self.unreachable_since = since
            if self in self.registry.watches:
                self.registry.down.add(self)
            _log.info("%s: the server does not answer (%s)", self.name, why)
            if not self.registry.hub_fault():  # a hub-side fault hurries no rounds
                self.events.unreachable()
        if not self._lost_told and self.lost():
            self._lost_told = True
            self.events.lost()


# --- the spawner's side ---------------------------------------------------------------------


class WatchedServer(Protocol):
    """What a watch asks of the server it watches (the spawner's public side)."""

    log: Any
    server: Any
    watch_server: bool
    lost_server_timeout: float
    startup_poll_interval: float
    #: the server's current watch (None when it has none)
    current_watch: ServerWatch | None

    @property
    def job_id(self) -> str:
        """The server's current job ("" when none)."""

    @property
    def log_name(self) -> str:
        """The server's name in the hub's log."""

    @property
    def starting(self) -> bool:
        """A start of this server runs in this hub process."""

    @property
    def stop_pending(self) -> bool:
        """JupyterHub is stopping this server."""

    def poller(self) -> StatusPoller:
        """The shared status poller of its jobs."""

    def job_end_hinted(self) -> None:
        """Follow the job closely for a while: its server may be ending."""

    async def poll_and_notify(self) -> Any:
        """JupyterHub's poll, and its handling of a server that stopped."""

    def transport_close(self) -> None:
        """Close the server's forward, if any."""

    async def note_job_end(self, status: JobStatus, words: str | None = None) -> None:
        """Keep why the server's job ended, for the user."""

    def job_session(self) -> JobSession:
        """The server's jobs as the hub acts on them (cancel and confirm)."""


def routed_address(url: str) -> tuple[str, int] | None:
    """The host and port of a server URL (what the proxy routes to), or None."""
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return None
    return (parts.hostname, port) if parts.hostname else None


def _events_for(spawner: WatchedServer) -> Events:
    """Events that reach the spawner through a weak reference (a dropped spawner's watch
    ends: see :func:`start_watch`)."""
    ref = weakref.ref(spawner)

    def gone() -> None:
        s = ref()
        if s is not None and s.job_id:
            s.log.info("%s: its server closed the watch and refuses connections; "
                       "asking the scheduler about job %s now", s.log_name, s.job_id)  # fmt: skip
            s.job_end_hinted()

    def unreachable() -> None:
        s = ref()
        if s is not None and s.job_id:
            s.job_end_hinted()

    def lost() -> None:
        s = ref()
        if s is None or not s.job_id:
            return
        poller = s.poller()
        poller.hurry(s.job_id, seconds=20.0)
        poller.request_round()
        status_rounds.run_soon(s.poll_and_notify)()

    return Events(gone=gone, unreachable=unreachable, lost=lost)


def start_watch(spawner: WatchedServer, host: str, port: int) -> ServerWatch | None:
    """Watch ``host:port`` for ``spawner`` (replacing its old watch); None when off."""
    stop_watch(spawner)
    if not spawner.watch_server:
        return None
    watch = ServerWatch(
        host,
        port,
        _events_for(spawner),
        spawner.lost_server_timeout,
        name=f"{spawner.log_name} ({host}:{port})",
    )
    if not watch.start():
        return None
    spawner.current_watch = watch
    watch.finalizer = weakref.finalize(spawner, watch.close)
    return watch


def stop_watch(spawner: WatchedServer) -> None:
    """End the spawner's watch, if any."""
    watch = spawner.current_watch
    spawner.current_watch = None
    if watch is not None:
        watch.close()


def ensure_watch(spawner: WatchedServer) -> None:
    """A running server with no watch (after a hub restart): watch its routed address."""
    watch = spawner.current_watch
    if (watch is not None and (watch.active or watch.decided)) or not spawner.watch_server:
        return
    if spawner.stop_pending:
        return  # a stop is under way
    server = spawner.server
    host, port = getattr(server, "ip", None), getattr(server, "port", None)
    if not host or not port or host in ("0.0.0.0", "::"):
        return
    start_watch(spawner, str(host), int(port))


def lost_words(job_id: str, host: str, seconds: float) -> str:
    """Plain words for a user whose server stopped answering."""
    return (
        f"its server on {host} stopped answering for {seconds:.0f} s while batch job "
        f"{job_id} was still running; the job was cancelled."
    )


async def poll_running(spawner: WatchedServer) -> int | None:
    """JupyterHub's poll of a server whose job the scheduler lists: None while it answers
    (or the watch is off); an exit status (1) once it stayed unreachable for
    ``lost_server_timeout`` seconds while the scheduler, asked afresh, still lists the job.
    Then the user's words are recorded and the job is cancelled here: JupyterHub's stop
    polls first and calls ``stop()`` only for a server that still runs."""
    if spawner.starting:
        return None
    ensure_watch(spawner)
    watch = spawner.current_watch
    if watch is not None and watch.decided:
        await watch.told.wait()  # declared lost by a poll a moment ago: its words are kept
        return 1
    if watch is None or not watch.lost():
        return None
    fresh = await spawner.poller().status(spawner.job_id, max_age=spawner.startup_poll_interval)
    if fresh.state.finished or fresh.state is JobState.UNKNOWN:
        return None  # the rounds' listener handles an end; unknown is never "lost"
    if watch.decided:  # another poll declared it lost while this one asked: it cancels
        await watch.told.wait()
        return 1
    if not watch.lost():
        return None  # it answered while the scheduler was asked
    # decided before any await: every other poll from now on waits for its words and says
    # so, and only this one cancels the job
    watch.decided = True
    seconds = watch.unreachable_for()
    spawner.log.warning(
        "%s: its server at %s:%s has not answered for %.0f s while job %s is %s; stopping "
        "it (c.JobSpawner.lost_server_timeout = %g)",
        spawner.log_name,
        watch.host,
        watch.port,
        seconds,
        spawner.job_id,
        fresh.state.value,
        spawner.lost_server_timeout,
    )
    job_id = spawner.job_id
    metrics.server_lost(spawner)
    watch.close()
    spawner.transport_close()
    try:
        await spawner.note_job_end(fresh, lost_words(job_id, watch.host, seconds))
    finally:
        watch.told.set()
    # JupyterHub calls stop() only for a server whose poll says it runs: cancel it here
    try:
        await spawner.job_session().cancel(job_id)
    except Exception as e:  # kept in unconfirmed_cancels, retried at the next start
        spawner.log.error("%s: could not cancel job %s of the server that stopped answering: "
                          "%s", spawner.log_name, job_id, e)  # fmt: skip
    return 1


def watch_of(spawner: Any) -> ServerWatch | None:
    """The spawner's current watch (tests, the session view)."""
    watch = getattr(spawner, "current_watch", None)
    return watch if isinstance(watch, ServerWatch) else None
