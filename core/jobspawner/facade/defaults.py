"""The core's own hook implementations: the action hooks built on the pure hooks.

Registered in every plugin manager with ``trylast``, so a backend or site plugin that
implements one of these hooks replaces it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence

from jobspawner.boundary import bounded_text, log_reads, logfiles, secrets_cleanup, user_files
from jobspawner.contract.backend_options import Option
from jobspawner.contract.commands import Command, CommandError
from jobspawner.contract.context import BackendContext
from jobspawner.contract.hookspecs import hookimpl
from jobspawner.contract.jobspec import JobSpec
from jobspawner.contract.status import CancelOutcome, JobState, JobStatus, QueueInfo
from jobspawner.facade import templates
from jobspawner.facade.end_words import ended_sentence

#: How many times ``cancel`` checks before it gives up, the pause between checks, and how
#: often the cancel command is sent again (a running job may take seconds to go: SGE's dr).
CANCEL_CHECKS = 30
CANCEL_CHECK_INTERVAL = 0.3
CANCEL_RESEND_EVERY = 5
#: The setting that decides where the core and the backends create a job's files.
LOG_DIR_SETTING = "c.JobSpawner.log_dir"
#: Seconds a detail (``detail_command``) stays valid while the job's status is unchanged.
DETAIL_REFRESH = 10.0


@hookimpl
def backend_options() -> list[Option]:
    """The options the core reads for every backend."""
    return [
        Option(
            "detail_refresh",
            float,
            DETAIL_REFRESH,
            "Seconds a detail query's answer (the reason a job waits) is reused while the "
            "job's status is unchanged.",
        )
    ]


@hookimpl(trylast=True)
def render_script(spec: JobSpec, template: str) -> str:
    return templates.render(template, spec.variables)


@hookimpl(trylast=True)
def prepare_commands(spec: JobSpec) -> Sequence[Command]:
    """The job's output file, new and 0600, in its private log folder, as the user.

    Private because the job's output is the user's alone (LSF even copies the whole script
    into it); the file is made before the job so the scheduler writes into a private file.
    """
    return private_output_commands(spec.output_file)


def private_output_commands(output_file: str) -> list[Command]:
    """``output_file`` created new and 0600 by the user in her private (0700) folder: the
    folder is created when missing and refused when it is a link or not hers (see
    :mod:`jobspawner.boundary.user_files`)."""
    return [user_files.create_command(output_file)]


@hookimpl(trylast=True)
def get_host(status: JobStatus) -> str | None:
    return status.host


@hookimpl(trylast=True)
def describe_status(status: JobStatus) -> str:
    return describe_generic(status)


def describe_generic(status: JobStatus, reason: str | None = None) -> str:
    """A plain sentence for a status; ``reason`` replaces the scheduler's raw reason."""
    reason = reason if reason is not None else status.reason
    state = status.state
    if state is JobState.PENDING:
        text = "Your job is waiting in the queue"
        if reason:
            text += f": {reason}"
        if status.expected_start:
            text += f". Expected to start around {status.expected_start:%Y-%m-%d %H:%M}"
        return text + "."
    if state is JobState.HELD:
        return f"Your job is on hold{': ' + reason if reason else ''}."
    if state is JobState.SUSPENDED:
        return f"Your job is suspended{': ' + reason if reason else ''}."
    if state is JobState.RUNNING:
        host = f" on {status.host}" if status.host else ""
        return f"Your job is running{host}; waiting for the notebook server to start."
    if state is JobState.UNKNOWN:
        return f"The scheduler did not answer; retrying{': ' + reason if reason else ''}."
    return ended_sentence(status, reason)


async def run_prepare_commands(ctx: BackendContext, spec: JobSpec, script: str = "") -> None:
    """Run the preparation (``prepare_commands``: the output file, the secrets file...) as the
    user, before anything is submitted. A file the user's folder cannot safely take raises
    :class:`jobspawner.boundary.user_files.UserFileError` naming ``c.JobSpawner.log_dir``; any other
    failure :class:`CommandError`."""
    for command in ctx.backend.prepare_commands(spec, script):
        user_files.check(await ctx.run(command, check=False), LOG_DIR_SETTING)


@hookimpl(trylast=True)
async def submit(ctx: BackendContext, spec: JobSpec, script: str) -> str:
    backend = ctx.backend
    await run_prepare_commands(ctx, spec, script)
    *before, last = backend.submit_commands(spec, script)
    for command in before:
        await ctx.run(command)
    result = await ctx.run(last, check=False)
    return backend.parse_submit(result, spec)


