"""Spawners and profiles for the spawn-form tests (no hub)."""

from __future__ import annotations

import sys
from types import SimpleNamespace
from typing import Any

from jobspawner.spawner import JobSpawner
from jupyterhub.objects import Hub

GPU = {
    "display_name": "GPU node",
    "slug": "gpu",
    "description": "One <b>GPU</b> for up to 8 hours.",
    "overrides": {
        "req_queue": "gpu",
        "req_runtime": "1h",
        "backend_options": {"spool": "/tmp/gpu-spool"},
    },
    "options": {
        "gpu": {
            "display_name": "GPU model",
            "choices": {
                "a100": {"display_name": "NVIDIA A100",
                         "overrides": {"req_gpu_type": "a100", "req_gpus": 1}},
                "v100": {"display_name": "NVIDIA V100",
                         "overrides": {"req_gpu_type": "v100", "req_gpus": 2}},
            },
            "default": "v100",
        },
        "memory": {"display_name": "Memory", "min": "1G", "max": "64G", "default": "8G"},
        "runtime": {"display_name": "Run time", "min": "10m", "max": "8h"},
        "cpus": {"display_name": "CPUs", "min": 1, "max": 16},
        "env": {"display_name": "Conda environment", "regex": "[a-z][a-z0-9_-]{0,31}"},
        "threads": {"display_name": "Threads", "kind": "int", "min": 1, "max": 64},
    },
}  # fmt: skip
SMALL = {
    "display_name": "Small, 2 cores",
    "slug": "small",
    "default": True,
    "overrides": {"req_cpus": 2, "req_memory": "4G"},
}
STAFF = {"display_name": "Staff only", "slug": "staff", "groups": ["staff"]}


def make_spawner(tmp_path: Any, groups: tuple[str, ...] = (), **config: Any) -> JobSpawner:
    user = SimpleNamespace(name="root", url="/user/root/", escaped_name="root", id=1,
                           groups=[SimpleNamespace(name=g) for g in groups])  # fmt: skip
    # the local backend's options only where the local backend is the configured one (each
    # backend refuses keys it does not declare)
    local = {"python": sys.executable, "spool": str(tmp_path / "spool")}
    if config.get("backend", "local") == "local":
        config.setdefault("backend_options", local)
    return JobSpawner(
        user=user,
        hub=Hub(ip="127.0.0.1", port=8081, base_url="/hub/"),
        api_token="secret-token",
        oauth_client_id="jupyterhub-user-root",
        log_dir=str(tmp_path / "logs"),
        workdir=str(tmp_path),
        startup_poll_interval=0.1,
        allow_root_jobs=True,
        **config,
    )


def came_up(spawner: JobSpawner, options: dict[str, Any], job_id: str = "41") -> None:
    """As if a start with ``options`` got its server up: what the spawner remembers then."""
    from jobspawner.lifecycle import started_options

    spawner.apply_user_options(spawner, options)
    spawner.job_id = job_id
    started_options.remember(spawner, started_options.readable(spawner.resources()))
    spawner.job_id = ""
