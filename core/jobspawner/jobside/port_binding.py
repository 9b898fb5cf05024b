"""Which port the server in the job binds: any free port, a pinned port, or one of a range.

By default the server binds port 0 and the OS picks a free port. Sites whose compute nodes
are firewalled open a port range to the hub (``c.JobSpawner.port_range = "9000-9100"``: the
server binds the first free port of the range) or pin one port (``c.Spawner.port``). Either
way the server binds the socket itself and keeps it (no probe-then-release race), and
reports the port it got to the hub (:mod:`jobspawner.lifecycle.handshake`).

The hub passes the choice to the job in ``JOBSPAWNER_PORT`` / ``JOBSPAWNER_PORT_RANGE``.
This module runs in the job too: it imports only the standard library and tornado.
"""

from __future__ import annotations

import errno
import os
import re
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass

PORT_ENV = "JOBSPAWNER_PORT"
RANGE_ENV = "JOBSPAWNER_PORT_RANGE"
_RANGE = re.compile(r"([0-9]{1,5})-([0-9]{1,5})")
_PORT = re.compile(r"[0-9]{1,5}")

Binder = Callable[[int, "str | None"], list[socket.socket]]


class PortChoiceError(ValueError):
    """A pinned port or a port range that cannot be used, or no free port in the range."""


@dataclass(frozen=True)
class PortChoice:
    """The ports the server may bind: ``first``..``last`` inclusive; 0..0 means any."""

    first: int = 0
    last: int = 0

    @classmethod
    def from_settings(cls, port: int, port_range: str) -> PortChoice:
        """From ``c.Spawner.port`` (0: not pinned) and ``c.JobSpawner.port_range`` ("" or
        "LOW-HIGH"); a pinned port wins over a range."""
        if port:
            if not 1 <= port <= 65535:
                raise PortChoiceError(f"c.Spawner.port = {port} is not a port (1-65535)")
            return cls(port, port)
        if not port_range:
            return cls()
        match = _RANGE.fullmatch(port_range)
        if not match:
            raise PortChoiceError(
                f'c.JobSpawner.port_range = {port_range!r} is not a range such as "9000-9100"'
            )
        first, last = int(match[1]), int(match[2])
        if not 1 <= first <= last <= 65535:
            raise PortChoiceError(
                f"c.JobSpawner.port_range = {port_range!r}: the ports must be between 1 and "
                "65535, the first not above the last"
            )
        return cls(first, last)

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> PortChoice:
        """The choice the hub passed to the job (see :meth:`environment`)."""
        environ = os.environ if environ is None else environ
        pinned = environ.get(PORT_ENV, "")
        if pinned and not _PORT.fullmatch(pinned):
            raise PortChoiceError(f"{PORT_ENV}={pinned!r} is not a port number")
        return cls.from_settings(int(pinned or 0), environ.get(RANGE_ENV, ""))

    def environment(self) -> dict[str, str]:
        """The variables that pass this choice to the job (none for "any port")."""
        if not self.first:
            return {}
        if self.first == self.last:
            return {PORT_ENV: str(self.first)}
        return {RANGE_ENV: f"{self.first}-{self.last}"}

    def refusal(self, port: int) -> str | None:
        """Why the hub refuses a server's report of ``port``, or None when it may be used:
        a pinned port or a range binds the server, and a report outside it is not trusted
        (not probed, routed or watched)."""
        if not self.first or self.first <= port <= self.last:
            return None
        setting = "c.Spawner.port" if self.first == self.last else "c.JobSpawner.port_range"
        return (
            f"the job reported port {port}, but this hub accepts only {self.describe()} ({setting})"
        )

    def describe(self) -> str:
        if not self.first:
            return "any free port"
        if self.first == self.last:
            return f"port {self.first}"
        return f"a free port in {self.first}-{self.last}"


def _tornado_bind(port: int, address: str | None) -> list[socket.socket]:
    from tornado.netutil import bind_sockets

    return list(bind_sockets(port, address))


def bind(
    choice: PortChoice, address: str | None, binder: Binder = _tornado_bind
) -> list[socket.socket]:
    """Bind listening sockets as ``choice`` allows; the port is ``sockets[0]``'s.

    Raises :class:`PortChoiceError` with what to do when the pinned port is taken or the
    range has no free port.
    """
    if not choice.first:
        return binder(0, address)
    last_error: OSError | None = None
    for port in range(choice.first, choice.last + 1):
        try:
            return binder(port, address)
        except OSError as e:
            if e.errno not in (errno.EADDRINUSE, errno.EACCES):
                raise
            last_error = e
    raise PortChoiceError(
        f"jobspawner: cannot bind {choice.describe()} on this node ({last_error}); "
        "another program may hold it. Ask an administrator: the hub chooses the ports with "
        "c.Spawner.port and c.JobSpawner.port_range."
    )
