"""``jobspawner check``: everything a spawn needs, tested before a user tries it.

Each step adds :class:`~jobspawner.cli.output.Finding` values; a ``fail`` means a spawn
would fail (or run something other than what the admin meant), a ``warn`` that it works but
surprises. Commands are looked up on the PATH the hub's commands get (on the login node with
the SSH transport, :mod:`jobspawner.cli.remote_commands`) and the scheduler is asked one
status query for a job id that does not exist, through the same transport.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from traitlets.config import Config

from .. import hub_compat
from ..backend import Backend, BackendError
from ..commands import Command, CommandError, command_environment
from ..host_map import HostMap, HostMapError
from ..hub_compat import SpawnException
from ..resources import FIELDS
from ..spawner import JobSpawner
from ..status import JobState
from . import hubconfig
from .leftovers import command_leftover, find_leftovers, template_leftovers
from .output import Finding
from .remote_commands import remote_command_findings


@dataclass
class CheckReport:
    """The findings, the rendered script (redacted) and the verdict."""

    findings: list[Finding] = field(default_factory=list)
    script: str | None = None

    @property
    def passed(self) -> bool:
        return not any(f.level == "fail" for f in self.findings)

    def add(self, level: str, topic: str, message: str, fix: str = "") -> None:
        self.extend([Finding(level, topic, message, fix)])

    def extend(self, findings: Sequence[Finding]) -> None:
        """Add findings, each once (the config and the spawner may both see a setting)."""
        self.findings.extend(f for f in findings if f not in self.findings)


def _message(e: BaseException) -> str:
    if isinstance(e, SpawnException):
        return str(getattr(e, "log_message", None) or e)
    return str(e)


def _known_traits(config: Config) -> frozenset[str]:
    try:
        cls = hubconfig.spawner_class(config)
    except hubconfig.HubConfigError:
        cls = JobSpawner
    if not (isinstance(cls, type) and issubclass(cls, JobSpawner)):
        cls = JobSpawner
    return frozenset(cls.class_trait_names())


def scheduler_commands(
    backend: Backend, spawner: JobSpawner, spec: Any, script: str
) -> list[Command]:
    """The commands the backend runs for a spawn: submit, status, cancel, discovery."""
    options = dict(spawner.backend_options)
    out: list[Command] = []
    if backend.implemented("submit_command"):
        out.append(backend.submit_command(spec, script))
    if backend.implemented("status_command"):
        out.append(backend.status_command([], options))
    if backend.implemented("cancel_command"):
        out.append(backend.cancel_command(["0"], options))
    out.extend(backend.resources_commands(options))
    return out


async def check_commands(
    report: CheckReport, commands: Sequence[Command], spawner: JobSpawner
) -> None:
    """Each program (and the exec prefix's) is on the PATH commands get where they run: on
    this host, or on the login node through the SSH transport."""
    if spawner.transport != "local":
        programs = [c.argv[0] for c in commands]
        report.extend(await remote_command_findings(spawner, programs))
        return
    check_local_commands(report, commands, spawner)


def check_local_commands(
    report: CheckReport, commands: Sequence[Command], spawner: JobSpawner
) -> None:
    """Each program (and the exec prefix's) is on the PATH local commands get."""
    path = command_environment(spawner.command_env_keep).get("PATH")
    prefix = spawner._prefix(spawner.exec_prefix)
    if prefix and not shutil.which(prefix[0], path=path):
        report.add(
            "fail",
            "c.JobSpawner.exec_prefix",
            f"{prefix[0]} is not on the PATH scheduler commands get ({path})",
            f"install {prefix[0]} or write its full path in c.JobSpawner.exec_prefix",
        )
    for program in dict.fromkeys(c.argv[0] for c in commands):
        found = shutil.which(program, path=path)
        if found:
            report.add("ok", "command", f"{program} ({found})")
        else:
            report.add(
                "fail",
                "command",
                f"{program} is not on the PATH scheduler commands get ({path})",
                "install the scheduler's client tools on the hub host, or give the full "
                "path in c.JobSpawner.backend_options (see the backend's page)",
            )


#: A job id no scheduler has handed out: asking for it tests that the scheduler answers.
PROBE_JOB_ID = "999999999"


async def check_scheduler_answers(report: CheckReport, spawner: JobSpawner) -> None:
    """One status query, through the status prefix, for a job id that does not exist."""
    backend = spawner.load()
    ctx = spawner.context()
    ctx.runner = ctx.query_runner
    try:
        statuses = await backend.query_status(ctx, [PROBE_JOB_ID])
    except (CommandError, BackendError, ValueError) as e:
        problem = str(e)
    else:
        status = statuses.get(PROBE_JOB_ID)
        if status is None or status.state is not JobState.UNKNOWN:
            report.add("ok", "scheduler", "answers a status query")
            return
        problem = status.reason or "no answer"
    report.add(
        "fail",
        "scheduler",
        f"did not answer a status query: {problem}",
        "check that the scheduler's controller runs and that this host may reach it "
        "(as the user the status commands run as: c.JobSpawner.status_exec_prefix)",
    )


def check_settings(report: CheckReport, spawner: JobSpawner) -> None:
    """Resources, constraint, root refusal, routing, user options, server command, timing."""
    try:
        spawner.resources()
        report.add("ok", "resources", "the req_* settings are valid")
    except SpawnException as e:
        report.add("fail", "resources", _message(e), "fix the value named in the message")
    unknown = [f for f in spawner.user_options_allowed if f not in FIELDS]
    if unknown:
        report.add(
            "fail",
            "c.JobSpawner.user_options_allowed",
            f"unknown resource(s): {', '.join(unknown)}",
            f"choose from {', '.join(FIELDS)}",
        )
    refusal = spawner.root_jobs_refusal()
    if refusal:
        report.add("fail", "exec_prefix", refusal)
    check_honoured(report, spawner)
    try:
        spawner._prefix(spawner.exec_prefix)
        spawner._query_prefix()
    except SpawnException as e:
        report.add("fail", "exec_prefix", _message(e))
    if spawner.host_source == "server":
        try:
            allowed = spawner._hosts_allowed()
        except SpawnException as e:
            report.add("fail", "c.JobSpawner.server_hosts_allowed", _message(e))
        else:
            if not spawner.server_hosts_allowed:
                report.add(
                    "fail",
                    "c.JobSpawner.server_hosts_allowed",
                    f'is empty with host_source = "server": every reported host is refused '
                    f"({allowed})",
                    "list the compute nodes' networks or names, or use host_source = 'scheduler'",
                )
    if spawner.host_map:
        try:
            HostMap.parse(spawner.host_map)
        except HostMapError as e:
            report.add("fail", "c.JobSpawner.host_map", str(e))
    leftover = command_leftover(spawner.cmd)
    if leftover:
        report.extend([leftover])
    _check_timing(report, spawner)


def _check_timing(report: CheckReport, spawner: JobSpawner) -> None:
    needed = getattr(spawner, "queue_timeout", 0) + getattr(spawner, "server_start_timeout", 0)
    if needed and spawner.start_timeout < needed:
        report.add(
            "warn",
            "c.Spawner.start_timeout",
            f"{spawner.start_timeout} s is less than queue_timeout + server_start_timeout "
            f"({needed} s): JupyterHub gives up on a spawn before jobspawner's own limits",
            "remove c.Spawner.start_timeout (jobspawner's default fits) or raise it",
        )


def check_render(report: CheckReport, spawner: JobSpawner) -> tuple[Any, str] | None:
    """The job script a spawn would submit, redacted; None when it cannot be rendered."""
    if spawner.batch_script:
        report.extend(template_leftovers(spawner.batch_script, "c.JobSpawner.batch_script"))
    try:
        spec = spawner.build_spec()
        script = spawner.render(spec)
    except SpawnException as e:
        report.add("fail", "job script", _message(e))
        return None
    redacted, leaked = hubconfig.redact(script, spawner)
    if leaked:
        report.add(
            "fail",
            "job script",
            "holds the server's API token: scripts are readable by the scheduler and others",
            "do not put {{ env }} values that hold secrets into the script by hand; use "
            "{{ env | exports }}, which leaves them out",
        )
    else:
        report.add("ok", "job script", f"renders ({len(script.splitlines())} lines)")
    report.script = redacted
    return spec, script


def check_hub_version(report: CheckReport, version: str | None = None) -> bool:
    """The running JupyterHub's version: supported (True) or refused with what to install."""
    version = version or hub_compat.hub_version()
    refusal = hub_compat.unsupported_reason(version)
    if refusal:
        report.add("fail", "JupyterHub", refusal)
        return False
    report.add("ok", "JupyterHub", f"{version} (jobspawner supports {hub_compat.SUPPORTED})")
    return True


async def run_check(config_path: str, username: str | None = None) -> CheckReport:
    """Every check, in order; stops early only when nothing further can be checked."""
    report = CheckReport()
    if not check_hub_version(report):
        return report
    try:
        config = hubconfig.load_config(config_path)
    except hubconfig.HubConfigError as e:
        report.add("fail", "config", str(e))
        return report
    report.add("ok", "config", f"{config_path} loads")
    report.extend(find_leftovers(config, _known_traits(config)))
    user = username or hubconfig.default_user()
    try:
        spawner = hubconfig.make_spawner(config, user)
    except hubconfig.HubConfigError as e:
        report.add("fail", "c.JupyterHub.spawner_class", str(e))
        return report
    try:
        backend = spawner.load()
    except BackendError as e:
        report.add("fail", "backend", str(e), "`jobspawner plugins` lists what is installed")
        return report
    label = f"{backend.name} ({backend.distribution or 'jobspawner'})"
    report.add("ok", "backend", f"{label} loads with plugins {list(spawner.plugins)}")
    check_settings(report, spawner)
    rendered = check_render(report, spawner)
    if rendered is not None and backend.implemented("submit_command"):
        spec, script = rendered
        try:
            commands = scheduler_commands(backend, spawner, spec, script)
        except (BackendError, CommandError, ValueError) as e:
            report.add("fail", "backend", f"could not build the scheduler commands: {e}")
            commands = []
        await check_commands(report, commands, spawner)
        missing = ("command", "c.JobSpawner.exec_prefix", "c.JobSpawner.transport")
        if all(f.level != "fail" for f in report.findings if f.topic in missing):
            await check_scheduler_answers(report, spawner)
    elif rendered is not None:
        await check_scheduler_answers(report, spawner)
    return report


class _WarningsTo:
    """A logger stand-in that turns warnings into report findings."""

    def __init__(self, report: CheckReport, topic: str) -> None:
        self.report, self.topic = report, topic

    def warning(self, message: str, *args: object) -> None:
        self.report.add("warn", self.topic, message % args if args else message)


def check_honoured(report: CheckReport, spawner: JobSpawner) -> None:
    """``req_*`` settings and user options the backend cannot honour (jobspawner.honoured)."""
    try:
        refusal = spawner.unhonoured_requests_refusal(_WarningsTo(report, "resources"))
    except (SpawnException, BackendError) as e:
        report.add("fail", "resources", _message(e))
        return
    if refusal:
        report.add("fail", "resources", refusal)
