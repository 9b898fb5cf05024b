"""``jobspawner check``: everything a spawn needs, tested before a user tries it.

Each step adds :class:`~jobspawner.cli.output.Finding` values; a ``fail`` means a spawn
would fail (or run something other than what the admin meant), a ``warn`` that it works but
surprises. Commands are looked up on the PATH the hub's commands get (on the login node with
the SSH transport, :mod:`jobspawner.cli.remote_commands`) and the scheduler is asked one
status query for a job id that does not exist, through the same transport.
"""

from __future__ import annotations

import inspect
import ipaddress
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

from traitlets.config import Config

from jobspawner.choices.profiles import ProfileConfigError, parse_profiles
from jobspawner.choices.user_options import profiles_source
from jobspawner.cli import hubconfig
from jobspawner.cli.leftovers import (
    batchspawner_class,
    command_leftover,
    find_leftovers,
    inferred_backend,
    template_leftovers,
)
from jobspawner.cli.output import Finding
from jobspawner.cli.remote_commands import remote_command_findings
from jobspawner.contract.commands import Command, CommandError, command_environment
from jobspawner.contract.resources import FIELDS, format_hms
from jobspawner.contract.status import JobState
from jobspawner.facade import hub_compat
from jobspawner.facade.backend import Backend, BackendError
from jobspawner.facade.hub_compat import SpawnException
from jobspawner.spawner import JobSpawner
from jobspawner.transport.host_map import HostMap, HostMapError


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

    def failed_with(self, message: str) -> bool:
        """Whether a step failed with this message already (one bad value stops several
        steps: it is reported once, where it belongs)."""
        return any(f.level == "fail" and f.message == message for f in self.findings)


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
    prefix = spawner.command_prefix(spawner.exec_prefix)
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
        report.add(
            "fail",
            "exec_prefix",
            refusal,
            'set c.JobSpawner.exec_prefix = ["sudo", "-n", "-u", "{username}", "--"] (or '
            "runuser) so jobs run as each user",
        )
    check_honoured(report, spawner)
    try:
        spawner.command_prefix(spawner.exec_prefix)
        spawner.query_prefix()
    except SpawnException as e:
        report.add(
            "fail",
            "exec_prefix",
            _message(e),
            "use only the {username} placeholder in c.JobSpawner.exec_prefix and "
            "status_exec_prefix",
        )
    if spawner.host_source == "server":
        try:
            allowed = spawner.hosts_allowed()
        except SpawnException as e:
            report.add(
                "fail",
                "c.JobSpawner.server_hosts_allowed",
                _message(e),
                "list networks (10.1.0.0/16) or host names of the compute nodes",
            )
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
            report.add(
                "fail",
                "c.JobSpawner.host_map",
                str(e),
                "write each entry as docs/configuration.md shows (a name pattern and its "
                "address on the hub's network)",
            )
    leftover = command_leftover(spawner.cmd)
    if leftover:
        report.extend([leftover])
    if not spawner.require_server_proof:
        report.add(
            "warn",
            "c.JobSpawner.require_server_proof",
            "is False: spawns are routed to whatever answers a version at the job's port, "
            "without proof that it is the server the start launched",
            "make c.JobSpawner.cmd end by running jobspawner-singleuser and remove the "
            "setting (docs/security.md)",
        )
    _check_timing(report, spawner)


def check_hub_address(report: CheckReport, spawner: JobSpawner) -> None:
    """Jobs on compute nodes must reach the hub's API at the address they are given."""
    if spawner.load().name == "local":
        return  # the jobs run on the hub's own host
    api_url = spawner.hub.api_url
    host = urlparse(api_url).hostname or ""
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if loopback:
        report.add(
            "fail",
            "c.JupyterHub.hub_connect_ip",
            f"jobs get JUPYTERHUB_API_URL={api_url}: on a compute node that address is the "
            f"node itself, so no server can report to the hub",
            "set c.JupyterHub.hub_connect_ip (or hub_connect_url) to the hub's address as the "
            "compute nodes reach it, and c.JupyterHub.hub_ip to an address the hub listens on "
            'for them (e.g. "0.0.0.0")',
        )
    else:
        report.add("ok", "hub address", f"jobs reach the hub's API at {api_url}")


