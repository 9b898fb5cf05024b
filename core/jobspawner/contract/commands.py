"""Commands as data, and the asynchronous runner that executes them.

Backends never run anything: they return :class:`Command` values (an argument list, optional
standard input, extra environment) and parse :class:`CommandResult` values. The core runs
them with :class:`CommandRunner`: always as argument lists (never through a shell), always
with a timeout, optionally behind an ``exec_prefix`` such as ``sudo -E -u {username}``.

Commands never inherit the hub's environment, which holds secrets that own every user (the
proxy's auth token, the cookie secret, the crypt key, service tokens) and which ``sudo -E``
or ``runuser`` would hand on to processes the user can read in ``/proc``. Each command gets
:func:`command_environment`: ``PATH``, the locale, the schedulers' own configuration
variables, the names a site adds (``c.JobSpawner.command_env_keep``) and what the command
itself sets. Commands run from a fixed working folder (``/``), never the hub's.
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import functools
import logging
import os
import re
import shlex
import shutil
import signal
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field

#: Names of the hub's environment every command keeps (shell patterns): the search path, the
#: locale and time zone, and the configuration variables of the schedulers jobspawner ships
#: backends for (their clients need them; none of them is a secret).
BASE_ENV_KEEP: tuple[str, ...] = (
    "PATH",
    "LANG",
    "LANGUAGE",
    "LC_*",
    "TZ",
    "SLURM_CONF",
    "SGE_ROOT",
    "SGE_CELL",
    "SGE_QMASTER_PORT",
    "SGE_EXECD_PORT",
    "LSF_ENVDIR",
    "LSF_SERVERDIR",
    "LSF_BINDIR",
    "LSF_LIBDIR",
    "CONDOR_CONFIG",
    "PBS_CONF_FILE",
    "PBS_SERVER",
    "MOABHOMEDIR",
)
#: Used when the hub itself has no PATH.
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#: The working folder of every command.
COMMAND_CWD = "/"
#: Bytes a command may print on each of its standard output and error (a status query of
#: a whole cluster prints a few MB); a command printing more is stopped and fails.
MAX_OUTPUT = 64 * 1024 * 1024


def command_environment(
    keep: Sequence[str] = (), source: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The environment a command starts from: only the allowed names of ``source``.

    ``source`` is the hub's environment (``os.environ``); ``keep`` adds names or shell
    patterns (``MYSITE_*``) to :data:`BASE_ENV_KEEP`.
    """
    source = os.environ if source is None else source
    allowed = _name_matcher((*BASE_ENV_KEEP, *keep))
    env = {name: value for name, value in source.items() if allowed(name)}
    env.setdefault("PATH", DEFAULT_PATH)
    return env


@functools.lru_cache(maxsize=64)
def _name_matcher(patterns: tuple[str, ...]) -> Callable[[str], object]:
    """One compiled test for "the name matches one of these shell patterns" (what
    ``fnmatch.fnmatchcase`` tests one pattern at a time): every command builds its
    environment, so the patterns are compiled once."""
    return re.compile("|".join(fnmatch.translate(p) for p in patterns)).match


@dataclass(frozen=True)
class Command:
    """One command to run: ``argv[0]`` is looked up on PATH, nothing goes through a shell."""

    argv: tuple[str, ...]
    stdin: str | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    #: Overrides the runner's default timeout (seconds) for this command.
    timeout: float | None = None
    #: Overrides :data:`MAX_OUTPUT`: bytes the command may print on each of its standard
    #: output and error before the runner stops it.
    max_output: int | None = None
    #: The command prints what a user controls (a job's log): over SSH it never takes the
    #: connection's last session (:class:`jobspawner.transport.ssh.SSHConnection`).
    user_output: bool = False

    def __init__(
        self,
        argv: Sequence[str],
        stdin: str | None = None,
        env: Mapping[str, str] | None = None,
        timeout: float | None = None,
        max_output: int | None = None,
        user_output: bool = False,
    ) -> None:
        if isinstance(argv, str):
            raise TypeError("Command argv must be a sequence of arguments, not a string")
        if not argv:
            raise ValueError("Command argv must not be empty")
        object.__setattr__(self, "argv", tuple(str(a) for a in argv))
        object.__setattr__(self, "stdin", stdin)
        object.__setattr__(self, "env", dict(env or {}))
        object.__setattr__(self, "timeout", timeout)
        object.__setattr__(self, "max_output", max_output)
        object.__setattr__(self, "user_output", user_output)

    @property
    def output_limit(self) -> int:
        """Bytes the command may print on each stream (:data:`MAX_OUTPUT` unless set)."""
        return self.max_output if self.max_output is not None else MAX_OUTPUT

    def __str__(self) -> str:
        return shlex.join(self.argv)


