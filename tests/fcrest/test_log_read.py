"""FirecREST's ``read_log`` asks the gateway for the file's last bytes, never lines."""

from __future__ import annotations

from types import SimpleNamespace

import jobspawner_firecrest.hooks as hooks
from jobspawner.boundary.bounded_text import MAX_BYTES
from jobspawner.testing import ScriptedRunner


async def test_the_log_is_asked_for_by_bytes(monkeypatch):
    asked = []

    async def tail(system, path, **kw):
        asked.append((system, path, kw))
        return {"content": "x" * 10 + "\nlast\n"}

    gw = SimpleNamespace(system="cluster", url="https://gw", for_user=lambda ctx: client)
    client = SimpleNamespace(tail=tail)
    monkeypatch.setattr(hooks, "gateway", lambda options: gw)
    runner = ScriptedRunner(lambda argv: (0, "", ""))
    ctx = SimpleNamespace(options={}, runner=runner, username="alice")
    assert await hooks.read_log(ctx, "/home/alice/job.log", 5) == "x" * 10 + "\nlast\n"
    assert asked == [("cluster", "/home/alice/job.log", {"num_bytes": MAX_BYTES})]
