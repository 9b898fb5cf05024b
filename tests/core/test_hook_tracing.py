"""c.JobSpawner.trace_hooks: which implementation answered each hook, at debug level."""

from __future__ import annotations

import logging
from typing import Any

from jobspawner import JobState, JobStatus
from jobspawner.testing import DownRunner

from .test_backend_options import make_spawner

PLUGIN = "core.site_plugins.pending_words"


async def test_tracing_names_the_answering_implementation(tmp_path: Any, caplog: Any) -> None:
    spawner = make_spawner(tmp_path, backend="local", plugins=[PLUGIN], trace_hooks=True)
    spawner.log.setLevel(logging.DEBUG)
    with caplog.at_level(logging.DEBUG):
        backend = spawner.load()
        assert backend.describe_status(JobStatus(JobState.PENDING)) == (
            "waiting for the site's queue"
        )
        backend.describe_status(JobStatus(JobState.RUNNING))  # falls through to the core
        ctx = spawner.context()
        ctx.query_runner = ctx.runner = DownRunner()
        statuses = await backend.query_status(ctx, ["7"])
    assert statuses["7"].state is JobState.UNKNOWN
    lines = [r.getMessage() for r in caplog.records if "jobspawner hook" in r.getMessage()]
    site = [line for line in lines if "describe_status answered by site:" in line]
    core = [
        line for line in lines if "describe_status answered by jobspawner.facade.defaults" in line
    ]
    assert len(site) == 1 and len(core) == 1, lines
    assert "jobspawner hook status_command answered by backend:local" in lines
    assert "jobspawner hook query_status answered by jobspawner.facade.defaults" in lines


def test_no_tracing_by_default(tmp_path: Any, caplog: Any) -> None:
    spawner = make_spawner(tmp_path, backend="local", plugins=["core.site_plugins.add_directive"])
    with caplog.at_level(logging.DEBUG):
        spawner.load().describe_status(JobStatus(JobState.PENDING))
    assert not [r for r in caplog.records if "jobspawner hook" in r.getMessage()]
    assert spawner.load().on_answer is None
