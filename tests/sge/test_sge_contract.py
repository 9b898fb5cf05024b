"""The sge backend passes the backend contract of ``jobspawner.testing`` (a real cell).

Run under ``flock /tmp/jobspawner-cluster.lock`` (the cell's daemons are shared).
"""

from __future__ import annotations

import pytest
from jobspawner.testing import BackendContract, Target

from sge.cluster import SgeCluster
from sge.sgekit import OPTIONS, SGE_CELL, SGE_ROOT

#: ``qmod -sj`` suspends a running job; its owner may (the cell's environment given).
SUSPEND = ("env", f"SGE_ROOT={SGE_ROOT}", f"SGE_CELL={SGE_CELL}", "qmod", "-sj")


@pytest.fixture
def jobspawner_target(sge: SgeCluster, user_dir: str) -> Target:
    return Target(
        backend="sge",
        logs=user_dir,
        options=OPTIONS,
        prefix=("runuser", "-u", "alice", "--"),
        timeout=30,
        patience=40,
        hold=lambda job_id: [*SUSPEND, job_id],
        other_prefix=("runuser", "-u", "bob", "--"),
    )


class TestSgeContract(BackendContract):
    """Every contract test, on the Grid Engine test cell (jobs as alice; the suspended job,
    with its host, is tested here, no longer in test_sge_integration)."""
