"""Scheduler commands on a login node over SSH (asyncssh), one shared connection per identity.

:class:`SSHRunner` has the interface of :class:`~jobspawner.contract.commands.CommandRunner`, so
every
backend's commands (submit, status, cancel, history, log tail, the preparation commands and
the secrets-file writer, discovery) run on the login node unchanged:

- each command is its argument list quoted for the remote POSIX shell (:func:`shlex.join`),
  run under ``env -i`` with an explicit, minimal environment: never the hub's;
- standard input (the job script, the job's secrets) travels over the SSH channel, never on a
  command line;
- every command has a timeout; a command that does not end in time is sent a KILL signal and
  its channel is closed.

:class:`SSHConnection` is one multiplexed connection per (login hosts, port, user, key),
shared by every spawner and the shared status poller of the hub process. It checks the host
key against a ``known_hosts`` file (an unknown or changed key is refused, never accepted),
sends keepalives, tries several login hosts in order and reconnects with a growing delay
after a failure, so a login node that is down costs one fast error per command instead of a
connect timeout each. Its errors name the host and the cause.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import shlex
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import asyncssh

from jobspawner.contract.commands import (
    DEFAULT_PATH,
    Command,
    CommandError,
    CommandNotFound,
    CommandResult,
    measured,
)

#: The environment every remote command starts from (``env -i``), before ``ssh_env``.
BASE_REMOTE_ENV: Mapping[str, str] = {"PATH": DEFAULT_PATH, "LANG": "C.UTF-8"}
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
#: How long a command's channel may take to close after it was killed on a timeout.
_KILL_GRACE = 2.0
#: The waits (seconds) before a session the login node refused on a live connection is asked
#: for again. sshd's MaxSessions counts a session until it has processed its close, so a
#: burst of commands right after others ended can be refused though the connection's
#: semaphore (``ssh_max_sessions``) has room; only a refusal that outlasts these is reported.
SESSION_RETRY_DELAYS = (0.1, 0.3, 1.0)


class SSHError(Exception):
    """The login node cannot be used: unreachable, host key refused, authentication refused."""


@dataclass(frozen=True)
class SSHTarget:
    """Where and as whom commands run: one shared connection per distinct target."""

    hosts: tuple[str, ...]
    port: int
    username: str
    key_file: str
    known_hosts: str
    connect_timeout: float = 10.0
    keepalive: float = 30.0
    reconnect_max_delay: float = 30.0
    #: Commands at once over the connection (sshd's MaxSessions is 10 by default).
    max_sessions: int = 8

    def label(self, host: str | None = None) -> str:
        hosts = host or ",".join(self.hosts)
        return f"{self.username}@{hosts}:{self.port}"


class SSHConnection:
    """One connection to the first login host of ``target`` that answers; reopened on loss.

    After a failed connect, commands fail at once with the same error until a delay has
    passed (1 s, doubling up to ``reconnect_max_delay``); then the next command tries again.
    """

    def __init__(self, target: SSHTarget) -> None:
        self.target = target
        self._conn: asyncssh.SSHClientConnection | None = None
        self._host: str | None = None
        self._lock = asyncio.Lock()
        self._failure: SSHError | None = None
        self._retry_at = 0.0
        self._delay = 1.0
        self.connects = 0  # how many connections were opened (tests, benchmarks)
        self._loop = asyncio.get_event_loop()
        #: commands wait here rather than be refused by the login node's MaxSessions
        self.sessions = asyncio.Semaphore(max(1, target.max_sessions))
        #: commands printing what a user controls (log reads) leave one session free for
        #: the others (status queries), with two sessions or more
        self.user_output_sessions = asyncio.Semaphore(max(1, target.max_sessions - 1))

    @property
    def host(self) -> str | None:
        """The login host of the open connection, if any."""
        return self._host if self.is_open else None

    @property
    def is_open(self) -> bool:
        return self._conn is not None and not self._conn.is_closed()

    async def connection(self) -> tuple[asyncssh.SSHClientConnection, str]:
        """The open connection and its host, connecting (in host order) when needed."""
        async with self._lock:
            if self._conn is not None and not self._conn.is_closed():
                assert self._host is not None
                return self._conn, self._host
            self._conn = None
            if self._failure is not None and time.monotonic() < self._retry_at:
                raise self._failure
            try:
                self._conn, self._host = await self._connect()
            except SSHError as e:
                self._failure = e
                self._retry_at = time.monotonic() + self._delay
                self._delay = min(self._delay * 2, max(self.target.reconnect_max_delay, 0.1))
                raise
            self._failure, self._delay = None, 1.0
            self.connects += 1
            return self._conn, self._host

    async def _connect(self) -> tuple[asyncssh.SSHClientConnection, str]:
        target = self.target
        key = _read_key(target.key_file, target.username)
        problems = []
        for host in target.hosts:
            try:
                conn = await asyncio.wait_for(
                    asyncssh.connect(
                        host,
                        target.port,
                        username=target.username,
                        client_keys=[key],
                        known_hosts=target.known_hosts,
                        agent_path=None,
                        agent_forwarding=False,
                        config=None,
                        password=None,
                        kbdint_auth=False,
                        gss_auth=False,
                        x509_trusted_certs=None,
                        keepalive_interval=target.keepalive,
                        keepalive_count_max=3,
                        login_timeout=target.connect_timeout,
                    ),
                    target.connect_timeout,
                )
            except Exception as e:
                problems.append(_describe_connect_error(target, host, e))
                continue
            return conn, host
        raise SSHError("; ".join(problems))

    def mark_broken(self) -> None:
        """Forget the connection (it failed under a command); the next command reconnects."""
        conn, self._conn = self._conn, None
        if conn is not None and not self._loop.is_closed():
            conn.close()

    def close(self) -> None:
        self.mark_broken()

    async def forward(
        self, dest_host: str, dest_port: int, listen_port: int = 0
    ) -> asyncssh.SSHListener:
        """A local port on 127.0.0.1 forwarded through the login node to dest_host:dest_port."""
        conn, host = await self.connection()
        try:
            return await conn.forward_local_port("127.0.0.1", listen_port, dest_host, dest_port)
        except (OSError, asyncssh.Error) as e:
            raise SSHError(
                f"cannot forward 127.0.0.1:{listen_port or 'any'} through "
                f"{self.target.label(host)} to {dest_host}:{dest_port}: {e}"
            ) from e


def _read_key(path: str, username: str) -> asyncssh.SSHKey:
    try:
        return asyncssh.read_private_key(path)
    except (OSError, asyncssh.KeyImportError) as e:
        raise SSHError(
            f"cannot use the SSH key {path} for {username}: {e}. Create it (no passphrase, "
            "readable by the hub only) and add its public key to the account's "
            "authorized_keys on the login node"
        ) from e


def _describe_connect_error(target: SSHTarget, host: str, e: Exception) -> str:
    where = target.label(host)
    if isinstance(e, asyncssh.HostKeyNotVerifiable):
        return (
            f"{where}: host key refused ({e}); the login node's key is not the one "
            f"{target.known_hosts} lists for [{host}]:{target.port}. If the node's key "
            "really changed, update that file"
        )
    if isinstance(e, asyncssh.PermissionDenied):
        return (
            f"{where}: authentication refused with the key {target.key_file}; check that its "
            "public key is in the account's authorized_keys on the login node"
        )
    if isinstance(e, asyncio.TimeoutError):
        return f"{where}: no answer within {target.connect_timeout:g} s (unreachable?)"
    if isinstance(e, OSError):
        return f"{where}: unreachable ({e.strerror or e})"
    if isinstance(e, asyncssh.Error):
        return f"{where}: the SSH connection failed ({e.reason})"
    return f"{where}: the SSH connection failed ({type(e).__name__}: {e})"


# --- the shared connections ---------------------------------------------------------------
_connections: dict[tuple[int, SSHTarget], SSHConnection] = {}


def shared_connection(target: SSHTarget) -> SSHConnection:
    """The hub process's connection for ``target`` (one per event loop)."""
    loop = asyncio.get_event_loop()
    key = (id(loop), target)
    conn = _connections.get(key)
    if conn is None:
        conn = _connections[key] = SSHConnection(target)
    return conn


