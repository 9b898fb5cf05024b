"""The test cluster's configuration text (``tests/slurm/cluster.py``), no daemons: the
benchmark's own munged (``OWN_MUNGE``) reaches every Slurm program through ``AuthInfo``."""

from __future__ import annotations

from pathlib import Path

import pytest
from slurm import accounting
from slurm import cluster as slurm_cluster


def test_own_munge_points_both_clusters_and_slurmdbd_at_its_socket(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = tmp_path, tmp_path / slurm_cluster.SECOND
    assert "AuthInfo" not in slurm_cluster.slurm_conf("node1", first)  # the host's munged
    monkeypatch.setattr(slurm_cluster, "OWN_MUNGE", True)
    line = f"AuthInfo=socket={first}/munge/munge.socket\n"
    assert slurm_cluster.munge_socket(first) == first / "munge" / "munge.socket"
    assert line in slurm_cluster.slurm_conf("node1", first)
    # the second cluster shares the first one's munged (one harness, one socket)
    assert line in slurm_cluster.slurm_conf("node1", second, slurm_cluster.SECOND)
    dbd = accounting.slurmdbd_conf(first, 1, 2, "pw", slurm_cluster._auth_info(first))
    assert line in dbd and dbd.index("AuthType=auth/munge") < dbd.index("AuthInfo=")
