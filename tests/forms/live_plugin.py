"""A site plugin for the spawn-form tests: the scheduler's queue list, answering on demand.

``backend_options["fake_queues"]``: ``ok`` (two partitions), ``fail`` (the command fails),
``hang`` (never answers), ``slow`` (answers after 0.5 s). Nothing else changes.
"""

from __future__ import annotations

import asyncio

from jobspawner import Option, hookimpl
from jobspawner.contract.status import QueueInfo

QUEUES = [
    QueueInfo(name="debug", default=True, max_time_s=3600, cpus_per_node=8,
              memory_per_node_mb=32768, idle_cpus=12, total_cpus=16),
    QueueInfo(name="gpu", max_time_s=8 * 3600, cpus_per_node=32, memory_per_node_mb=262144,
              gpus_per_node=4, gres="gpu:a100:4", idle_cpus=40, total_cpus=64),
]  # fmt: skip


@hookimpl
def backend_options() -> list[Option]:
    """A site plugin declares the options it reads, like a backend."""
    return [Option("fake_queues", str, None, "ok, fail, hang or slow (tests only).")]


@hookimpl(tryfirst=True)
def resource_fields() -> frozenset[str]:
    """The fake scheduler honours what the form offers (queues, run time, cores, memory)."""
    return frozenset({"queue", "runtime", "cpus", "memory", "gpus", "gpu_type"})


@hookimpl(tryfirst=True)
def discover_resources(ctx):
    mode = ctx.options.get("fake_queues")
    if not mode:
        return None

    async def answer():
        if mode == "fail":
            raise RuntimeError("sinfo: error: slurm_load_partitions: Unable to contact slurm")
        if mode == "hang":
            await asyncio.sleep(3600)
        if mode == "slow":
            await asyncio.sleep(0.5)
        return list(QUEUES)

    return answer()
