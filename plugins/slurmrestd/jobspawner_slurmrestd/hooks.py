"""The slurmrestd backend's hook implementations (entry point ``slurmrestd``).

The job script, the feature-constraint grammar and the plain-words status sentences are the
Slurm backend's own (:mod:`jobspawner_slurm`); this module implements the action hooks over
slurmrestd's REST API instead of running ``sbatch``/``squeue``/``scancel``:

``submit``
    Runs the core's preparation commands through the user's runner (the private log folder
    and output file, the job's secrets file: they live on the shared file system the job
    reads), then ``POST /job/submit`` as the user, with the script and its ``#SBATCH``
    directives as job properties (:mod:`.directives`).
``query_status``
    **One** ``GET /jobs`` per round for every watched job, as ``query_user`` (the shared
    poller acts as nobody in particular); jobs read with the Slurm backend's squeue parser.
    A job slurmctld no longer lists is asked of Slurm's accounting (``GET
    /slurmdb/.../job/{id}``, with the ``accounting`` option), which says how it ended; one
    accounting does not know has ended (``vanished``). A failed ``/jobs`` request makes
    every job ``unknown``, never gone.
``cancel``
    ``DELETE /job/{id}`` as the user, then confirmed with status queries (resent every few
    checks); "Invalid job id" means already gone, "Access/permission denied" fails at once.
``remove_secrets``
    ``rm -f`` of a job's leftover secrets file as the user, through the runner that wrote it.
``read_log``
    Not implemented here: the core's default runs ``tail`` as the user through the runner,
    since the output file lives on the shared file system (slurmrestd has no file API).
``discover_resources``
    ``GET /partitions`` and ``GET /nodes``.

Backend options (``c.JobSpawner.backend_options``): declared once, with type, default and
help, in :data:`jobspawner_slurmrestd.options.OPTIONS`; ``docs/backends/slurmrestd.md`` lists
them, generated from those declarations.
"""

from __future__ import annotations

import asyncio
import json
import os
import pwd
from collections.abc import Mapping, Sequence
from typing import Any

from jobspawner import (
    BackendContext,
    JobSpec,
    JobStatus,
    QueueInfo,
    confirm_cancel,
    hookimpl,
    not_ended_words,
    remove_secrets_by_runner,
    run_prepare_commands,
)
from jobspawner_slurm.shared import (
    check_constraint,
    describe_slurm_status,
    job_script,
    sacct_statuses,
)

from . import versions
from .client import SlurmRestClient
from .convert import history_rows, job_statuses, queues
from .directives import DirectiveError, job_properties
from .errors import RestError
from .options import backend_options, resource_fields
from .tokens import TokenCache

__all__ = [
    "backend_options",
    "check_constraint",
    "resource_fields",
]  # the Slurm backend's hook implementation, shared

DEFAULT_ENVIRONMENT = {"PATH": "/usr/local/bin:/usr/bin:/bin"}

_clients: dict[str, SlurmRestClient] = {}


def client_for(options: Mapping[str, Any]) -> SlurmRestClient:
    """The client (and its token cache) for these options, shared by every spawner."""
    url = options.get("url")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise RestError(
            "GET",
            str(url),
            None,
            "backend option `url` must be slurmrestd's http(s) URL, e.g. "
            "c.JobSpawner.backend_options = {'url': 'http://slurm-rest:6820'}",
        )
    version = options.get("api_version", "v0.0.38")
    why = versions.unsupported(version)
    if why:
        raise RestError("GET", f"{url.rstrip('/')}/slurm/{version}", None, why)
    source = options.get("token_source", "scontrol")
    key = json.dumps(
        [
            url,
            options.get("api_version"),
            source if isinstance(source, (str, list, tuple)) else f"callable:{id(source)}",
            options.get("token_lifespan"),
            options.get("request_timeout"),
            options.get("scontrol"),
            options.get("validate_cert"),
            options.get("ca_certs"),
        ]
    )
    client = _clients.get(key)
    if client is None:
        tokens = TokenCache(
            source=source,
            lifespan=int(options.get("token_lifespan", 3600)),
            refresh_margin=float(options.get("token_refresh_margin", 120)),
            scontrol=str(options.get("scontrol", "scontrol")),
        )
        client = SlurmRestClient(
            url,
            tokens,
            api_version=str(options.get("api_version", "v0.0.38")),
            timeout=float(options.get("request_timeout", 30)),
            validate_cert=bool(options.get("validate_cert", True)),
            ca_certs=options.get("ca_certs"),
        )
        _clients[key] = client
    return client


def query_user(options: Mapping[str, Any]) -> str:
    user = options.get("query_user")
    return str(user) if user else pwd.getpwuid(os.geteuid()).pw_name


def _user(ctx: BackendContext) -> str:
    return ctx.username or query_user(ctx.options)


@hookimpl
def script_template() -> str:
    return job_script()


@hookimpl
def describe_status(status: JobStatus) -> str:
    return describe_slurm_status(status)


