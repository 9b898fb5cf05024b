"""Fixtures for the slurmrestd backend: the real test Slurm plus a real slurmrestd."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from harness.strict import need
from slurm import cluster as slurm_cluster_module
from slurm.conftest import clean_queue, slurm_cluster

from slurmrestd.restd import Restd, free_port, missing

__all__ = ["clean_queue", "slurm_cluster"]


@pytest.fixture(scope="session")
def restd(slurm_cluster: slurm_cluster_module.Cluster, tmp_path_factory) -> Iterator[Restd]:
    """slurmrestd with JWT auth on a free loopback port, for the whole session."""
    why = missing()
    need(why is None, why or "")
    need(
        slurm_cluster_module.jwt_available(),
        "Slurm's auth/jwt plugin is not installed (.ci/install-rest.sh)",
    )
    daemon = Restd(
        port=free_port(),
        log=tmp_path_factory.mktemp("restd") / "slurmrestd.log",
        plugins=("v0.0.38", "dbv0.0.38"),  # and the accounting endpoints, as sites load them
    )
    daemon.start()
    try:
        yield daemon
    finally:
        daemon.stop()
