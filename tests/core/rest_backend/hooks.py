"""A backend that talks to a REST service: only action hooks, no command ever runs."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence

from jobspawner import Command, CommandError, JobState, JobStatus, hookimpl
from jobspawner.backends.local import TEMPLATE
from tornado.httpclient import AsyncHTTPClient

STATES = {"RUNNING": JobState.RUNNING, "COMPLETED": JobState.DONE,
          "FAILED": JobState.FAILED, "CANCELLED": JobState.CANCELLED}  # fmt: skip


@hookimpl
def script_template():
    return TEMPLATE


@hookimpl
async def submit(ctx, spec, script):
    body = json.dumps({"script": script, "output": spec.output_file})
    reply = await AsyncHTTPClient().fetch(f"{ctx.options['url']}/jobs", method="POST", body=body)
    return json.loads(reply.body)["job_id"]


@hookimpl
async def query_status(ctx, job_ids: Sequence[str]):
    url = f"{ctx.options['url']}/jobs?ids={','.join(job_ids)}"
    try:
        reply = await AsyncHTTPClient().fetch(url)
    except OSError as e:
        return {i: JobStatus.unknown(f"REST service unreachable: {e}") for i in job_ids}
    found = {
        j["id"]: JobStatus(STATES[j["state"]], host=j.get("node"), exit_code=j.get("exit_code"))
        for j in json.loads(reply.body)["jobs"]
    }
    return {i: found.get(i) or JobStatus.vanished() for i in job_ids}


@hookimpl
async def cancel(ctx, job_ids: Sequence[str]):
    for job_id in job_ids:
        await AsyncHTTPClient().fetch(f"{ctx.options['url']}/jobs/{job_id}", method="DELETE")
    for _ in range(50):
        statuses = await ctx.backend.query_status(ctx, job_ids)
        if all(s.state.finished for s in statuses.values()):
            return
        await asyncio.sleep(0.1)
    raise CommandError(Command(["DELETE", *job_ids]), None, problem="jobs still running")
