"""The jobspawner hook contract: every hook a scheduler backend can implement.

A backend is a pluggy plugin (usually a module) registered in the ``jobspawner.backends``
entry-point group. The hooks come in two layers:

* **Pure hooks** say *what to run* (``*_command``) and *how to read what came back*
  (``parse_*``). They never run anything and are tested on recorded scheduler output.
* **Action hooks** (``submit``, ``query_status``, ``cancel``, ``read_log``,
  ``remove_secrets``, ``discover_resources``) are coroutines that do the work. The core
  implements each of them on top of the pure hooks (see :mod:`jobspawner.facade.defaults`), so a
  command-line backend implements only pure hooks. A backend that talks to a REST API
  (slurmrestd, FirecREST) implements the action hooks instead and never returns a command.

Every hook except the ones marked otherwise is ``firstresult``: the first implementation
that returns something other than ``None`` wins. For the action hooks the facade awaits each
implementation's coroutine in turn: an ``async def`` implementation whose coroutine returns
``None`` falls through to the next one too (``cancel``, which has no result, falls through
only from a plain ``def`` returning ``None``).

Every ``*_command`` hook may return one :class:`~jobspawner.contract.commands.Command` or a list of
them (``[]`` or ``None`` for none): Grid Engine's ``qacct`` takes one job per call, Slurm
needs one ``scancel`` per cluster. The core runs them in order and reads each result with
the matching ``parse_*`` hook. Site plugins (``c.JobSpawner.plugins``) are
registered after the backend, so pluggy calls them first; they may return ``None`` to fall
through, use ``tryfirst``/``trylast``, or wrap a hook with ``@hookimpl(wrapper=True)`` to
change the backend's answer (for example to add a directive to every job script).

An implementation may accept any subset of a spec's arguments (pluggy passes only the ones
it names).
"""

from __future__ import annotations

from collections.abc import Awaitable, Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from jobspawner.contract.backend_options import Option
    from jobspawner.contract.commands import Command, CommandResult
    from jobspawner.contract.context import BackendContext
    from jobspawner.contract.jobspec import JobSpec
    from jobspawner.contract.status import CancelOutcome, JobStatus, QueueInfo

PROJECT = "jobspawner"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


# --- configuration ---------------------------------------------------------------------------


@hookspec
def backend_options() -> Sequence[Option] | None:
    """Return the backend options (``c.JobSpawner.backend_options``) this plugin reads, as
    :class:`jobspawner.Option` values: name, type, default and a one-sentence help.

    Not ``firstresult``: the core, the backend and site plugins each declare theirs. The hub
    refuses to start with an unknown key or a value of the wrong type, hooks and templates
    (``opts``) get typed values with the defaults filled in, and the backend's docs table is
    generated from the declarations. A backend that declares nothing gets its options
    unchecked (and a warning at hub start).

    Example::

        @hookimpl
        def backend_options():
            return [Option("use_srun", bool, False, "Start the server with srun."),
                    *program_options("sbatch", "squeue")]
    """


@hookspec(firstresult=True)
def resource_fields(options: Mapping[str, Any]) -> Collection[str] | None:
    """Return the resource fields this backend honours (``queue``, ``runtime``, ``gpu_type``...,
    the names of ``c.JobSpawner.req_*`` and of the user options), given the typed backend
    options (a field may depend on one, e.g. the resource that names a GPU model).

    The hub refuses to start when a ``req_*`` setting names a field the backend does not
    honour (it only warns for ``runtime``, which a backend without limits can ignore
    harmlessly), and a user option for such a field is refused. Return ``None`` (or do not
    implement it) to leave requests unchecked; the hub warns at start.

    Example::

        @hookimpl
        def resource_fields(options):
            return {"queue", "account", "runtime", "memory", "cpus"}
    """


# --- the job script -------------------------------------------------------------------------


@hookspec(firstresult=True)
def script_template(spec: JobSpec) -> str | None:
    """Return the backend's default job-script template (Jinja2 source text).

    Called when the site has not set ``c.JobSpawner.batch_script``. The template is rendered
    by :func:`render_script` in a sandbox with ``StrictUndefined``; use the ``quote`` filter
    on every value that lands in the script.

    Example::

        @hookimpl
        def script_template(spec):
            return "#!/bin/bash\\n#SBATCH --job-name={{ job_name | quote }}\\n{{ command }}\\n"
    """


