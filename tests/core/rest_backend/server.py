"""A tiny HTTP job service: POST /jobs runs a script, GET /jobs?ids= reports, DELETE cancels."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from typing import Any

from tornado import web


class Jobs:
    def __init__(self) -> None:
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.cancelled: set[str] = set()

    def state(self, job_id: str) -> dict[str, Any] | None:
        proc = self.procs.get(job_id)
        if proc is None:
            return None
        code = proc.poll()
        if code is None:
            return {"id": job_id, "state": "RUNNING", "node": "127.0.0.1"}
        state = (
            "CANCELLED" if job_id in self.cancelled else ("COMPLETED" if code == 0 else "FAILED")
        )
        return {"id": job_id, "state": state, "exit_code": code}


class JobsHandler(web.RequestHandler):
    def initialize(self, jobs: Jobs) -> None:
        self.jobs = jobs

    def post(self) -> None:
        body = json.loads(self.request.body)
        with open(body["output"], "ab") as out:
            proc = subprocess.Popen(["bash", "-c", body["script"]], stdout=out, stderr=out,
                                    start_new_session=True)  # fmt: skip
        job_id = f"rest-{proc.pid}"
        self.jobs.procs[job_id] = proc
        self.write({"job_id": job_id})

    def get(self) -> None:
        ids = self.get_argument("ids").split(",")
        self.write({"jobs": [s for s in map(self.jobs.state, ids) if s]})


class JobHandler(web.RequestHandler):
    def initialize(self, jobs: Jobs) -> None:
        self.jobs = jobs

    def delete(self, job_id: str) -> None:
        proc = self.jobs.procs.get(job_id)
        if proc is None:
            raise web.HTTPError(404)
        self.jobs.cancelled.add(job_id)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
        self.set_status(204)


def make_app(jobs: Jobs) -> web.Application:
    return web.Application(
        [(r"/jobs", JobsHandler, {"jobs": jobs}), (r"/jobs/([^/]+)", JobHandler, {"jobs": jobs})]
    )
