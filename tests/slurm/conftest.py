"""Fixtures for the Slurm tests: one real single-node cluster per test session."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from harness.strict import need
from harness.users import ensure_users
from slurm import cluster as slurm_cluster_module


@pytest.fixture(scope="session")
def slurm_cluster() -> Iterator[slurm_cluster_module.Cluster]:
    """A running Slurm (munged, MariaDB, slurmdbd, slurmctld, slurmd) for the whole session;
    stopped afterwards.

    Skips (fails under JOBSPAWNER_TESTS_STRICT=1) when Slurm is not installed or the tests
    do not run as root.
    """
    missing = slurm_cluster_module.missing_programs()
    need(
        not missing,
        f"Slurm is not installed (missing: {', '.join(missing)}); run .ci/install-slurm.sh",
    )
    need(os.geteuid() == 0, "the Slurm test cluster needs root (daemons, jobs as alice/bob)")
    ensure_users()
    cluster = slurm_cluster_module.start()
    try:
        yield cluster
    finally:
        slurm_cluster_module.stop(cluster)


@pytest.fixture(scope="session")
def second_cluster(
    slurm_cluster: slurm_cluster_module.Cluster,
) -> Iterator[slurm_cluster_module.Cluster]:
    """The second cluster (``jobspawner2``) on the first one's slurmdbd, for multi-cluster
    (``-M``) tests; started on first use, stopped at the end of the session."""
    cluster = slurm_cluster_module.start_second(slurm_cluster)
    try:
        yield cluster
    finally:
        slurm_cluster_module.stop(cluster)


@pytest.fixture
def clean_queue(slurm_cluster: slurm_cluster_module.Cluster):
    """The cluster with no job left over from the previous test (before and after)."""
    slurm_cluster.cancel_all()
    yield slurm_cluster
    slurm_cluster.cancel_all()
