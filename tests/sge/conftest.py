"""Fixtures for the Grid Engine tests: one real Son of Grid Engine cell per session."""

from __future__ import annotations

import os
import pwd
from collections.abc import Iterator

import pytest
from harness.strict import need
from harness.users import ensure_users

from sge.cluster import SgeCluster, installed


@pytest.fixture(scope="session")
def sge_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SgeCluster]:
    """sge_qmaster + sge_execd on this host, configured for tests, stopped afterwards."""
    need(os.geteuid() == 0, "needs root: Grid Engine daemons run as root, jobs as alice/bob")
    need(
        installed(),
        "Grid Engine is not installed (.ci/install-sge.sh installs Debian's gridengine-master, "
        "gridengine-exec and gridengine-client)",
    )
    ensure_users(("alice", "bob"))
    cluster = SgeCluster(tmp_path_factory.mktemp("sge"), slots=4)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def sge(sge_cluster: SgeCluster) -> Iterator[SgeCluster]:
    """The running cell, with every job deleted after the test."""
    yield sge_cluster
    sge_cluster.delete_all()


@pytest.fixture
def user_dir() -> Iterator[str]:
    """A fresh folder in alice's home for job output (created by the core's prepare step)."""
    home = pwd.getpwnam("alice").pw_dir if _has("alice") else "/tmp"
    path = os.path.join(home, ".jobspawner-sge-tests", os.urandom(4).hex())
    yield path


def _has(user: str) -> bool:
    try:
        pwd.getpwnam(user)
    except KeyError:
        return False
    return True