async def _listed(ctx: BackendContext, ids: list[str]) -> dict[str, JobStatus]:
    """What the status command(s) say; raises when the scheduler did not answer."""
    backend = ctx.backend
    found: dict[str, JobStatus] = {}
    for command in backend.status_commands(ids, ctx.options):
        result = await ctx.run_query(command, check=False)
        found.update(backend.parse_status(ids, result, ctx.options))
    return found


async def _add_details(ctx: BackendContext, found: dict[str, JobStatus]) -> None:
    """Improve listed jobs with the backend's detail query, reusing an answer while the
    job's status is unchanged and younger than ``detail_refresh`` seconds."""
    backend = ctx.backend
    if not backend.implemented("detail_command"):
        return
    cache = backend.detail_cache
    refresh = float(ctx.options.get("detail_refresh", DETAIL_REFRESH))
    # keyed by who asked too: one backend object serves every query identity of the hub
    scope = repr(
        (ctx.query_runner.identity, sorted((str(k), str(v)) for k, v in ctx.options.items()))
    )
    now = time.monotonic()
    for key in [k for k, (t, _, _) in cache.items() if now - t > refresh]:
        del cache[key]
    fresh: dict[str, JobStatus] = {}
    for job_id, status in found.items():
        cached = cache.get((scope, job_id))
        if cached is not None and cached[1] == status:
            fresh[job_id] = cached[2]
    asked = {i: s for i, s in found.items() if i not in fresh}
    for command in backend.detail_commands(list(asked), asked, ctx.options):
        try:
            result = await ctx.run_query(command, check=False)
            better = backend.parse_detail(list(asked), result, asked, ctx.options)
        except (CommandError, ValueError):
            continue  # no detail: the statuses stay as the status command gave them
        for job_id, status in better.items():
            if job_id in asked:
                cache[(scope, job_id)] = (now, asked[job_id], status)
                fresh[job_id] = status
    found.update(fresh)


async def _history(ctx: BackendContext, missing: list[str]) -> dict[str, JobStatus]:
    """How jobs the status query no longer lists ended, as far as the history tells."""
    backend = ctx.backend
    ended: dict[str, JobStatus] = {}
    for command in backend.history_commands(missing, ctx.options):
        try:
            result = await ctx.run_query(command, check=False)
            said = backend.parse_history(missing, result, ctx.options)
        except (CommandError, ValueError):
            continue  # no accounting: the jobs stay "vanished" (ended, outcome unknown)
        ended.update((k, v) for k, v in said.items() if k in missing)
    return ended


@hookimpl(trylast=True)
async def query_status(ctx: BackendContext, job_ids: Sequence[str]) -> Mapping[str, JobStatus]:
    ids = list(dict.fromkeys(job_ids))
    if not ids:
        return {}
    try:
        found = await _listed(ctx, ids)
    except (CommandError, ValueError) as e:
        return {i: JobStatus.unknown(f"status query failed: {e}") for i in ids}
    asked = set(ids)
    found = {i: s for i, s in found.items() if i in asked}
    await _add_details(ctx, found)
    missing = [i for i in ids if i not in found]
    if missing:
        found.update(await _history(ctx, missing))
    return {i: found.get(i) or JobStatus.vanished() for i in ids}


async def _send_cancel(ctx: BackendContext, job_ids: list[str]) -> tuple[list[str], str]:
    """Run the cancel command(s); the jobs left to confirm, and the last error seen.

    Raises :class:`CommandError` at once when the scheduler refuses a job.
    """
    backend = ctx.backend
    remaining, last_error = list(job_ids), ""
    for command in backend.cancel_commands(job_ids, ctx.options):
        result = await ctx.run(command, check=False)
        said = backend.parse_cancel(job_ids, result, ctx.options)
        refused = [i for i in job_ids if said.get(i) is CancelOutcome.REFUSED]
        if refused:
            raise CommandError.from_result(
                result, problem=f"was refused for job(s) {', '.join(refused)}"
            )
        remaining = [i for i in remaining if said.get(i) is not CancelOutcome.GONE]
        if not result.ok:
            last_error = f"exit {result.returncode}: {(result.stderr or result.stdout).strip()}"
    return remaining, last_error


