"""JupyterHub's generic limits (``mem_limit``, ``cpu_limit``, ``cpu_guarantee``) as requests.

A site that sets ``c.Spawner.mem_limit = "4G"`` (as for any other spawner) gets a 4 GiB
memory request; the ``req_*`` settings win where both are set. CPU limits are fractional in
JupyterHub; schedulers count whole cores, so the larger of limit and guarantee is rounded up.
"""

from __future__ import annotations

import math
from typing import Any

MIB = 1024 * 1024


def limits_as_requests(
    mem_limit: int | None, cpu_limit: float | None, cpu_guarantee: float | None
) -> dict[str, Any]:
    """``memory`` ("<n>M") and ``cpus`` requests from JupyterHub's limits (unset: absent)."""
    out: dict[str, Any] = {}
    if mem_limit:
        out["memory"] = f"{max(1, math.ceil(int(mem_limit) / MIB))}M"
    cpus = max(cpu_limit or 0.0, cpu_guarantee or 0.0)
    if cpus > 0:
        out["cpus"] = max(1, math.ceil(cpus))
    return out


def with_hub_limits(requests: dict[str, Any], limits: dict[str, Any]) -> dict[str, Any]:
    """``requests`` (from ``req_*``) with each limit filled in where the request is unset."""
    out = dict(requests)
    for key, value in limits.items():
        if out.get(key) in (None, ""):
            out[key] = value
    return out
