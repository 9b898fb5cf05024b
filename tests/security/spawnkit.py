"""Helpers for the security tests: a JobSpawner without a hub, for any installed backend."""

from __future__ import annotations

import os
import sys
from types import SimpleNamespace
from typing import Any

from jobspawner.spawner import JobSpawner
from jupyterhub.objects import Hub

#: Every backend whose default template the security tests render.
BACKENDS = ("local", "slurm", "torque", "pbspro", "moab", "lsf", "condor", "sge")


def make_spawner(tmp_path: Any, backend: str = "local", **config: Any) -> JobSpawner:
    """A spawner as tests/core/test_spawner_unit.py builds it, on ``backend``."""
    user = SimpleNamespace(name=os.environ.get("USER_UNDER_TEST", "root"), url="/user/root/",
                           escaped_name="root", id=1)  # fmt: skip
    # the local backend's options only where it runs: other backends refuse unknown keys
    local = {"python": sys.executable, "spool": str(tmp_path / "spool")}
    options = dict(local) if backend == "local" else {}
    options.update(config.pop("backend_options", {}))
    return JobSpawner(
        user=user,
        hub=Hub(ip="127.0.0.1", port=8081, base_url="/hub/"),
        api_token="secret-token",
        oauth_client_id="jupyterhub-user-root",
        log_dir=str(tmp_path / "logs"),
        workdir=str(tmp_path),
        backend=backend,
        backend_options=options,
        **config,
    )
