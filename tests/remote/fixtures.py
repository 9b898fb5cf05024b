"""pytest fixtures of the SSH transport (import them where a test needs a login node)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from harness.strict import need, need_root
from harness.users import ensure_users
from jobspawner import ssh
from remote.sshd import SSHServer, sshd_available


@pytest.fixture
def sshd() -> Iterator[SSHServer]:
    """A running sshd on a loopback port that lets alice and bob log in with test keys."""
    need_root()
    need(sshd_available(), "needs /usr/sbin/sshd (Debian's openssh-server: .ci/install-ssh.sh)")
    ensure_users()
    server = SSHServer()
    server.start()
    try:
        yield server
    finally:
        ssh.close_all()
        server.cleanup()


@pytest.fixture(autouse=True)
async def fresh_ssh_connections() -> AsyncIterator[None]:
    """Each test opens its own connections (the shared ones belong to one event loop)."""
    yield
    ssh.close_all()