@hookimpl(trylast=True)
async def cancel(ctx: BackendContext, job_ids: Sequence[str]) -> None:
    backend = ctx.backend
    remaining = list(dict.fromkeys(job_ids))
    last_error = ""
    for attempt in range(CANCEL_CHECKS):
        if attempt % CANCEL_RESEND_EVERY == 0:
            remaining, error = await _send_cancel(ctx, remaining)
            last_error = error or last_error
            if not remaining:
                return
        await asyncio.sleep(CANCEL_CHECK_INTERVAL if attempt else 0.1)
        try:
            statuses = await _still_listed(ctx, remaining)
        except (CommandError, ValueError) as e:
            last_error = str(e)
            continue
        remaining = [i for i in remaining if i in statuses and not statuses[i].state.finished]
        if not remaining:
            return
    raise CommandError(
        backend.cancel_commands(remaining, ctx.options)[0],
        None,
        problem=(
            f"did not remove job(s) {', '.join(remaining)} after {CANCEL_CHECKS} checks"
            + (f" (last error: {last_error})" if last_error else "")
        ),
    )


async def _still_listed(ctx: BackendContext, job_ids: Sequence[str]) -> Mapping[str, JobStatus]:
    """The jobs the scheduler still lists: the status command alone answers (a job it no
    longer lists is not running, so no history query); a backend without one (REST) is
    asked through its ``query_status``."""
    backend = ctx.backend
    if not backend.implemented("status_command"):
        return await backend.query_status(ctx, job_ids)
    return await _listed(ctx, list(job_ids))


#: The user-side log reader: only a regular file (``[ -f ]``: a FIFO would block its
#: reader, a device never end), and only its last bytes (``tail -c``, never a line that
#: may have no end).
LOG_TAIL_SCRIPT = f'[ -f "$1" ] && exec tail -c {bounded_text.MAX_BYTES} -- "$1"'


def log_tail_command(path: str) -> Command:
    """Read the last :data:`~jobspawner.boundary.bounded_text.MAX_BYTES` bytes of ``path`` as the
    user, with a time limit and a hub-side cap on what it may print."""
    return Command(
        ["sh", "-c", LOG_TAIL_SCRIPT, "sh", path],
        timeout=log_reads.COMMAND_TIMEOUT,
        max_output=log_reads.MAX_OUTPUT,
        user_output=True,
    )


@hookimpl(trylast=True)
async def read_log(ctx: BackendContext, path: str, lines: int) -> str:
    """The end of the job's output, read as the user (:mod:`jobspawner.boundary.log_reads` cuts it
    to ``lines`` lines and bounds it).

    Through the user's exec prefix, or on a login node (SSH transport), :data:`LOG_TAIL_SCRIPT`
    runs as the user and can read only what the user can. Locally with no prefix the hub
    reads the file itself, in a worker thread, and only a regular file it may trust: never
    through a symbolic link and, for a hub running as root, only a file the user owns.
    """
    if ctx.runner.prefix or ctx.runner.remote:
        result = await ctx.run(log_tail_command(path), check=False)
        return result.stdout if result.ok else ""
    owner = logfiles.expected_owner(ctx.username)
    return await asyncio.to_thread(logfiles.tail_owned, path, lines, owner)


@hookimpl(trylast=True)
async def discover_resources(ctx: BackendContext) -> Sequence[QueueInfo]:
    backend = ctx.backend
    commands = backend.resources_commands(ctx.options)
    if not commands:
        return []
    # check=False: one refused command (many sites restrict pbsnodes) must not sink the rest;
    # parse_resources skips results that failed
    results = [await ctx.run_query(c, check=False) for c in commands]
    if not any(r.ok for r in results):
        # every command failed: the scheduler did not answer, which is not "no queues"
        first = results[0]
        raise CommandError(
            first.command,
            first.returncode,
            first.stdout,
            first.stderr,
            problem=(
                f"failed (exit status {first.returncode}): the scheduler did not answer the "
                f"discovery command(s); check that it is up and reachable from this host"
            ),
        )
    return backend.parse_resources(results, ctx.options)


@hookimpl(trylast=True)
async def remove_secrets(ctx: BackendContext, path: str) -> None:
    """``rm -f`` as the user through the runner that wrote the file (the core's submit).

    A backend with its own ``submit`` and no ``remove_secrets`` wrote the file its own way:
    nothing is run on the hub's host for it (it may not even be a submit host).
    """
    if not ctx.backend.implemented("submit_command"):
        raise secrets_cleanup.NotRemovable(
            f'The jobspawner backend "{ctx.backend.name}" submits jobs its own way and '
            "implements no remove_secrets hook, so a job's secrets file it wrote may remain; "
            "report this to its authors."
        )
    await secrets_cleanup.remove_secrets_by_runner(ctx, path)
