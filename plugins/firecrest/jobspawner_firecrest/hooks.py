"""The FirecREST v2 backend's hook implementations (entry point ``firecrest``).

FirecREST runs ``sbatch`` on the cluster as the token's user, so the job script is the Slurm
backend's own (its ``#SBATCH`` directives apply), plus ``--uenv``/``--view`` lines for a
user environment image. Every request goes through ``pyfirecrest``'s asynchronous v2 client
with the user's OIDC access token from JupyterHub's auth state (see :mod:`.tokens`).

``submit``
    ``POST /filesystem/{system}/ops/mkdir`` + ``PUT .../chmod`` (the private log folder),
    the job's secrets file by ``POST .../ops/upload`` between ``GET .../ops/stat`` checks
    (a private real folder and a free name before, a regular 0600 file after ``chmod 600``:
    FirecREST's upload is not exclusive, see :func:`_write_secrets`), then
    ``POST /compute/{system}/jobs`` with the script.
``query_status``
    With a service account: **one** ``GET /compute/{system}/jobs?allusers=true`` per round
    for every user's jobs. Without: one ``GET /compute/{system}/jobs`` per user with
    watched jobs (FirecREST has no way to ask about several users' jobs with their own
    tokens). A job the list no longer shows has ended; ``GET .../jobs/{id}`` says how
    (accounting's state and exit code; 404 is a plain end). A failed request makes its
    jobs unknown, never gone; a job whose owner has no usable token yet is unknown too.
``discover_resources``
    ``GET /status/{system}/partitions`` and ``.../nodes`` with the service account.
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
import contextlib
import functools
import json
import os
import re
import stat
import tempfile
from collections.abc import Mapping, Sequence
from typing import Any

import httpx
from firecrest.FirecrestException import FirecrestException, UnexpectedStatusException
from firecrest.v2 import AsyncFirecrest
from jobspawner import (
    LOG_TAIL_BYTES,
    BackendContext,
    Command,
    JobSpec,
    JobStatus,
    QueueInfo,
    UserFileError,
    confirm_cancel,
    folder_refused_words,
    hookimpl,
    name_taken_words,
    not_ended_words,
)
from jobspawner_slurm.shared import check_constraint, describe_slurm_status, job_script

from .convert import job_statuses, job_users, queues
from .errors import GatewayError, explain
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
                said = explain(status, response.json())
            except ValueError:
                said = response.text[:300]
        raise GatewayError(method, url, status, said or "unexpected answer") from e
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


#: the setting that chose the folder of the output and secrets files (the core's words)
LOG_DIR_SETTING = "c.JobSpawner.log_dir"


async def _stat(gw: Gateway, client: AsyncFirecrest, path: str) -> Mapping[str, Any] | None:
    """``lstat`` of ``path`` through FirecREST (never following a link); None when absent."""
    try:
        out = await call(
            gw,
            "GET",
            f"/filesystem/{gw.system}/ops/stat",
            client.stat(gw.system, path, dereference=False),
        )
    except GatewayError as e:
        if e.status == 404:
            return None
        raise
    return out if isinstance(out, Mapping) else {}


def _refused(path: str, problem: str) -> UserFileError:
    return UserFileError(Command(["POST", f"(FirecREST upload) {path}"]), None, "", "", problem)


async def _write_secrets(gw: Gateway, client: AsyncFirecrest, spec: JobSpec) -> None:
    """Upload the job's secrets file as the user, private from the start.

    FirecREST's upload is ``base64 -d > path`` in the user's SSH session: it is not
    exclusive (it follows and replaces an existing name) and the file gets the session's
    umask (0644). So the folder must be private first: it was made 0700 by its owner
    (``submit``), and here it must be a real folder (not a link) with no access for others,
    and the name must be free; after the upload and ``chmod 600`` the file must be a regular
    file of mode 0600. Anything else refuses the spawn (:class:`UserFileError`, the core's
    words) and removes what was uploaded.
    """
    folder, name = os.path.split(spec.secrets_file)
    info = await _stat(gw, client, folder)
    mode = int(info.get("mode", 0)) if info else 0
    if not stat.S_ISDIR(mode) or mode & 0o077:
        raise _refused(
            spec.secrets_file, folder_refused_words(spec.secrets_file, folder, LOG_DIR_SETTING)
        )
    if await _stat(gw, client, spec.secrets_file) is not None:
        raise _refused(spec.secrets_file, name_taken_words(spec.secrets_file, LOG_DIR_SETTING))
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
    info = await _stat(gw, client, spec.secrets_file)
    mode = int(info.get("mode", 0)) if info else 0
    if (
        not stat.S_ISREG(mode)
        or stat.S_IMODE(mode) != 0o600
        or int((info or {}).get("nlink", 1)) != 1
    ):
        with contextlib.suppress(GatewayError):
            await call(
                gw,
                "DELETE",
                f"/filesystem/{gw.system}/ops/rm",
                client.rm(gw.system, spec.secrets_file, blocking=False),
            )
        raise _refused(spec.secrets_file, name_taken_words(spec.secrets_file, LOG_DIR_SETTING))


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


#: At most this many single-job requests at once, for jobs that left the list.
ENDED_QUERIES = 8


async def _ended(gw: Gateway, client: AsyncFirecrest, job_ids: list[str]) -> dict[str, JobStatus]:
    """How jobs that a successful list no longer shows ended: they have ended, and
    ``GET /compute/{system}/jobs/{id}`` may say how (its state and exit code, from Slurm's
    accounting). Its 404 ("Job not found.", a job accounting does not know) or any failure
    leaves the plain "ended"; so does an answer that is not an end (FirecREST reads the job
    from ``sacct``, whose line it may split wrongly on some Slurm versions)."""
    limit = asyncio.Semaphore(ENDED_QUERIES)

    async def one(job_id: str) -> JobStatus:
        async with limit:
            try:
                jobs = await call(
                    gw,
                    "GET",
                    f"/compute/{gw.system}/jobs/{job_id}",
                    client.job_info(gw.system, jobid=job_id),
                )
            except GatewayError:
                return JobStatus.vanished()
        status = job_statuses(list(jobs or []), [job_id]).get(job_id)
        return status if status is not None and status.state.finished else JobStatus.vanished()

    found = await asyncio.gather(*(one(i) for i in job_ids))
    return dict(zip(job_ids, found, strict=False))


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
        client = gw.client("service", gw.service)
        ended = await _ended(gw, client, [i for i in ids if i not in found])
        return {i: found.get(i) or ended[i] for i in ids}
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
            client = gw.for_user(ctx, user)
            jobs = await _jobs(gw, client, allusers=False)
        except GatewayError as e:
            out.update((i, JobStatus.unknown(f"status query failed: {e}")) for i in user_ids)
            return
        if unowned:  # after a hub restart: learn whose jobs these are
            gw.owners.update((j, user) for j, u in job_users(jobs).items() if j in unowned)
        found = job_statuses(jobs, [*user_ids, *unowned])
        ended = await _ended(gw, client, [i for i in user_ids if i not in found])
        out.update((i, found.get(i) or ended[i]) for i in user_ids)
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
    the user; the core cuts them to ``lines`` lines (:mod:`jobspawner.boundary.log_reads`)."""
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


@hookimpl
async def discover_resources(ctx: BackendContext) -> Sequence[QueueInfo]:
    """The partitions and their nodes (``GET /status/{system}/partitions`` and ``/nodes``)
    for the spawn form's live queues, asked with the service account: the form's discovery
    acts as nobody in particular and its answer is shared by every user of the same
    configuration, so it must not come from one user's token. Without a service account it
    asks as the context's user when there is one (``jobspawner resources --user``), else
    reports no queues."""
    gw = gateway(ctx.options)
    if gw.service is not None:
        client = gw.client("service", gw.service)
    elif ctx.username:
        client = gw.for_user(ctx)
    else:
        return []
    partitions, nodes = await asyncio.gather(
        call(gw, "GET", f"/status/{gw.system}/partitions", client.partitions(gw.system)),
        call(gw, "GET", f"/status/{gw.system}/nodes", client.nodes(gw.system)),
    )
    return queues(list(partitions or []), list(nodes or []))
