"""The slurm backend passes the backend contract of ``jobspawner.testing`` (real Slurm)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest
from jobspawner.testing import BackendContract, Target

LOGS = "/home/alice/.jobspawner-contract"


@pytest.fixture
def jobspawner_target(clean_queue: object) -> Iterator[Target]:
    yield Target(
        backend="slurm",
        logs=LOGS,
        prefix=("runuser", "-u", "alice", "--"),
        timeout=30,
        patience=40,
        # a running job cannot be held by its user (scontrol hold acts on pending jobs
        # only): an operator suspends it, root here
        hold=lambda job_id: ["scontrol", "suspend", job_id],
        hold_prefix=(),
        other_prefix=("runuser", "-u", "bob", "--"),
    )
    shutil.rmtree(LOGS, ignore_errors=True)


class TestSlurmContract(BackendContract):
    """Every contract test, on the test cluster (jobs as alice)."""