@hookspec(firstresult=True)
def render_script(spec: JobSpec, template: str) -> str | None:
    """Return the job script rendered from ``template`` and ``spec.variables``.

    The core's implementation renders in a sandboxed Jinja2 environment; a site plugin may
    wrap it to post-process every script.

    Example (a site wrapper adding a directive to every script)::

        @hookimpl(wrapper=True)
        def render_script(spec, template):
            script = yield
            first, rest = script.split("\\n", 1)
            return f"{first}\\n#SBATCH --licenses=jupyter\\n{rest}"
    """


@hookspec(firstresult=True)
def check_constraint(constraint: str, options: Mapping[str, Any]) -> str | None:
    """Return why ``constraint`` cannot be used with this scheduler, in plain words, or
    ``""`` when it can (``None`` falls through to the next implementation).

    A constraint names node *features*; it is never a resource list. The spawner calls this
    before anything is submitted, for the user's constraint and the site's
    (``c.JobSpawner.req_constraint``); a reason refuses the spawn with an error naming the
    field. Check the whole syntax your template writes the value into, so that it can
    neither close the site's part of an expression nor add a resource (``h_rt=``,
    ``walltime=``, ``rusage[...]``). :class:`jobspawner.facade.constraints.FeatureGrammar`
    describes most schedulers' syntax. Without an implementation the core's generic check
    applies (feature names and ``& | ! * ( ) [ ] : ,``). Pure.

    Example (features joined with ``:``, as Torque's node properties)::

        GRAMMAR = FeatureGrammar(name=re.compile(r"[A-Za-z][A-Za-z0-9_.-]*"),
                                 binary=(":",), example="bigmem:ib")

        @hookimpl
        def check_constraint(constraint):
            return GRAMMAR.check(constraint) or ""
    """


# --- submission ------------------------------------------------------------------------------


@hookspec(firstresult=True)
def prepare_commands(spec: JobSpec, script: str) -> Sequence[Command] | None:
    """Return commands to run (as the user) before submitting, e.g. creating the log folder.

    ``script`` is the rendered job script, for a scheduler that needs it as a file (HTCondor
    runs it as the job's executable). The core's default creates ``spec.output_file`` new
    in the user's private folder; an implementation that adds commands usually keeps it
    (:func:`jobspawner.private_output_commands`). Create every file the same way, with
    :func:`jobspawner.user_file_command` (new, as the user, in a folder only she can write;
    a refusal names ``c.JobSpawner.log_dir``). Return ``[]`` for none.

    Example (the script written next to the output file, as the user)::

        @hookimpl
        def prepare_commands(spec, script):
            write = user_file_command(spec.output_file + ".sh", script, mode="700")
            return [*private_output_commands(spec.output_file), write]
    """


@hookspec(firstresult=True)
def submit_command(spec: JobSpec, script: str) -> Command | Sequence[Command] | None:
    """Return the command that submits ``script`` (usually on standard input).

    With several commands the last one submits: its result goes to :func:`parse_submit`.

    Example::

        @hookimpl
        def submit_command(spec, script):
            return Command(["sbatch", "--parsable"], stdin=script)
    """


@hookspec(firstresult=True)
def parse_submit(result: CommandResult, spec: JobSpec) -> str | None:
    """Return the job id from the submit command's result.

    Raise :class:`jobspawner.contract.commands.CommandError` (``CommandError.from_result(result,
    problem=...)``) when the command failed or no id can be found; say what was expected.

    Example::

        @hookimpl
        def parse_submit(result):
            return result.stdout.strip().split(";")[0]
    """


@hookspec(firstresult=True)
def submit(ctx: BackendContext, spec: JobSpec, script: str) -> Awaitable[str] | None:
    """Action: submit ``script`` and return (a coroutine returning) the job id.

    The core's default runs :func:`prepare_commands`, :func:`submit_command` and
    :func:`parse_submit`. REST backends implement this instead; an ``async def``
    implementation whose coroutine returns ``None`` falls through to the next one.

    Example (a REST backend)::

        @hookimpl
        async def submit(ctx, spec, script):
            reply = await client.post("/jobs", json={"script": script, "name": spec.job_name})
            return str(reply["job_id"])
    """


# --- status ----------------------------------------------------------------------------------


@hookspec(firstresult=True)
def status_command(
    job_ids: Sequence[str], options: Mapping[str, Any]
) -> Command | Sequence[Command] | None:
    """Return one command that reports the status of *all* ``job_ids`` at once.

    Status is batched: the core polls every job of a backend in one call per round. (A list
    is accepted, each result read by :func:`parse_status`, but one command is the rule.)

    Example::

        @hookimpl
        def status_command(job_ids):
            return Command(["squeue", "-h", "-t", "all", "-j", ",".join(job_ids), "-o", "%i|%T"])
    """


