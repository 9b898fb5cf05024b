"""slurmrestd OpenAPI versions: a version whose JSON the backend does not read, or one the
server does not load, is a clear error naming the versions (never a KeyError or a job read
wrongly). Against the real slurmrestd 22.05, which the tests start with openapi/v0.0.38."""

from __future__ import annotations

import asyncio
import os
import shutil
import time

import pytest
from jobspawner import JobState
from jobspawner.contract.commands import CommandRunner
from jobspawner.contract.context import BackendContext
from jobspawner.facade.backend import load_backend
from jobspawner_slurmrestd import hooks as restd_hooks
from jobspawner_slurmrestd import versions
from jobspawner_slurmrestd.errors import RestError
from slurm.helpers import make_spec

from slurmrestd.restd import Restd, free_port

pytestmark = [pytest.mark.scheduler("slurm"), pytest.mark.root]

OLDER = ("v0.0.36", "v0.0.37")


@pytest.fixture(autouse=True)
def _fresh():
    restd_hooks._clients.clear()
    yield
    restd_hooks._clients.clear()


def context(url: str, version: str) -> BackendContext:
    prefix = ["runuser", "-u", "alice", "--"]
    return BackendContext(
        backend=load_backend("slurmrestd"),
        runner=CommandRunner(prefix, timeout=30),
        query_runner=CommandRunner(prefix, timeout=30),
        options={"url": url, "request_timeout": 5, "api_version": version},
        username="alice",
    )


def test_the_option_is_checked_with_plain_reasons():
    assert versions.unsupported("v0.0.38") is None
    newer = versions.unsupported("v0.0.41") or ""
    assert "v0.0.41" in newer and "v0.0.36, v0.0.37, v0.0.38" in newer
    assert "data_parser" in newer and "openapi/v0.0.38" in newer
    assert "not an OpenAPI version" in (versions.unsupported("latest") or "")
    assert "older API" in (versions.unsupported("v0.0.35") or "")


@pytest.mark.parametrize("version", ["v0.0.39", "v0.0.40", "v0.0.41"])
async def test_a_data_parser_version_is_refused_by_name(restd, clean_queue, tmp_path, version):
    ctx = context(restd.url, version)
    spec = make_spec(output_file=str(tmp_path / "job.log"), command=["sleep", "60"])
    script = ctx.backend.render_script(spec, ctx.backend.script_template(spec))
    with pytest.raises(RestError) as refused:
        await ctx.backend.submit(ctx, spec, script)
    assert version in str(refused.value) and "v0.0.38" in str(refused.value)
    status = (await ctx.backend.query_status(ctx, ["1"]))["1"]
    assert status.state is JobState.UNKNOWN and version in (status.reason or "")
    with pytest.raises(RestError, match=version):
        await ctx.backend.discover_resources(ctx)
    assert not (tmp_path / "job.log").exists()  # refused before anything was made


async def test_a_version_the_server_does_not_load_names_what_it_offers(restd, clean_queue):
    ctx = context(restd.url, "v0.0.37")  # supported here, but the test slurmrestd loads v0.0.38
    with pytest.raises(RestError) as refused:
        await ctx.backend.discover_resources(ctx)
    text = str(refused.value)
    assert "does not serve OpenAPI version v0.0.37" in text, text
    assert "it offers v0.0.38" in text and "set backend option `api_version` to v0.0.38" in text


async def test_the_served_description_lists_the_configured_version(restd, clean_queue):
    """The real server's own /openapi/v3 lists the version the backend uses."""
    client = restd_hooks.client_for({"url": restd.url, "api_version": "v0.0.38"})
    assert await client.offered_versions("root") == ["v0.0.38"]


@pytest.fixture
def older_restd(restd, tmp_path):
    """A second real slurmrestd (same checks as ``restd``) loading only the older openapi
    plugins of Slurm 22.05."""
    daemon = Restd(port=free_port(), log=tmp_path / "slurmrestd.log", plugins=OLDER)
    daemon.start()
    try:
        yield daemon
    finally:
        daemon.stop()


@pytest.mark.parametrize("version", OLDER)
async def test_older_supported_versions_submit_poll_and_cancel(older_restd, clean_queue, version):
    """v0.0.36 and v0.0.37 (Slurm 22.05 offers them too): the same requests and answers."""
    ctx = context(older_restd.url, version)
    out = f"/home/alice/.jobspawner-restd-versions/{version}.log"
    spec = make_spec(output_file=out, command=["sleep", "300"], job_name=f"versions-{version}")
    script = ctx.backend.render_script(spec, ctx.backend.script_template(spec))
    job_id = await ctx.backend.submit(ctx, spec, script)
    try:
        deadline = time.monotonic() + 30
        while True:
            status = (await ctx.backend.query_status(ctx, [job_id]))[job_id]
            if status.state is JobState.RUNNING or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.3)
        assert status.state is JobState.RUNNING and status.host == clean_queue.host, status
        assert [q.name for q in await ctx.backend.discover_resources(ctx)]
    finally:
        await ctx.backend.cancel(ctx, [job_id])
        shutil.rmtree(os.path.dirname(out), ignore_errors=True)
    assert (await ctx.backend.query_status(ctx, [job_id]))[job_id].state.finished
