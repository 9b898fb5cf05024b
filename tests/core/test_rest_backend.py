"""A REST backend fits the contract: action hooks only, loaded by name like any backend."""

from __future__ import annotations

import sys

from jobspawner.contract.context import make_context
from jobspawner.contract.jobspec import JobSpec
from jobspawner.contract.status import JobState
from jobspawner.facade.backend import load_backend
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets

from .rest_backend.server import Jobs, make_app


async def test_rest_backend_submits_polls_and_cancels_without_commands(tmp_path, monkeypatch):
    dist = tmp_path / "jobspawner_rest-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: jobspawner-rest\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(
        "[jobspawner.backends]\nrest = core.rest_backend.hooks\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    sockets = bind_sockets(0, "127.0.0.1")
    server = HTTPServer(make_app(Jobs()))
    server.add_sockets(sockets)
    url = f"http://127.0.0.1:{sockets[0].getsockname()[1]}"
    try:
        backend = load_backend("rest")  # passes the completeness check with no command hooks
        ctx = make_context(backend, options={"url": url}, prefix=["/nonexistent/never-run"])
        spec = JobSpec.create(username="u", job_name="j", output_file=str(tmp_path / "out.log"),
                              workdir=str(tmp_path), command=["sleep", "60"])  # fmt: skip
        job_id = await backend.submit(
            ctx, spec, backend.render_script(spec, backend.script_template(spec))
        )
        status = await backend.query_status(ctx, [job_id, "rest-0"])
        assert status[job_id].state is JobState.RUNNING and status[job_id].host == "127.0.0.1"
        assert status["rest-0"].state is JobState.DONE  # not listed: vanished
        await backend.cancel(ctx, [job_id])
        assert (await backend.query_status(ctx, [job_id]))[job_id].state is JobState.CANCELLED
    finally:
        server.stop()
        sys.modules.pop("core.rest_backend.hooks", None)