@dataclass(frozen=True)
class CommandResult:
    """What a finished command returned."""

    command: Command
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0


class CommandError(RuntimeError):
    """A command failed, timed out or could not be started.

    The message shows the command line, the exit code, and the tails of stdout and stderr,
    so an admin reading the hub log sees what the scheduler said.
    """

    def __init__(
        self,
        command: Command,
        returncode: int | None,
        stdout: str = "",
        stderr: str = "",
        problem: str | None = None,
    ) -> None:
        self.command = command
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        self.problem = problem or f"exited with status {returncode}"
        super().__init__(self._message())

    def _message(self) -> str:
        parts = [f"command `{self.command}` {self.problem}"]
        if self.stdout.strip():
            parts.append(f"stdout: {_tail(self.stdout)}")
        if self.stderr.strip():
            parts.append(f"stderr: {_tail(self.stderr)}")
        return "; ".join(parts)

    @classmethod
    def from_result(cls, result: CommandResult, problem: str | None = None) -> CommandError:
        return cls(result.command, result.returncode, result.stdout, result.stderr, problem)


class CommandNotFound(CommandError):
    """The program of a command is not installed (or not on PATH) where it runs."""


def _tail(text: str, limit: int = 2000) -> str:
    text = text.strip()
    return text if len(text) <= limit else "..." + text[-limit:]


#: What measures a run: the command and the awaitable of its run, in; its result, out.
CommandTimer = Callable[["Command", Awaitable["CommandResult"]], Awaitable["CommandResult"]]

_timer: CommandTimer | None = None


def measure_commands_with(timer: CommandTimer | None) -> None:
    """Have every runner's command measured by ``timer`` (the hub's metrics set it when they
    load; the job side and the admin commands run unmeasured). The contract stays below the
    metrics: they register here, nothing here imports them."""
    global _timer
    _timer = timer


async def measured(command: Command, run: Awaitable[CommandResult]) -> CommandResult:
    """Await ``run`` (a runner's run of ``command``), through the registered timer if any."""
    if _timer is None:
        return await run
    return await _timer(command, run)


