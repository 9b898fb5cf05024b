"""Helpers of the SSH transport tests: runners and contexts over the test sshd."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from jobspawner.contract.context import BackendContext
from jobspawner.facade.backend import Backend
from jobspawner.transport.ssh import SSHConnection, SSHRunner, SSHTarget, shared_connection
from remote.sshd import SSHServer


def target(
    server: SSHServer,
    user: str = "alice",
    key: str | None = None,
    known_hosts: str | None = None,
    hosts: Sequence[str] = ("127.0.0.1",),
    **kw: float,
) -> SSHTarget:
    return SSHTarget(
        hosts=tuple(hosts),
        port=server.port,
        username=user,
        key_file=key or server.key(user),
        known_hosts=known_hosts or str(server.known_hosts),
        connect_timeout=kw.get("connect_timeout", 5.0),
        keepalive=kw.get("keepalive", 5.0),
        reconnect_max_delay=kw.get("reconnect_max_delay", 0.5),
        max_sessions=int(kw.get("max_sessions", 8)),
    )


def runner(
    server: SSHServer,
    user: str = "alice",
    timeout: float = 20.0,
    env: Mapping[str, str] | None = None,
    **kw: float,
) -> SSHRunner:
    return SSHRunner(shared_connection(target(server, user, **kw)), timeout=timeout, env=env)


def connection(server: SSHServer, user: str = "alice") -> SSHConnection:
    return shared_connection(target(server, user))


def ssh_context(
    server: SSHServer,
    backend: Backend,
    user: str = "alice",
    options: Mapping[str, object] | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 30.0,
) -> BackendContext:
    """A backend context whose commands all run as ``user`` on the test sshd."""
    return BackendContext(
        backend=backend,
        runner=runner(server, user, timeout=timeout, env=env),
        query_runner=runner(server, user, timeout=timeout, env=env),
        options=dict(options or {}),
        username=user,
    )


def hub_config(sshd: SSHServer, extra: str = "") -> str:
    """A hub's jobspawner settings whose commands all run on ``sshd`` as the user (her key)."""
    return f"""
c.JobSpawner.exec_prefix = []
c.JobSpawner.transport = "ssh"
c.JobSpawner.ssh_hosts = [{sshd.address!r}]
c.JobSpawner.ssh_port = {sshd.port}
c.JobSpawner.ssh_known_hosts = {str(sshd.known_hosts)!r}
c.JobSpawner.ssh_username = "{{username}}"
c.JobSpawner.ssh_key_file = {sshd.key_template()!r}
c.JobSpawner.ssh_reconnect_max_delay = 1.0
c.JobSpawner.start_timeout = 60
{extra}
"""
