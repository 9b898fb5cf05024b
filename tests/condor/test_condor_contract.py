"""The condor backend passes the backend contract of ``jobspawner.testing`` (emulated pool)."""

from __future__ import annotations

import pytest
from condor.condorkit import Pool
from jobspawner.testing import BackendContract, Target


@pytest.fixture
def jobspawner_target(pool: Pool) -> Target:
    return Target(
        backend="condor",
        logs=f"{pool.jobs}/alice-logs",
        prefix=("runuser", "-u", "alice", "--"),
        command_env_keep=("CONDOR_EMU_*",),
        timeout=20,
        patience=20,
        hold=lambda job_id: ["condor_hold", job_id],
        other_prefix=("runuser", "-u", "bob", "--"),
    )


class TestCondorContract(BackendContract):
    """Every contract test, on the HTCondor emulator."""
