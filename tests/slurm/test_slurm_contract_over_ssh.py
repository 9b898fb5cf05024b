"""The Slurm backend passes the whole backend contract with every command on a login node
over SSH (a real OpenSSH server on loopback, as alice with her key; the real test cluster)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest
from jobspawner.testing import BackendContract
from remote.contract_target import SSHTarget
from remote.fixtures import fresh_ssh_connections, sshd
from remote.sshd import SSHServer
from slurm.cluster import login_env

pytestmark = [pytest.mark.scheduler("slurm"), pytest.mark.root, pytest.mark.timeout(240)]
__all__ = ["fresh_ssh_connections", "sshd"]

LOGS = "/home/alice/.jobspawner-contract-ssh"


@pytest.fixture
def jobspawner_target(clean_queue: object, sshd: SSHServer) -> Iterator[SSHTarget]:
    yield SSHTarget(
        backend="slurm",
        logs=LOGS,
        timeout=30,
        patience=40,
        hold=lambda job_id: ["scontrol", "suspend", job_id],  # an operator's (root here)
        hold_prefix=(),
        other_prefix=("runuser", "-u", "bob", "--"),
        server=sshd,
        env=login_env(),
    )
    shutil.rmtree(LOGS, ignore_errors=True)


class TestSlurmContractOverSSH(BackendContract):
    """Every contract test, with the SSH transport in between."""