@hookspec(firstresult=True)
def parse_status(
    job_ids: Sequence[str], result: CommandResult, options: Mapping[str, Any]
) -> Mapping[str, JobStatus] | None:
    """Return ``{job_id: JobStatus}`` for the jobs found in the status command's result.

    Pure: no I/O. Leave out ids the output does not mention; the core asks
    :func:`history_command` about them, and an id still missing after that gets
    :meth:`JobStatus.vanished` (the job ended). ``result`` may have a non-zero exit code:
    return ``{}`` when the code means "no such job" (Slurm's single-id case), and raise
    :class:`~jobspawner.contract.commands.CommandError` when the scheduler did not answer, in which
    case every job is reported ``unknown``, never gone. Never ``assert``: skip lines you
    cannot read. Where the scheduler reports when a running job ends at its time limit, set
    ``end_time`` (JupyterLab counts down to it and saves before it; otherwise the requested
    runtime counts: :mod:`jobspawner.lifecycle.walltime`).

    Example::

        @hookimpl
        def parse_status(result):
            rows = (line.split("|") for line in result.stdout.split())
            return {job_id: JobStatus(STATES[code]) for job_id, code in rows}
    """


@hookspec(firstresult=True)
def history_command(
    job_ids: Sequence[str], options: Mapping[str, Any]
) -> Command | Sequence[Command] | None:
    """Return the command(s) that tell how jobs that left the queue ended (``sacct``,
    ``qacct``, ``condor_history``), or ``None`` when the backend has no such record.

    Only called with the ids the status command did not report. A tool that takes one job
    per call (``qacct -j``, ``tracejob``) returns one command per job; each result is read
    by :func:`parse_history`, and one that fails leaves only its jobs ``vanished``.

    Example::

        @hookimpl
        def history_command(job_ids):
            return Command(["sacct", "-n", "-X", "-P", "-o", "JobID,State,ExitCode",
                            "-j", ",".join(job_ids)])
    """


@hookspec(firstresult=True)
def parse_history(
    job_ids: Sequence[str], result: CommandResult, options: Mapping[str, Any]
) -> Mapping[str, JobStatus] | None:
    """Return ``{job_id: JobStatus}`` (finished states with exit codes) read from the
    history command's result. Same rules as :func:`parse_status`; a history command that
    fails (accounting disabled) leaves the jobs ``vanished``, it does not make them unknown.

    Example::

        @hookimpl
        def parse_history(result):
            rows = (line.split("|") for line in result.stdout.splitlines())
            return {i: JobStatus(FINAL[state], exit_code=int(code.split(":")[0]))
                    for i, state, code in rows}
    """


@hookspec(firstresult=True)
def detail_command(
    job_ids: Sequence[str], statuses: Mapping[str, JobStatus], options: Mapping[str, Any]
) -> Command | Sequence[Command] | None:
    """Return a second query about jobs the status command listed, for what it does not tell
    (Grid Engine's ``qstat -j`` gives the reason a job waits or failed), or ``None`` when no
    job in ``statuses`` needs one. Pure.

    ``statuses`` are the jobs' statuses from :func:`parse_status`; pick the ids that need
    more (waiting, held, in error). The core asks only about jobs whose status changed since
    their last detail, or whose detail is older than the ``detail_refresh`` backend option
    (seconds, default 10): schedulers recompute such reasons once per scheduling run.

    Example::

        @hookimpl
        def detail_command(statuses):
            waiting = [i for i, s in statuses.items() if s.state is JobState.PENDING]
            return Command(["qstat", "-j", ",".join(waiting)]) if waiting else None
    """


@hookspec(firstresult=True)
def parse_detail(
    job_ids: Sequence[str],
    result: CommandResult,
    statuses: Mapping[str, JobStatus],
    options: Mapping[str, Any],
) -> Mapping[str, JobStatus] | None:
    """Return the statuses :func:`detail_command`'s result improves, ``{job_id: JobStatus}``
    (usually ``dataclasses.replace(statuses[i], reason=...)``). Pure; a failed detail query
    changes nothing (return ``{}``), it never makes a job unknown.

    Example::

        @hookimpl
        def parse_detail(result, statuses):
            reasons = read_reasons(result.stdout)
            return {i: replace(s, reason=reasons[i]) for i, s in statuses.items() if i in reasons}
    """


