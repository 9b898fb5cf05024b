"""A site plugin whose scheduler reports two queues with limits (``jobspawner check`` tests)."""

from __future__ import annotations

from jobspawner import QueueInfo, hookimpl


@hookimpl(tryfirst=True)
def resource_fields() -> frozenset[str]:
    return frozenset({"queue", "runtime", "memory"})


@hookimpl(tryfirst=True)
async def discover_resources(ctx):
    return [
        QueueInfo("short", default=True, max_time_s=3600, memory_per_node_mb=4096),
        QueueInfo("long", max_time_s=86400, memory_per_node_mb=4096),
    ]
