"""The FirecREST v2 backend's hook implementations (entry point ``firecrest``).

FirecREST runs ``sbatch`` on the cluster as the token's user, so the job script is the Slurm
backend's own (its ``#SBATCH`` directives apply), plus ``--uenv``/``--view`` lines for a
user environment image. Every request goes through ``pyfirecrest``'s asynchronous v2 client
with the user's OIDC access token from JupyterHub's auth state (see :mod:`.tokens`).

``submit``
    ``POST /filesystem/{system}/ops/mkdir`` + ``PUT .../chmod`` (the private log folder),
    the job's secrets file by ``POST .../ops/upload`` (then ``chmod 600``), then
    ``POST /compute/{system}/jobs`` with the script.
``query_status``
    With a service account: **one** ``GET /compute/{system}/jobs?allusers=true`` per round
    for every user's jobs. Without: one ``GET /compute/{system}/jobs`` per user with
    watched jobs (FirecREST has no way to ask about several users' jobs with their own
    tokens). A failed request makes its jobs unknown, never gone; a job whose owner has no
    usable token yet is unknown too.
``cancel``
    ``DELETE /compute/{system}/jobs/{id}`` as the user, confirmed with status queries.
``read_log``
    ``GET /filesystem/{system}/ops/tail`` as the user, its last 64 KiB (``bytes``).
``remove_secrets``
    ``DELETE /filesystem/{system}/ops/rm`` as the user (who uploaded the file); 404 (no such
    file: the server read and deleted it) is fine.

Backend options (``c.JobSpawner.backend_options``): declared once, with type, default and
help, in :data:`jobspawner_firecrest.options.OPTIONS`; ``docs/backends/firecrest.md`` lists
them, generated from those declarations.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import re
import tempfile
from collections.abc import Mapping, Sequence
from typing import Any

import httpx
from firecrest.FirecrestException import FirecrestException, UnexpectedStatusException
from firecrest.v2 import AsyncFirecrest
from jobspawner import (
    LOG_TAIL_BYTES,
    BackendContext,
    JobSpec,
    JobStatus,
    confirm_cancel,
    hookimpl,
    not_ended_words,
)
from jobspawner_slurm.shared import check_constraint, describe_slurm_status, job_script

from .convert import job_statuses, job_users
from .errors import GatewayError
from .options import backend_options, resource_fields
from .tokens import BearerAuth, ServiceAccount, TokenEndpoint, UserTokens, user_tokens

__all__ = ["backend_options", "check_constraint", "resource_fields"]  # the Slurm backend's, shared

#: A uenv image (``name/version:tag`` or an absolute squashfs path, optionally ``@mount``)
#: and a view list: no spaces, quotes or shell characters.
UENV = re.compile(
    r"(?:[A-Za-z0-9][A-Za-z0-9._+-]*(?:/[A-Za-z0-9._+-]+)*(?::[A-Za-z0-9._+-]+)?|/[A-Za-z0-9._+/-]+\.squashfs)(?:@/[A-Za-z0-9._/-]+)?(?:,(?:[A-Za-z0-9][A-Za-z0-9._+/:-]*)(?:@/[A-Za-z0-9._/-]+)?)*"
)
VIEW = re.compile(
    r"(?:[A-Za-z0-9][A-Za-z0-9._-]*:)?[A-Za-z0-9][A-Za-z0-9._-]*(?:,(?:[A-Za-z0-9][A-Za-z0-9._-]*:)?[A-Za-z0-9][A-Za-z0-9._-]*)*"
)
SYSTEM = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


class Gateway:
    """Clients and tokens for one FirecREST deployment (shared by every spawner)."""

    def __init__(self, options: Mapping[str, Any]) -> None:
        url, system = options.get("url"), options.get("system")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise GatewayError(
                "GET", str(url), None, "backend option `url` must be FirecREST's http(s) URL"
            )
        if not isinstance(system, str) or not SYSTEM.fullmatch(system):
            raise GatewayError("GET", url, None, "backend option `system` must name the cluster")
        self.url, self.system = url.rstrip("/"), system
        self.timeout = float(options.get("request_timeout", 30))
        self.verify = options.get("verify", True)
        self.margin = float(options.get("refresh_margin", 60))
        token_url = options.get("token_url")
        self.endpoint = (
            TokenEndpoint(
                str(token_url),
                str(options.get("client_id", "")),
                str(options.get("client_secret", "")),
                self.timeout,
            )
            if token_url
            else None
        )
        sa = options.get("service_account")
        self.service: ServiceAccount | None = None
        if sa:
            if not token_url or not isinstance(sa, Mapping) or not sa.get("client_id"):
                raise GatewayError(
                    "POST",
                    str(token_url),
                    None,
                    "backend option `service_account` needs `client_id`/`client_secret` and "
                    "`token_url`",
                )
            self.service = ServiceAccount(
                TokenEndpoint(
                    str(token_url),
                    str(sa["client_id"]),
                    str(sa.get("client_secret", "")),
                    self.timeout,
                ),
                self.margin,
            )
        self.users: dict[str, UserTokens] = {}
        self.owners: dict[str, str] = {}  # job id -> user name
        self._clients: dict[str, AsyncFirecrest] = {}

    def tokens(self, username: str) -> UserTokens:
        tokens = self.users.get(username)
        if tokens is None:
            tokens = self.users[username] = user_tokens(self.endpoint, username, self.margin)
        return tokens

    def client(self, who: str, source: UserTokens | ServiceAccount) -> AsyncFirecrest:
        client = self._clients.get(who)
        if client is None:
            client = AsyncFirecrest(self.url, BearerAuth(source), verify=self.verify)
            client.timeout = self.timeout
            client.disable_client_logging = True
            self._clients[who] = client
        return client

    def for_user(self, ctx: BackendContext, username: str | None = None) -> AsyncFirecrest:
        name = username or ctx.username
        if not name:
            raise GatewayError("GET", self.url, None, "no user to act as")
        tokens = self.tokens(name)
        state = ctx.auth_state if name == ctx.username else None
        tokens.seed(state or ctx.auth_states.get(name))
        if ctx.save_auth_state is not None:
            tokens.persist = functools.partial(ctx.save_auth_state, name)
        return self.client(f"user:{name}", tokens)


_gateways: dict[str, Gateway] = {}


def gateway(options: Mapping[str, Any]) -> Gateway:
    key = repr(sorted((k, repr(v)) for k, v in options.items()))
    gw = _gateways.get(key)
    if gw is None:
        gw = _gateways[key] = Gateway(options)
    return gw


async def call(gw: Gateway, method: str, path: str, coro: Any) -> Any:
    """Await a pyfirecrest call; its failures become :class:`GatewayError` (URL, status and
    FirecREST's message)."""
    url = gw.url + path
    try:
        return await coro
    except GatewayError:
        raise
    except UnexpectedStatusException as e:
        responses = getattr(e, "_responses", None) or []
        response = responses[-1] if responses else None
        status = response.status_code if response is not None else None
        said = ""
        if response is not None:
            try:
                body = response.json()
                said = body.get("message") or body.get("detail") or str(body)
            except ValueError:
                said = response.text[:300]
        raise GatewayError(method, url, status, str(said) or "unexpected answer") from e
    except FirecrestException as e:
        raise GatewayError(method, url, None, str(e)) from e
    except httpx.HTTPError as e:
        raise GatewayError(method, url, None, f"FirecREST is unreachable: {e!r}") from e


def _check_options(options: Mapping[str, Any]) -> None:
    for name, grammar in (("uenv", UENV), ("uenv_view", VIEW)):
        value = options.get(name)
        if value and not (isinstance(value, str) and grammar.fullmatch(value)):
            raise GatewayError(
                "POST", "(job script)", None, f"backend option `{name}` {value!r} is not valid"
            )


@hookimpl
def script_template() -> str:
    first, rest = job_script().split("\n", 1)
    extra = (
        '{% if opts.get("uenv") %}\n#SBATCH --uenv={{ opts.get("uenv") | quote }}\n{% endif %}\n'
        '{% if opts.get("uenv_view") %}\n#SBATCH --view={{ opts.get("uenv_view") | quote }}\n'
        "{% endif %}\n"
    )
    return f"{first}\n{extra}{rest}"


@hookimpl
def describe_status(status: JobStatus) -> str:
    return describe_slurm_status(status)


async def _write_secrets(gw: Gateway, client: AsyncFirecrest, spec: JobSpec) -> None:
    folder, name = os.path.split(spec.secrets_file)

    with tempfile.TemporaryDirectory() as tmp:  # mode 0700: only the hub reads it
        local = os.path.join(tmp, "secrets")
        fd = os.open(local, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(dict(spec.secrets), f)
        await call(
            gw,
            "POST",
            f"/filesystem/{gw.system}/ops/upload",
            client.upload(gw.system, local, folder, name),
        )
    await call(
        gw,
        "PUT",
        f"/filesystem/{gw.system}/ops/chmod",
        client.chmod(gw.system, spec.secrets_file, "600"),
    )


@hookimpl
async def submit(ctx: BackendContext, spec: JobSpec, script: str) -> str:
    gw = gateway(ctx.options)
    _check_options(ctx.options)
    client = gw.for_user(ctx)
    folder = os.path.dirname(spec.output_file)
    if folder:
        await call(
            gw,
            "POST",
            f"/filesystem/{gw.system}/ops/mkdir",
            client.mkdir(gw.system, folder, create_parents=True),
        )
        # only the folder's owner may chmod it: a shared folder (a sticky scratch folder,
        # someone else's) is refused here, before the secrets file is uploaded into it
        try:
            await call(
                gw,
                "PUT",
                f"/filesystem/{gw.system}/ops/chmod",
                client.chmod(gw.system, folder, "700"),
            )
        except GatewayError as e:
            raise GatewayError(
                e.method,
                e.url,
                e.status,
                f"the log folder {folder} could not be made private to the user ({e.problem}); "
                "it must be a folder the user owns: set c.JobSpawner.log_dir to one, e.g. a "
                "subfolder named after the user ('/scratch/logs/{username}')",
            ) from e
    if spec.secrets_file and spec.secrets:
        await _write_secrets(gw, client, spec)
    answer = await call(
        gw,
        "POST",
        f"/compute/{gw.system}/jobs",
        client.submit(gw.system, working_dir=spec.workdir, script_str=script),
    )
    job_id = str(answer.get("jobId", "")) if isinstance(answer, Mapping) else ""
    if not job_id:
        raise GatewayError(
            "POST", gw.url + f"/compute/{gw.system}/jobs", 201, f"no jobId in {answer!r}"
        )
    gw.owners[job_id] = ctx.username or ""
    return job_id


async def _jobs(gw: Gateway, client: AsyncFirecrest, allusers: bool) -> list[Any]:
    jobs = await call(
        gw, "GET", f"/compute/{gw.system}/jobs", client.job_info(gw.system, allusers=allusers)
    )
    return list(jobs or [])


@hookimpl
async def query_status(ctx: BackendContext, job_ids: Sequence[str]) -> Mapping[str, JobStatus]:
    ids = list(dict.fromkeys(job_ids))
    if not ids:
        return {}
    try:
        gw = gateway(ctx.options)
    except GatewayError as e:
        return {i: JobStatus.unknown(str(e)) for i in ids}
    out: dict[str, JobStatus] = {}
    if gw.service is not None:
        try:
            jobs = await _jobs(gw, gw.client("service", gw.service), allusers=True)
        except GatewayError as e:
            return {i: JobStatus.unknown(f"status query failed: {e}") for i in ids}
        gw.owners.update(job_users(jobs))
        found = job_statuses(jobs, ids)
        return {i: found.get(i) or JobStatus.vanished() for i in ids}
    by_user: dict[str, list[str]] = {}
    unowned: list[str] = []
    for job_id in ids:
        owner = gw.owners.get(job_id) or ctx.username
        if owner:
            by_user.setdefault(owner, []).append(job_id)
        else:
            unowned.append(job_id)

    async def one_user(user: str, user_ids: list[str]) -> None:
        try:
            jobs = await _jobs(gw, gw.for_user(ctx, user), allusers=False)
        except GatewayError as e:
            out.update((i, JobStatus.unknown(f"status query failed: {e}")) for i in user_ids)
            return
        if unowned:  # after a hub restart: learn whose jobs these are
            gw.owners.update((j, user) for j, u in job_users(jobs).items() if j in unowned)
        found = job_statuses(jobs, [*user_ids, *unowned])
        out.update((i, found.get(i) or JobStatus.vanished()) for i in user_ids)
        out.update((i, found[i]) for i in unowned if i in found)

    users = dict(by_user)
    if unowned:  # ask every user the hub holds tokens for (one request each)
        for name in ctx.auth_states:
            users.setdefault(name, [])
    await asyncio.gather(*(one_user(u, i) for u, i in users.items()))
    for job_id in unowned:
        out.setdefault(job_id, JobStatus.unknown("no credentials known yet for this job's user"))
    return out


@hookimpl
async def cancel(ctx: BackendContext, job_ids: Sequence[str]) -> None:
    """``DELETE /compute/{system}/jobs/{id}`` as the user, confirmed with status queries;
    a refused token fails at once."""
    gw = gateway(ctx.options)
    client = gw.for_user(ctx)

    async def send(remaining: list[str]) -> tuple[list[str], str]:
        error = ""
        for job_id in remaining:
            try:
                await call(
                    gw,
                    "DELETE",
                    f"/compute/{gw.system}/jobs/{job_id}",
                    client.cancel_job(gw.system, job_id),
                )
            except GatewayError as e:
                if e.status in (401, 403):
                    raise
                error = str(e)  # 404: gone already; the status check says so
        return remaining, error

    async def ask(remaining: list[str]) -> Mapping[str, JobStatus]:
        return await query_status(ctx, remaining)

    remaining, last = await confirm_cancel(job_ids, send, ask)
    if remaining:
        raise GatewayError(
            "DELETE",
            gw.url + f"/compute/{gw.system}/jobs/{remaining[0]}",
            None,
            not_ended_words(remaining, last),
        )


@hookimpl
async def read_log(ctx: BackendContext, path: str, lines: int) -> str:
    """The file's last bytes (never lines, which may have no end) through the gateway, as
    the user; the core cuts them to ``lines`` lines (:mod:`jobspawner.log_reads`)."""
    gw = gateway(ctx.options)
    client = gw.for_user(ctx)
    try:
        output = await call(
            gw,
            "GET",
            f"/filesystem/{gw.system}/ops/tail",
            client.tail(gw.system, path, num_bytes=LOG_TAIL_BYTES),
        )
    except GatewayError:
        return ""
    return str(output.get("content", "")) if isinstance(output, Mapping) else str(output)


@hookimpl
async def remove_secrets(ctx: BackendContext, path: str) -> None:
    """Delete a job's leftover secrets file through FirecREST's file API, as the user who
    uploaded it; FirecREST answers 404 for a file that is gone already."""
    gw = gateway(ctx.options)
    client = gw.for_user(ctx)
    try:
        await call(
            gw,
            "DELETE",
            f"/filesystem/{gw.system}/ops/rm",
            client.rm(gw.system, path, blocking=False),
        )
    except GatewayError as e:
        if e.status != 404:
            raise