@hookspec(firstresult=True)
def query_status(
    ctx: BackendContext, job_ids: Sequence[str]
) -> Awaitable[Mapping[str, JobStatus]] | None:
    """Action: return (a coroutine returning) ``{job_id: JobStatus}`` for every id given.

    The core's default runs the status command, the detail command for the listed jobs
    that need one, then the history command for the ids that were missing, and fills the
    rest with :meth:`JobStatus.vanished`. A query that fails yields
    :meth:`JobStatus.unknown` for every id.

    Example (a REST backend)::

        @hookimpl
        async def query_status(ctx, job_ids):
            jobs = await client.get("/jobs", params={"ids": ",".join(job_ids)})
            found = {j["id"]: JobStatus(STATES[j["state"]], host=j["node"]) for j in jobs}
            return {i: found.get(i) or JobStatus.vanished() for i in job_ids}
    """


@hookspec(firstresult=True)
def status_per_user() -> bool | None:
    """Return ``True`` when this backend's status query must run as each job's user.

    By default (no implementation, or ``None``) the hub's shared status rounds run as the
    hub's own identity, without ``exec_prefix``: one query per round covers every user's
    jobs. That is right for a status command that asks a daemon (``squeue``, ``qstat``,
    ``bjobs``, ``condor_q``). A backend whose status query reads files in the users' own
    folders (the built-in ``local`` backend reads each user's spool) returns ``True``: its
    queries then run as each user, through ``exec_prefix``, so the hub never reads a file a
    user controls as root. ``c.JobSpawner.status_exec_prefix`` overrides both.

    Example::

        @hookimpl
        def status_per_user():
            return True
    """


@hookspec(firstresult=True)
def get_host(status: JobStatus, options: Mapping[str, Any]) -> str | None:
    """Return the host name the hub should connect to for a running job.

    The core's default returns ``status.host``. Sites override it to map node names to
    addresses (``node01`` -> ``node01.ib.example.org``).

    Example::

        @hookimpl
        def get_host(status):
            return status.host and f"{status.host}.ib.example.org"
    """


@hookspec(firstresult=True)
def describe_status(status: JobStatus) -> str | None:
    """Return one sentence telling a notebook user what the job is doing, in plain words.

    Used in the spawn progress stream. Backends translate their reason codes (Slurm's
    ``QOSMaxJobsPerUserLimit`` -> "you have reached the number of jobs your QOS allows").
    The core's default builds a generic sentence from state, reason and expected start.

    Example::

        @hookimpl
        def describe_status(status):
            if status.reason == "QOSMaxJobsPerUserLimit":
                return "You already run as many jobs as your QOS allows; waiting for one to end."
            return None  # fall through to the core's sentence
    """


# --- cancel ----------------------------------------------------------------------------------


@hookspec(firstresult=True)
def cancel_command(
    job_ids: Sequence[str], options: Mapping[str, Any]
) -> Command | Sequence[Command] | None:
    """Return the command(s) that cancel ``job_ids`` (Slurm: one ``scancel`` per cluster).
    Each result is read by :func:`parse_cancel`.

    Its exit status is not trusted (``scancel`` exits 0 when refused): the core confirms the
    cancel with a status query and retries.

    Example::

        @hookimpl
        def cancel_command(job_ids):
            return Command(["scancel", *job_ids])
    """


@hookspec(firstresult=True)
def parse_cancel(
    job_ids: Sequence[str], result: CommandResult, options: Mapping[str, Any]
) -> Mapping[str, CancelOutcome] | None:
    """Return what the cancel command's result says about each job, when it says something
    definite: :attr:`CancelOutcome.GONE` (removed, or unknown to the scheduler: nothing to
    confirm) or :attr:`CancelOutcome.REFUSED` (it will not cancel the job: the cancel fails
    at once). Leave out the others; the core confirms them with the status command.

    Pure. Without an implementation every job is confirmed with the status command.

    Example (HTCondor's ``condor_rm`` answers per job)::

        @hookimpl
        def parse_cancel(result):
            said = {}
            for line in (result.stdout + result.stderr).splitlines():
                words = line.split()
                if line.endswith(("marked for removal", "not found")):
                    said[words[1]] = CancelOutcome.GONE
                elif "Permission denied" in line and len(words) > 1:
                    said[words[1]] = CancelOutcome.REFUSED
            return said
    """