async def check_queue_limits(report: CheckReport, spawner: JobSpawner) -> None:
    """The requested queue exists, and the run time fits its limit (as the scheduler says)."""
    try:
        requested = spawner.resources()
        queues = list(await spawner.load().discover_resources(spawner.context()))
    except (SpawnException, CommandError, BackendError, ValueError):
        return  # said under "resources" or "scheduler" already
    if not queues:
        return
    name = requested.get("queue") or None
    if name:
        queue = next((q for q in queues if q.name == name), None)
        if queue is None:
            known = ", ".join(q.name for q in queues)
            report.add(
                "fail",
                "c.JobSpawner.req_queue",
                f"{name!r} is not a queue of this cluster ({known}); every spawn is refused",
                "choose one of the queues `jobspawner resources` lists",
            )
            return
    else:
        queue = next((q for q in queues if q.default), None)
        if queue is None:
            return
    runtime, limit = requested.get("runtime_s"), queue.max_time_s
    if runtime and limit and runtime > limit:
        report.add(
            "fail",
            "c.JobSpawner.req_runtime",
            f"{format_hms(runtime)} is more than the limit of queue {queue.name!r} "
            f"({format_hms(limit)}); the scheduler refuses or never starts such jobs",
            f"lower c.JobSpawner.req_runtime to {format_hms(limit)} or less",
        )
    memory, node = requested.get("memory_mb"), queue.memory_per_node_mb
    if memory and node and memory > node:
        report.add(
            "warn",
            "c.JobSpawner.req_memory",
            f"{memory} MiB is more than the {node} MiB per node queue {queue.name!r} reports",
            "lower c.JobSpawner.req_memory unless some nodes of the queue have more",
        )


async def check_profiles(report: CheckReport, spawner: JobSpawner) -> None:
    """``c.JobSpawner.profiles`` as every spawn page will parse it: a static list fully, a
    callable by calling it for the user ``check`` runs for (``--user``)."""
    raw = spawner.profiles
    if not raw:
        return
    where = "c.JobSpawner.profiles"
    if callable(raw):
        who = f"for user {spawner.user.name}"
        try:
            raw = profiles_source(spawner)
            if inspect.isawaitable(raw):
                raw = await raw
        except Exception as e:
            report.add(
                "fail",
                where,
                f"the callable failed {who}: {type(e).__name__}: {e}",
                "fix the function; every spawn page of this user would answer 500",
            )
            return
    else:
        who = "(static list)"
    try:
        profiles = parse_profiles(raw or [], sorted(spawner.traits(config=True)))
    except ProfileConfigError as e:
        report.add(
            "fail",
            where,
            str(e),
            "fix the key or value named; docs/profiles.md lists what each takes (every spawn "
            "page answers 500 until then)",
        )
        return
    report.add("ok", where, f"{len(profiles)} profile(s) parse {who}")


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


async def check_render(report: CheckReport, spawner: JobSpawner) -> tuple[Any, str] | None:
    """The job script a spawn with no choices would submit (the default profile's), redacted;
    None when it cannot be rendered."""
    if spawner.batch_script:
        report.extend(template_leftovers(spawner.batch_script, "c.JobSpawner.batch_script"))
    profiles_failed = any(
        f.level == "fail" and f.topic == "c.JobSpawner.profiles" for f in report.findings
    )
    try:
        await hubconfig.choose_options(spawner)
    except Exception as e:  # the profiles: said above, or a refusal of the default choices
        if not profiles_failed:
            report.add(
                "fail",
                "c.JobSpawner.profiles",
                f"the default profile's choices are refused: {_message(e)}",
                "make the default profile's options valid for this user",
            )
        return None
    try:
        spec = spawner.build_spec()
        script = spawner.render(spec)
    except SpawnException as e:
        if report.failed_with(_message(e)):
            return None
        report.add(
            "fail",
            "job script",
            _message(e),
            "fix the template or setting named (`jobspawner render` shows the script)",
        )
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


def _as_jobspawner(config: Config) -> tuple[Config, type[Any] | None]:
    """A batchspawner config checked as the jobspawner config it becomes (the backend its
    class names, ``SlurmSpawner`` -> ``slurm``), so one run says everything; the class itself
    is reported as a leftover."""
    hub = config.get("JupyterHub")
    value = hub.get("spawner_class") if isinstance(hub, dict) else None
    if batchspawner_class(value) is None:
        return config, None
    converted = Config(config)
    backend = inferred_backend(value)
    if backend and "backend" not in converted.JobSpawner:
        converted.JobSpawner.backend = backend
    return converted, JobSpawner


