"""The Grid Engine backend passes the whole backend contract with every command on a login
node over SSH (a real OpenSSH server on loopback, as alice with her key; the real cell).

Run under ``flock /tmp/jobspawner-cluster.lock`` (the cell's daemons are shared).
"""

from __future__ import annotations

import pytest
from jobspawner.testing import BackendContract
from remote.contract_target import SSHTarget
from remote.fixtures import fresh_ssh_connections, sshd
from remote.sshd import SSHServer

from sge.cluster import SgeCluster
from sge.sgekit import OPTIONS
from sge.test_sge_contract import SUSPEND

pytestmark = [pytest.mark.scheduler("sge"), pytest.mark.root, pytest.mark.timeout(240)]
__all__ = ["fresh_ssh_connections", "sshd"]


@pytest.fixture
def jobspawner_target(sge: SgeCluster, user_dir: str, sshd: SSHServer) -> SSHTarget:
    return SSHTarget(
        backend="sge",
        logs=user_dir,
        options=OPTIONS,
        timeout=30,
        patience=40,
        hold=lambda job_id: [*SUSPEND, job_id],
        other_prefix=("runuser", "-u", "bob", "--"),
        server=sshd,
    )


class TestSgeContractOverSSH(BackendContract):
    """Every contract test, with the SSH transport in between."""
