"""Proxy routes through an SSH port forward, for a hub that cannot reach the compute nodes.

With ``c.JobSpawner.ssh_forward_port = True`` (and the SSH transport) the hub opens a local
port on 127.0.0.1 forwarded through the login node's SSH connection to the job's host and
port, once the server reported its port and its host passed the routing checks. The spawner
returns ``http://127.0.0.1:<local port>``: the proxy and the hub's server check use the
forward. The forward is closed when the server stops, and reopened on the same local port
from the spawner's state after a hub restart (at the first poll) or a lost connection.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from jobspawner.transport.ssh import SSHConnection, SSHError


@dataclass
class Forward:
    """One open forward: 127.0.0.1:local_port -> dest_host:dest_port via ``connection``."""

    connection: SSHConnection
    listener: Any
    dest_host: str
    dest_port: int
    local_port: int

    @property
    def alive(self) -> bool:
        return self.connection.is_open

    def close(self) -> None:
        self.listener.close()

    def state(self) -> list[Any]:
        return [self.dest_host, self.dest_port, self.local_port]


#: The hub process's forwards, by spawner (user name, server name) and event loop.
_forwards: dict[tuple[int, str, str], Forward] = {}


def _key(user: str, server: str) -> tuple[int, str, str]:
    return (id(asyncio.get_event_loop()), user, server)


def current(user: str, server: str) -> Forward | None:
    return _forwards.get(_key(user, server))


async def open_forward(
    connection: SSHConnection,
    user: str,
    server: str,
    dest_host: str,
    dest_port: int,
    local_port: int = 0,
) -> Forward:
    """Open (or reuse) the spawner's forward to dest_host:dest_port."""
    key = _key(user, server)
    existing = _forwards.get(key)
    if existing is not None:
        if existing.alive and (existing.dest_host, existing.dest_port) == (dest_host, dest_port):
            return existing
        existing.close()
        del _forwards[key]
    listener = await connection.forward(dest_host, dest_port, local_port)
    forward = Forward(connection, listener, dest_host, dest_port, int(listener.get_port()))
    _forwards[key] = forward
    return forward


def close_forward(user: str, server: str) -> bool:
    """Close the spawner's forward; whether there was one."""
    forward = _forwards.pop(_key(user, server), None)
    if forward is None:
        return False
    forward.close()
    return True


async def restore(connection: SSHConnection, user: str, server: str, saved: Any) -> Forward | None:
    """Reopen a forward saved in the state (``[host, port, local port]``) if it is not open.

    Raises :class:`~jobspawner.transport.ssh.SSHError` when the login node cannot be reached.
    """
    if not (isinstance(saved, list) and len(saved) == 3):
        return None
    host, port, local_port = str(saved[0]), int(saved[1]), int(saved[2])
    forward = current(user, server)
    if forward is not None and forward.alive:
        return forward
    return await open_forward(connection, user, server, host, port, local_port)


__all__ = ["Forward", "SSHError", "close_forward", "current", "open_forward", "restore"]
