"""pytest fixtures of the SSH transport (import them where a test needs a login node)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator

import pytest
from harness.jobenv import ensure_jobenv
from harness.strict import need, need_root
from harness.users import ensure_users
from jobspawner.transport import ssh
from remote.netns import NetNamespace, netns_available
from remote.sshd import SSHServer, sshd_available
from remote.sudoers import (
    SERVICE,
    ensure_service_account,
    installed_sudoers,
    sudo_available,
    sudoers_rule,
)


@contextlib.contextmanager
def running_sshd(extra: str = "") -> Iterator[SSHServer]:
    """A running sshd on a loopback port that lets alice and bob log in with test keys
    (``extra``: more sshd_config lines); every shared connection is closed after it."""
    need_root()
    need(sshd_available(), "needs /usr/sbin/sshd (Debian's openssh-server: .ci/install-ssh.sh)")
    ensure_users()
    server = SSHServer(extra=extra)
    server.start()
    try:
        yield server
    finally:
        ssh.close_all()
        server.cleanup()


@pytest.fixture
def sshd() -> Iterator[SSHServer]:
    """A running sshd on a loopback port that lets alice and bob log in with test keys."""
    with running_sshd() as server:
        yield server


@pytest.fixture
def netns_sshd() -> Iterator[tuple[NetNamespace, SSHServer]]:
    """A login node in its own network namespace: sshd on the namespace's veth address,
    which the hub reaches; whatever else listens in there (the jobs) it cannot reach."""
    need_root()
    need(sshd_available(), "needs /usr/sbin/sshd (Debian's openssh-server: .ci/install-ssh.sh)")
    need(netns_available(), "needs `ip netns` (iproute2, root: .ci/install-ssh2.sh)")
    ensure_users()
    ns = NetNamespace()
    server: SSHServer | None = None
    try:
        ns.create()
        server = SSHServer(address=ns.inner, netns=ns.name)
        server.start()
        yield ns, server
    finally:
        ssh.close_all()
        if server is not None:
            server.cleanup()
        ns.delete()


@pytest.fixture
def hub_account_sshd() -> Iterator[SSHServer]:
    """A login node where only the hub's account (``SERVICE``) logs in, with a sudoers
    drop-in letting it run the local backend's and the core's commands as alice and bob."""
    need_root()
    need(sshd_available(), "needs /usr/sbin/sshd (Debian's openssh-server: .ci/install-ssh.sh)")
    need(sudo_available(), "needs sudo and visudo (Debian's sudo: .ci/install-ssh2.sh)")
    ensure_users()
    ensure_service_account()
    python = str(ensure_jobenv() / "bin" / "python")
    server = SSHServer(users=(SERVICE,))
    try:
        with installed_sudoers(sudoers_rule(python)):
            server.start()
            yield server
    finally:
        ssh.close_all()
        server.cleanup()


@pytest.fixture(autouse=True)
async def fresh_ssh_connections() -> AsyncIterator[None]:
    """Each test opens its own connections (the shared ones belong to one event loop)."""
    yield
    ssh.close_all()