def close_all() -> None:
    """Close every shared connection (tests; a hub closes them on exit)."""
    for conn in _connections.values():
        conn.close()
    _connections.clear()


# --- the runner ----------------------------------------------------------------------------
def remote_command_line(argv: Sequence[str], env: Mapping[str, str]) -> str:
    """The command line the login node's shell runs: ``env -i NAME=value ... argv``.

    Every word is quoted for a POSIX shell; names are checked, values may not hold NUL.
    """
    words = ["env", "-i"]
    for name, value in env.items():
        if not _ENV_NAME.fullmatch(name) or "\0" in value:
            raise ValueError(f"environment variable {name!r} cannot be passed to a login node")
        words.append(f"{name}={value}")
    return shlex.join([*words, *argv])


class SSHRunner:
    """Runs :class:`Command` values on a login node; the interface of ``CommandRunner``.

    ``prefix`` (the formatted ``exec_prefix``, e.g. ``sudo -u alice``) runs on the login node
    too. ``env`` is added to :data:`BASE_REMOTE_ENV`; a command's own ``env`` wins.
    """

    remote = True

    def __init__(
        self,
        connection: SSHConnection,
        prefix: Sequence[str] = (),
        timeout: float = 30.0,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.connection = connection
        self.prefix = tuple(prefix)
        self.timeout = timeout
        self.env = dict(env or {})

    @property
    def identity(self) -> str:
        """The login account, its key and host, and the exec prefix: whom commands run as."""
        target = self.connection.target
        return f"ssh:{target.label()}:{target.key_file}:{shlex.join(self.prefix)}"

    def full_argv(self, command: Command) -> list[str]:
        return [*self.prefix, *command.argv]

    def command_line(self, command: Command) -> str:
        env = {**BASE_REMOTE_ENV, **self.env, **command.env}
        return remote_command_line(self.full_argv(command), env)

    async def run(self, command: Command, check: bool = True) -> CommandResult:
        """Run ``command`` remotely; with ``check`` a non-zero exit raises CommandError."""
        return await measured(command, self._run(command, check))

    async def _run(self, command: Command, check: bool) -> CommandResult:
        line = self.command_line(command)
        timeout = command.timeout if command.timeout is not None else self.timeout
        user_output = self.connection.user_output_sessions
        async with user_output if command.user_output else contextlib.nullcontext():
            return await self._run_in_session(command, line, timeout, check)

    async def _run_in_session(
        self, command: Command, line: str, timeout: float, check: bool
    ) -> CommandResult:
        async with self.connection.sessions:
            process, host = await self._open(command, line)
            try:
                result = await self._finish(command, process, host, timeout)
            finally:
                process.close()
        if result.returncode == 127 and "env: " in result.stderr:
            raise CommandNotFound(
                command,
                127,
                result.stdout,
                result.stderr,
                problem=f"could not start on {host}: `{command.argv[0]}` is not on the login "
                "node's PATH (set c.JobSpawner.ssh_env PATH, or the full path in the backend "
                "options)",
            )
        if check and not result.ok:
            raise CommandError.from_result(result)
        return result

    async def _open(self, command: Command, line: str) -> tuple[Any, str]:
        """Open the command's channel. A stale connection is reopened once, and a session
        the node refused is asked for again after each of :data:`SESSION_RETRY_DELAYS`
        (nothing ran in either case)."""
        waits = iter(SESSION_RETRY_DELAYS)
        reopened = False
        while True:
            try:
                conn, host = await self.connection.connection()
            except SSHError as e:
                raise CommandError(command, None, problem=f"could not run over SSH: {e}") from None
            try:
                process = await conn.create_process(
                    line,
                    encoding="utf-8",
                    errors="replace",
                    stdin=asyncssh.PIPE,
                )
            except (asyncssh.Error, OSError) as e:
                if not conn.is_closed():  # the node refused this session, not the connection
                    wait = next(waits, None)
                    if wait is not None:
                        await asyncio.sleep(wait)
                        continue
                    raise CommandError(
                        command,
                        None,
                        problem=f"could not open a session on {self.connection.target.label(host)}"
                        f": {e} (is c.JobSpawner.ssh_max_sessions above the node's MaxSessions?)",
                    ) from None
                self.connection.mark_broken()
                if not reopened:
                    reopened = True
                    continue
                raise CommandError(
                    command,
                    None,
                    problem=f"could not run on {self.connection.target.label(host)}: {e}",
                ) from None
            return process, host

    async def _finish(
        self, command: Command, process: Any, host: str, timeout: float
    ) -> CommandResult:
        where = self.connection.target.label(host)
        output = _RemoteOutput(command.output_limit)
        try:
            if command.stdin is not None:
                process.stdin.write(command.stdin)
            process.stdin.write_eof()
            await asyncio.wait_for(output.collect(process), timeout)
        except asyncio.TimeoutError:
            await _kill(process)
            raise CommandError(
                command,
                None,
                output.out,
                output.err,
                problem=f"timed out after {timeout:g} s on {where} (killed)",
            ) from None
        except (asyncssh.Error, OSError, BrokenPipeError) as e:
            self.connection.mark_broken()
            raise CommandError(
                command,
                None,
                problem=f"lost the SSH connection to {where} while it ran ({e}); whether it "
                "took effect is unknown",
            ) from None
        except asyncio.CancelledError:
            await _kill(process)
            raise
        if output.over:
            await _kill(process)
            raise CommandError(
                command,
                None,
                output.out,
                output.err,
                problem=f"printed more than {output.limit} bytes on a stream on {where}, so "
                "it was stopped (killed)",
            )
        if process.exit_status is None:
            self.connection.mark_broken()
            exit_signal = process.exit_signal
            signal = f"signal {exit_signal[0]}" if exit_signal else "no exit status"
            raise CommandError(
                command,
                None,
                output.out,
                output.err,
                problem=f"ended on {where} without an exit status ({signal}); the SSH "
                "connection was probably lost",
            )
        return CommandResult(command, int(process.exit_status), output.out, output.err)


class _RemoteOutput:
    """A remote command's standard output and error, each read up to ``limit`` bytes."""

    def __init__(self, limit: int) -> None:
        self.limit = max(0, limit)
        self._chunks: dict[str, list[str]] = {"out": [], "err": []}
        self.over = False

    @property
    def out(self) -> str:
        return "".join(self._chunks["out"])

    @property
    def err(self) -> str:
        return "".join(self._chunks["err"])

    async def collect(self, process: Any) -> None:
        """Read both streams to their end (or the limit), then wait for the channel's end."""
        await asyncio.gather(
            self._read(process, process.stdout, "out"), self._read(process, process.stderr, "err")
        )
        if not self.over:
            await process.wait_closed()

    async def _read(self, process: Any, stream: Any, name: str) -> None:
        size = 0
        while not self.over:
            data = str(await stream.read(65536))
            if not data:
                return
            raw = data.encode("utf-8", "replace")
            if size + len(raw) > self.limit:
                data = raw[: self.limit - size].decode("utf-8", "ignore")
                self.over = True
                await _kill(process)  # so the other stream ends too
            size += len(raw)
            self._chunks[name].append(data)


async def _kill(process: Any) -> None:
    """Stop a remote command: a KILL signal (OpenSSH >= 7.9 honours it), then close."""
    with contextlib.suppress(asyncssh.Error, OSError):
        process.send_signal("KILL")
    process.close()
    with contextlib.suppress(asyncio.TimeoutError, asyncssh.Error, OSError):
        await asyncio.wait_for(process.wait_closed(), _KILL_GRACE)