def check_hub_version(report: CheckReport, version: str | None = None) -> bool:
    """The running JupyterHub's version: supported (True) or refused with what to install."""
    version = version or hub_compat.hub_version()
    refusal = hub_compat.unsupported_reason(version)
    if refusal:
        report.add(
            "fail",
            "JupyterHub",
            refusal,
            f"install a supported JupyterHub in the hub's environment: {hub_compat.INSTALL_HINT}",
        )
        return False
    report.add("ok", "JupyterHub", f"{version} (jobspawner supports {hub_compat.SUPPORTED})")
    return True


async def run_check(config_path: str, username: str | None = None) -> CheckReport:
    """Every check, in order; stops early only when nothing further can be checked."""
    report = CheckReport()
    if not check_hub_version(report):
        return report
    try:
        config, replaced = hubconfig.load_config_with_leftovers(config_path)
    except hubconfig.HubConfigError as e:
        report.add(
            "fail",
            "config",
            str(e),
            "correct the file at the place named; it is loaded as JupyterHub loads it",
        )
        return report
    report.add("ok", "config", f"{config_path} loads")
    for package in replaced:
        report.add(
            "fail",
            "config",
            f"imports {package}, which jobspawner replaces (its settings are listed below)",
            f"remove the `import {package}` / `from {package} import ...` lines",
        )
    report.extend(find_leftovers(config, _known_traits(config)))
    user = username or hubconfig.default_user()
    config, cls = _as_jobspawner(config)
    try:
        spawner = hubconfig.make_spawner(config, user, cls=cls)
    except hubconfig.HubConfigError as e:
        report.add(
            "fail",
            "c.JupyterHub.spawner_class",
            str(e),
            'set c.JupyterHub.spawner_class = "jobspawner"',
        )
        return report
    try:
        backend = spawner.load()
    except BackendError as e:
        report.add("fail", "backend", str(e), "`jobspawner plugins` lists what is installed")
        return report
    label = f"{backend.name} ({backend.distribution or 'jobspawner'})"
    report.add("ok", "backend", f"{label} loads with plugins {list(spawner.plugins)}")
    problems = backend.option_problems(spawner.backend_options)
    for problem in problems:
        report.add(
            "fail",
            "c.JobSpawner.backend_options",
            problem,
            f"use the keys and types the {backend.name} backend declares "
            f"({backend.option_declarations().allowed()}; docs/backends/ has its page)",
        )
    if problems:
        return report  # nothing further can be built with them, as the hub would refuse
    check_settings(report, spawner)
    check_hub_address(report, spawner)
    await check_profiles(report, spawner)
    rendered = await check_render(report, spawner)
    if rendered is not None and backend.implemented("submit_command"):
        spec, script = rendered
        try:
            commands = scheduler_commands(backend, spawner, spec, script)
        except (BackendError, CommandError, ValueError) as e:
            report.add(
                "fail",
                "backend",
                f"could not build the scheduler commands: {e}",
                "fix the backend option or setting named; `jobspawner render` shows the script",
            )
            commands = []
        await check_commands(report, commands, spawner)
        missing = ("command", "c.JobSpawner.exec_prefix", "c.JobSpawner.transport")
        if all(f.level != "fail" for f in report.findings if f.topic in missing):
            await check_scheduler_answers(report, spawner)
    elif rendered is not None:
        await check_scheduler_answers(report, spawner)
    if all(f.level != "fail" for f in report.findings if f.topic == "scheduler"):
        await check_queue_limits(report, spawner)
    return report


class _WarningsTo:
    """A logger stand-in that turns warnings into report findings."""

    def __init__(self, report: CheckReport, topic: str) -> None:
        self.report, self.topic = report, topic

    def warning(self, message: str, *args: object) -> None:
        self.report.add("warn", self.topic, message % args if args else message)


_HONOURED_FIX = (
    "remove the setting or user option the backend cannot honour, or choose a backend that "
    "honours it (docs/backends/ lists what each honours)"
)


def check_honoured(report: CheckReport, spawner: JobSpawner) -> None:
    """``req_*`` settings and user options the backend cannot honour
    (jobspawner.facade.honoured)."""
    try:
        refusal = spawner.unhonoured_requests_refusal(_WarningsTo(report, "resources"))
    except (SpawnException, BackendError) as e:
        report.add("fail", "resources", _message(e), _HONOURED_FIX)
        return
    if refusal:
        report.add("fail", "resources", refusal, _HONOURED_FIX)