@hookspec(firstresult=True)
def cancel(ctx: BackendContext, job_ids: Sequence[str]) -> Awaitable[None] | None:
    """Action: cancel ``job_ids`` and return once the scheduler confirms they are gone.

    Raise :class:`~jobspawner.contract.commands.CommandError` when a job is still alive after the
    retries or the scheduler refuses. The core's default runs :func:`cancel_command`, reads
    its answer with :func:`parse_cancel`, and confirms the rest with the status command alone
    (a job the scheduler no longer lists is not running; no history query is needed). Its
    coroutine returns ``None`` when done; to leave the cancel to the next implementation,
    return ``None`` from a plain ``def``.

    Example (a REST backend)::

        @hookimpl
        async def cancel(ctx, job_ids):
            for job_id in job_ids:
                await client.delete(f"/jobs/{job_id}")
            # then poll query_status until every job is finished, or raise CommandError
    """


# --- logs ------------------------------------------------------------------------------------


@hookspec(firstresult=True)
def read_log(ctx: BackendContext, path: str, lines: int) -> Awaitable[str] | None:
    """Action: return the end of a job's output file (at least its last ``lines`` lines).

    The file is the user's, so read it as the user and read **bytes, not lines** (a line
    may have no end): at most :data:`jobspawner.boundary.bounded_text.MAX_BYTES` (64 KiB) from its
    end. The core bounds what the hook returns (bytes, lines, line length), limits the time
    and the reads in flight, and shares recent reads (:mod:`jobspawner.boundary.log_reads`). The
    core's default runs ``sh -c '[ -f "$1" ] && exec tail -c 65536 -- "$1"'`` through the
    exec prefix (a FIFO is refused before it is opened), or, locally without a prefix,
    reads the file itself in a worker thread.

    Example (a REST backend with a file API)::

        @hookimpl
        async def read_log(ctx, path, lines):
            return await client.get("/files/tail", params={"path": path, "bytes": 65536})
    """


# --- cleaning up -----------------------------------------------------------------------------


@hookspec(firstresult=True)
def remove_secrets(ctx: BackendContext, path: str) -> Awaitable[None] | None:
    """Action: delete a job's leftover secrets file (``path``, see :attr:`JobSpec.secrets_file`)
    as the user, through the same way it was written; a file that is gone already is fine.

    ``jobspawner-singleuser`` deletes the file once it has read it; the core calls this hook
    when a job is cancelled or seen ended, so a job cancelled while queued, or one that failed
    before its server started, does not leave the server's API token on disk. The core's
    default runs ``rm -f -- path`` as the user through ``ctx.run`` (the runner that wrote the
    file for every backend using the core's preparation commands). A backend that writes the
    file some other way (a REST gateway's file API) implements this hook the same way.
    Raise :class:`~jobspawner.contract.commands.CommandError` when the file could not be removed;
    the
    spawner logs it and goes on.

    Example (a REST backend with a file API)::

        @hookimpl
        async def remove_secrets(ctx, path):
            await client.delete("/files", params={"path": path}, missing_ok=True)
    """


# --- resource discovery ----------------------------------------------------------------------


@hookspec(firstresult=True)
def resources_commands(options: Mapping[str, Any]) -> Sequence[Command] | None:
    """Return the commands whose outputs describe the queues/partitions and their limits
    (``sinfo``, ``qstat -Q -f``, ``bqueues``...), or ``None`` if the backend has none.

    Example::

        @hookimpl
        def resources_commands():
            return [Command(["sinfo", "-h", "-o", "%P|%l|%c|%m|%G|%D|%t|%C"])]
    """


@hookspec(firstresult=True)
def parse_resources(
    results: Sequence[CommandResult], options: Mapping[str, Any]
) -> Sequence[QueueInfo] | None:
    """Return the queues read from the results of :func:`resources_commands` (same order).

    Results may have failed (a site restricts ``pbsnodes``): skip those.

    Example::

        @hookimpl
        def parse_resources(results):
            return [QueueInfo(name=line.split("|")[0].rstrip("*"))
                    for line in results[0].stdout.splitlines()] if results[0].ok else []
    """


@hookspec(firstresult=True)
def discover_resources(ctx: BackendContext) -> Awaitable[Sequence[QueueInfo]] | None:
    """Action: return (a coroutine returning) the queues/partitions and their limits.

    Used by the resource form; the core's default runs :func:`resources_commands` and
    :func:`parse_resources`, and returns ``[]`` for backends without them.

    Example (a REST backend)::

        @hookimpl
        async def discover_resources(ctx):
            return [QueueInfo(name=p["name"], max_time_s=p["max_time"])
                    for p in await client.get("/partitions")]
    """
