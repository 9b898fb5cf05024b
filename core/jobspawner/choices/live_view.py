"""The live view of a spawner's queues and limits: one shared cache per backend
configuration and query identity (:mod:`jobspawner.choices.resource_cache`), read by the spawn form
(:mod:`jobspawner.choices.options_form`) and by the validation of a user's choice against the
queue's limits (:mod:`jobspawner.choices.user_options`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from jobspawner.choices.resource_cache import ResourceCache, Snapshot, cache_for
from jobspawner.contract.status import QueueInfo

if TYPE_CHECKING:
    from jobspawner.choices.options_host import LiveViewHost


def resource_cache(host: LiveViewHost) -> ResourceCache:
    """The cache of the host's current backend configuration and query identity."""
    key = host.query_cache_key()  # who asked is part of the answer
    ctx = host.context()
    ctx.runner = ctx.query_runner  # discovery acts as nobody in particular
    ctx.username = None
    backend = ctx.backend

    async def fetch() -> Sequence[QueueInfo]:
        return await backend.discover_resources(ctx)

    return cache_for(key, fetch, host.resource_cache_ttl)


def live_snapshot(host: LiveViewHost, wait: bool = False) -> Snapshot | None:
    """What is known of the queues of the host's backend now (None: cannot tell)."""
    try:
        return resource_cache(host).snapshot()
    except Exception as e:  # a backend that does not load: no live view
        host.log.warning("jobspawner: no live resource view: %s", e)
        return None
