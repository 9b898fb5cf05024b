"""The embedded ``local`` backend: jobs are detached process groups on the hub host.

It is the default backend and the reference implementation of the hook contract for backend
authors: a template, pure command builders and pure parsers, nothing else. The "scheduler"
is :mod:`jobspawner.jobside.local_jobs`, run as the user through the spawner's ``exec_prefix``.

Options (``c.JobSpawner.backend_options``):

``python``
    The Python that runs :mod:`jobspawner.jobside.local_jobs` as the user (default: the hub's own).
    It must be executable by the user and have jobspawner installed.
``spool``
    Where each user's job records live. Every user has a private spool folder (owned by the
    user, mode 0700), checked before every use: a folder that is a symbolic link, owned by
    someone else or open to group/others is refused with a message naming it. Default
    ``$TMPDIR/jobspawner-local-<uid>``; when another user holds that path (created it first,
    or a link or folder on the way to it is theirs), the user's jobs go to
    ``~/.jobspawner/local-spool-<host>`` instead, and status and cancel look in both. A
    value with ``{uid}`` or ``{username}`` is each user's folder itself
    (``/scratch/{username}/.jobspawner``); a value without them is a parent in which each
    user gets the subfolder named by her uid; when several users share it, create it as
    root (``install -d -m 1777 /var/spool/jobspawner``): a missing parent is created private
    to the first user. Every folder and link on the way to a user's spool must be owned by
    root or the user and, when others may write to it, sticky.

Every command runs ``python -I -m jobspawner.jobside.local_jobs``: isolated, so a module planted in
the working folder, ``PYTHONPATH`` or the user's site folder is never imported.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from typing import Any

from jobspawner.contract.backend_options import Option
from jobspawner.contract.commands import Command, CommandError, CommandResult
from jobspawner.contract.hookspecs import hookimpl
from jobspawner.contract.jobspec import JobSpec
from jobspawner.contract.status import JobState, JobStatus
from jobspawner.jobside.local_jobs import SPOOL_ENV

OPTIONS = [
    Option("python", str, None, "The Python that runs `jobspawner.jobside.local_jobs` as the user "
           "(default: the hub's own); it must have jobspawner installed."),
    Option("spool", str, None, "Where each user's job records live (a private folder per "
           "user; `{uid}`/`{username}` name it, otherwise a parent)."),
]  # fmt: skip


@hookimpl
def backend_options() -> list[Option]:
    return OPTIONS


@hookimpl
def status_per_user() -> bool:
    """Status reads each user's own spool folder: it runs as the user, never as the hub."""
    return True


@hookimpl
def resource_fields() -> frozenset[str]:
    """No scheduler: the run time is enforced (``timeout``); every other request is refused."""
    return frozenset({"runtime"})


#: The run time is enforced with ``timeout --foreground``, which stays in the job's process
#: group (the supervisor's), so a cancel still stops everything the job started.
TEMPLATE = """\
#!/bin/bash
# jobspawner local job {{ job_name }}
set -e
{% if runtime_s is defined and runtime_s %}
{% set launcher = "timeout --foreground " ~ (runtime_s | int) %}
{% endif %}
{% include "jobspawner/job_body.sh" %}
"""

_STATES = {
    "running": JobState.RUNNING,
    "suspended": JobState.SUSPENDED,
    "done": JobState.DONE,
    "failed": JobState.FAILED,
    "cancelled": JobState.CANCELLED,
}


def _cli(options: Mapping[str, Any], *args: str, stdin: str | None = None) -> Command:
    python = str(options.get("python") or sys.executable)
    env = {SPOOL_ENV: str(options["spool"])} if options.get("spool") else {}
    return Command(
        [python, "-I", "-m", "jobspawner.jobside.local_jobs", *args], stdin=stdin, env=env
    )


@hookimpl
def script_template() -> str:
    return TEMPLATE


@hookimpl
def submit_command(spec: JobSpec, script: str) -> Command:
    return _cli(
        spec.options,
        "submit",
        "--output",
        spec.output_file,
        "--name",
        spec.job_name,
        "--workdir",
        spec.workdir,
        stdin=script,
    )


@hookimpl
def parse_submit(result: CommandResult) -> str:
    job_id = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    if not result.ok or not job_id:
        raise CommandError.from_result(result, problem="did not print a local job id")
    return job_id


@hookimpl
def status_command(job_ids: Sequence[str], options: Mapping[str, Any]) -> Command:
    return _cli(options, "status", *job_ids)


@hookimpl
def parse_status(result: CommandResult) -> dict[str, JobStatus]:
    if not result.ok:
        raise CommandError.from_result(result)
    found = {}
    for line in result.stdout.splitlines():
        parts = line.split()
        if len(parts) != 4 or parts[1] not in _STATES:
            continue
        job_id, state, code, host = parts
        found[job_id] = JobStatus(
            state=_STATES[state],
            native_state=state,
            host="127.0.0.1" if _STATES[state] in (JobState.RUNNING, JobState.SUSPENDED) else None,
            exit_code=int(code) if code.lstrip("-").isdigit() else None,
            extra={"node": host},
        )
    return found


@hookimpl
def cancel_command(job_ids: Sequence[str], options: Mapping[str, Any]) -> Command:
    return _cli(options, "cancel", *job_ids)