@hookimpl
async def submit(ctx: BackendContext, spec: JobSpec, script: str) -> str:
    client = client_for(ctx.options)
    if os.geteuid() == 0 and not ctx.runner.prefix:
        raise RestError(
            "POST",
            client.base + "/job/submit",
            None,
            "the hub runs as root with an empty c.JobSpawner.exec_prefix: the job's log folder "
            "and secrets file would be created as root. Set exec_prefix, e.g. "
            '["runuser", "-u", "{username}", "--"]',
        )
    environment = ctx.options.get("environment") or DEFAULT_ENVIRONMENT
    try:
        props = job_properties(script, {str(k): str(v) for k, v in environment.items()})
    except DirectiveError as e:
        raise RestError("POST", client.base + "/job/submit", None, str(e)) from e
    await run_prepare_commands(ctx, spec)  # before anything is submitted, the core's way
    answer = await client.request(
        "POST", "/job/submit", _user(ctx), body={"script": script, "job": props}
    )
    job_id = answer.get("job_id")
    if not isinstance(job_id, int):
        raise RestError(
            "POST", client.base + "/job/submit", 200, f"the answer has no job_id: {answer}"
        )
    return str(job_id)


@hookimpl
async def query_status(ctx: BackendContext, job_ids: Sequence[str]) -> Mapping[str, JobStatus]:
    ids = list(dict.fromkeys(job_ids))
    if not ids:
        return {}
    try:
        client = client_for(ctx.options)
        answer = await client.request("GET", "/jobs", query_user(ctx.options))
    except RestError as e:
        return {i: JobStatus.unknown(f"status query failed: {e}") for i in ids}
    jobs = answer.get("jobs")
    if not isinstance(jobs, list):
        return {i: JobStatus.unknown("slurmrestd's answer lists no jobs") for i in ids}
    found = job_statuses(jobs, ids)
    missing = [i for i in ids if i not in found]
    if missing and ctx.options.get("accounting", True):
        found.update(await _history(client, query_user(ctx.options), missing))
    return {i: found.get(i) or JobStatus.vanished() for i in ids}


#: Accounting requests in flight at once for the jobs one status round no longer finds.
HISTORY_CONCURRENCY = 4


async def _history(
    client: SlurmRestClient, user: str, job_ids: Sequence[str]
) -> Mapping[str, JobStatus]:
    """How the jobs the queue no longer lists ended, from Slurm's accounting (one request
    per job, as slurmrestd 22.05 offers no list by id); a job accounting does not know, or
    a failed request, leaves that job out (it stays vanished)."""
    gate = asyncio.Semaphore(HISTORY_CONCURRENCY)

    async def ask(job_id: str) -> list[Any]:
        async with gate:
            try:
                answer = await client.request("GET", f"/job/{job_id}", user, accounting=True)
            except RestError:
                return []
        jobs = answer.get("jobs")
        return jobs if isinstance(jobs, list) else []

    records = [job for jobs in await asyncio.gather(*map(ask, job_ids)) for job in jobs]
    return sacct_statuses(history_rows(records), job_ids)


async def _delete(client: SlurmRestClient, user: str, job_id: str) -> bool:
    """Send the cancel; True when Slurm says the job is already gone."""
    try:
        await client.request("DELETE", f"/job/{job_id}", user)
    except RestError as e:
        if e.says("Invalid job id"):
            return True
        raise
    return False


@hookimpl
async def cancel(ctx: BackendContext, job_ids: Sequence[str]) -> None:
    """``DELETE /job/{id}`` as the user, confirmed with status queries (resent every few
    checks); "Access/permission denied" fails at once."""
    client = client_for(ctx.options)
    user = _user(ctx)

    async def send(remaining: list[str]) -> tuple[list[str], str]:
        still, error = [], ""
        for job_id in remaining:
            try:
                if not await _delete(client, user, job_id):
                    still.append(job_id)
            except RestError as e:
                if e.says("permission denied"):
                    raise
                error = str(e)
                still.append(job_id)
        return still, error

    async def ask(remaining: list[str]) -> Mapping[str, JobStatus]:
        return await query_status(ctx, remaining)

    remaining, last_error = await confirm_cancel(job_ids, send, ask)
    if remaining:
        raise RestError(
            "DELETE",
            client.base + f"/job/{remaining[0]}",
            None,
            not_ended_words(remaining, last_error),
        )


@hookimpl
async def discover_resources(ctx: BackendContext) -> Sequence[QueueInfo]:
    client = client_for(ctx.options)
    user = query_user(ctx.options)
    partitions, nodes = await asyncio.gather(
        client.request("GET", "/partitions", user), client.request("GET", "/nodes", user)
    )
    return queues(partitions.get("partitions") or [], nodes.get("nodes") or [])


@hookimpl
async def remove_secrets(ctx: BackendContext, path: str) -> None:
    """The secrets file was written by the core's preparation commands through the user's
    runner (see ``submit``): removed the same way (``rm -f`` as the user)."""
    await remove_secrets_by_runner(ctx, path)
