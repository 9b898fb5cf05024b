"""Fixtures: a real sshd on a loopback port (tests/remote/sshd.py) and shared-connection reset."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from harness.strict import need, need_root
from harness.users import ensure_users

from jobspawner import ssh

from remote.sshd import SSHServer, sshd_available


@pytest.fixture
def sshd() -> Iterator[SSHServer]:
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
async def _fresh_connections() -> AsyncIterator[None]:
    yield
    ssh.close_all()