class CommandRunner:
    """Runs :class:`Command` values asynchronously, with a timeout and an exec prefix.

    ``prefix`` is a list of arguments placed before every command (already formatted for the
    user, e.g. ``["sudo", "-E", "-u", "alice"]``). Every command starts from
    :func:`command_environment` (``env_keep`` adds names of the hub's environment to keep);
    ``env`` is added to it, and a command's own ``env`` wins.
    """

    #: Commands run on the hub host (the SSH transport's runner says True).
    remote = False

    def __init__(
        self,
        prefix: Sequence[str] = (),
        timeout: float = 30.0,
        env: Mapping[str, str] | None = None,
        env_keep: Sequence[str] = (),
        log: logging.Logger | logging.LoggerAdapter[logging.Logger] | None = None,
    ) -> None:
        self.log = log or logging.getLogger("jobspawner.contract.commands")
        self.prefix = tuple(prefix)
        self.timeout = timeout
        self.env = dict(env or {})
        self.env_keep = tuple(env_keep)

    @property
    def identity(self) -> str:
        """The hub's own account and the exec prefix: whom commands run as."""
        return f"local:{os.geteuid()}:{shlex.join(self.prefix)}"

    def full_argv(self, command: Command) -> list[str]:
        return [*self.prefix, *command.argv]

    async def run(self, command: Command, check: bool = True) -> CommandResult:
        """Run ``command``; with ``check`` a non-zero exit raises :class:`CommandError`.

        It is stopped (its process group killed) when it runs longer than its timeout or
        prints more than :attr:`Command.output_limit` bytes on a stream; both fail.
        """
        return await measured(command, self._run(command, check))

    async def _run(self, command: Command, check: bool) -> CommandResult:
        argv = self.full_argv(command)
        env = {**command_environment(self.env_keep), **self.env, **command.env}
        timeout = command.timeout if command.timeout is not None else self.timeout
        debug = self.log.isEnabledFor(logging.DEBUG)
        if debug:  # a status round's argument lists every job: joined only when logged
            self.log.debug("jobspawner: running %s", shlex.join(argv))
        if shutil.which(argv[0], path=env.get("PATH")) is None and not os.path.isabs(argv[0]):
            raise CommandNotFound(
                command,
                None,
                problem=(
                    f"could not start: `{argv[0]}` is not on PATH ({env.get('PATH', '')}). "
                    "Install it on the hub host, or set the full path in the backend options"
                ),
            )
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.PIPE
                if command.stdin is not None
                else asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env=env,
                cwd=COMMAND_CWD,
                start_new_session=True,
            )
        except FileNotFoundError as e:
            raise CommandNotFound(command, None, problem=f"could not start: {e}") from e
        except OSError as e:
            raise CommandError(command, None, problem=f"could not start: {e}") from e
        stdin = command.stdin.encode() if command.stdin is not None else None
        output = _Output(command.output_limit)

        async def stopped(problem: str) -> CommandError:
            """Kill the command's process group; the error with what it printed so far."""
            _kill_group(proc.pid)
            await proc.wait()
            out, err = output.text(output.out), output.text(output.err)
            return CommandError(command, proc.returncode, out, err, problem=problem)

        try:
            await asyncio.wait_for(output.collect(proc, stdin), timeout)
        except asyncio.TimeoutError:
            raise await stopped(f"timed out after {timeout:g} s") from None
        except asyncio.CancelledError:
            _kill_group(proc.pid)
            raise
        if output.over:
            raise await stopped(
                f"printed more than {output.limit} bytes on a stream, so it was stopped"
            )
        out, err = bytes(output.out), bytes(output.err)
        result = CommandResult(
            command,
            proc.returncode or 0,
            out.decode(errors="replace"),
            err.decode(errors="replace"),
        )
        if debug:
            self.log.debug(
                "jobspawner: `%s` exited %s%s",
                shlex.join(argv),
                result.returncode,
                f"; stderr: {_tail(result.stderr, 500)}" if result.stderr.strip() else "",
            )
        if check and not result.ok:
            raise CommandError.from_result(result)
        return result


class _Output:
    """A command's standard output and error, each read up to ``limit`` bytes."""

    def __init__(self, limit: int) -> None:
        self.limit = max(0, limit)
        self.out = bytearray()
        self.err = bytearray()
        self.over = False
        self.pid = 0

    async def collect(self, proc: asyncio.subprocess.Process, stdin: bytes | None) -> None:
        """Feed ``stdin``, read both streams to their end or the limit, wait for the exit."""
        assert proc.stdout is not None and proc.stderr is not None
        self.pid = proc.pid
        await asyncio.gather(
            self._feed(proc, stdin),
            self._read(proc.stdout, self.out),
            self._read(proc.stderr, self.err),
        )
        if not self.over:
            await proc.wait()

    @staticmethod
    async def _feed(proc: asyncio.subprocess.Process, stdin: bytes | None) -> None:
        if proc.stdin is None:
            return
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            if stdin:
                proc.stdin.write(stdin)
                await proc.stdin.drain()
            proc.stdin.close()

    async def _read(self, stream: asyncio.StreamReader, into: bytearray) -> None:
        while not self.over:
            data = await stream.read(65536)
            if not data:
                return
            room = self.limit - len(into)
            into += data[: max(0, room)]
            if len(data) > room:
                self.over = True
                _kill_group(self.pid)  # so the other stream ends too

    @staticmethod
    def text(data: bytearray) -> str:
        return bytes(data).decode(errors="replace")


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
