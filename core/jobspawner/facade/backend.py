"""Loading a backend by name, and the typed facade over its hooks.

pluggy's hook calls are untyped; :class:`Backend` is the one place that calls them, so the
spawner and the poller stay type-checked.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import json
import logging
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import pluggy

from jobspawner.boundary import bounded_text, log_reads, user_files
from jobspawner.contract import hookspecs
from jobspawner.contract.backend_options import Declarations, Option, OptionError
from jobspawner.contract.commands import Command, CommandResult
from jobspawner.contract.context import BackendContext
from jobspawner.contract.jobspec import JobSpec
from jobspawner.contract.status import CancelOutcome, JobStatus, QueueInfo
from jobspawner.facade import defaults

if sys.version_info >= (3, 12):
    from importlib.metadata import EntryPoint, entry_points
else:  # the backport gives the 3.12 API (selection by group, .dist)
    from importlib_metadata import EntryPoint, entry_points

ENTRY_POINT_GROUP = "jobspawner.backends"
#: The module attribute that said "status per user" before the ``status_per_user`` hook.
LEGACY_PER_USER_ATTRIBUTE = "jobspawner_status_per_user"

_log = logging.getLogger(__name__)
_legacy_warned: set[str] = set()


def secrets_file_command(spec: JobSpec) -> Command:
    """Write the job's secrets as the user into a new 0600 file in her private log folder
    (:func:`jobspawner.boundary.user_files.create_command`: never through anything planted there).

    The values travel on standard input, never on a command line (``ps`` shows those).
    """
    return user_files.create_command(spec.secrets_file, json.dumps(dict(spec.secrets)))


def as_commands(value: Command | Sequence[Command] | None) -> list[Command]:
    """A command hook's answer as a list: ``None`` is none, one :class:`Command` is one."""
    if value is None:
        return []
    if isinstance(value, Command):
        return [value]
    commands = list(value)
    for command in commands:
        if not isinstance(command, Command):
            raise TypeError(f"a command hook returned {command!r}, not a jobspawner Command")
    return commands


def _single(hook_name: str, commands: list[Command]) -> Command:
    if len(commands) != 1:
        raise BackendError(
            f"{hook_name} returned {len(commands)} commands where one was expected; "
            f"use the facade's plural method ({hook_name}s)"
        )
    return commands[0]


class BackendError(RuntimeError):
    """A backend or site plugin cannot be used; the message says why and what to do."""


class BackendNotFound(BackendError, LookupError):
    """No backend of that name is installed."""


def installed_backends() -> dict[str, EntryPoint]:
    """The backends installed in this Python environment, by name."""
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def _dist_label(ep: EntryPoint) -> str:
    dist = getattr(ep, "dist", None)
    return f"{dist.name} {dist.version}" if dist is not None else "an unknown distribution"


#: The backends this project ships, and the distribution that provides each.
SHIPPED_BACKENDS: dict[str, str] = {
    "local": "jobspawner",
    "slurm": "jobspawner-slurm",
    "torque": "jobspawner-torque",
    "pbspro": "jobspawner-torque",
    "moab": "jobspawner-torque",
    "lsf": "jobspawner-lsf",
    "condor": "jobspawner-condor",
    "sge": "jobspawner-sge",
    "slurmrestd": "jobspawner-slurmrestd",
    "firecrest": "jobspawner-firecrest",
}


def not_found_message(name: str, installed: Sequence[str]) -> str:
    """What an admin reads for an unknown backend name: what is installed, the closest real
    name (installed or shipped) and the distribution that really provides it; never a
    package name made up from a typo."""
    listing = ", ".join(installed) or "none"
    message = f'No jobspawner backend named "{name}" is installed. Installed backends: {listing}.'
    if name in SHIPPED_BACKENDS:
        dist = SHIPPED_BACKENDS[name]
        folder = dist.removeprefix("jobspawner-")
        return (
            f"{message} It ships in the distribution {dist}: install that in the hub's "
            f"environment (from a jobspawner checkout: `pip install ./plugins/{folder}`, or "
            f"the {dist} wheel that `./run dist` builds into dist/), then restart the hub."
        )
    known = sorted(set(installed) | set(SHIPPED_BACKENDS))
    close = difflib.get_close_matches(name.lower(), known, n=1, cutoff=0.6)
    if close:
        guess = close[0]
        where = (
            "installed"
            if guess in installed
            else f"not installed; it ships in {SHIPPED_BACKENDS[guess]}"
        )
        return f'{message} Did you mean "{guess}" ({where})? Fix c.JobSpawner.backend.'
    return (
        f"{message} Fix c.JobSpawner.backend, or install the distribution that registers "
        f'"{name}" in the entry-point group {ENTRY_POINT_GROUP} (a site backend).'
    )


def load_backend(name: str, plugins: Iterable[str | object] = ()) -> Backend:
    """Load only the backend ``name`` (one entry point) plus the site ``plugins``.

    Validates every hook implementation against the specs (misspelled hook names and
    unknown arguments fail here, at hub start, not at the first spawn).
    """
    available = installed_backends()
    ep = available.get(name)
    if ep is None:
        raise BackendNotFound(not_found_message(name, sorted(available)))
    try:
        backend_plugin = ep.load()
    except Exception as e:
        raise BackendError(
            f'The jobspawner backend "{name}" ({ep.value}, from {_dist_label(ep)}) failed to '
            f"import: {type(e).__name__}: {e}. Reinstall it or fix its dependencies."
        ) from e

    return backend_from_plugin(
        name, backend_plugin, plugins, label=f'backend "{name}" ({ep.value})', dist=ep
    )


def backend_from_plugin(
    name: str,
    backend_plugin: object,
    plugins: Iterable[str | object] = (),
    label: str = "",
    dist: EntryPoint | None = None,
) -> Backend:
    """A backend from its hook module (or object) itself, without an entry point: what
    :func:`load_backend` does once it has imported the module. Tests use it to try a
    backend that is not installed (``jobspawner.testing.Target(module=...)``)."""
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    pm.register(defaults, name="jobspawner.facade.defaults")
    _register(pm, backend_plugin, f"backend:{name}", label or f'backend "{name}"')
    for plugin in plugins:
        if isinstance(plugin, str):
            try:
                obj: object = importlib.import_module(plugin)
            except Exception as e:
                raise BackendError(
                    f"The site plugin {plugin!r} listed in c.JobSpawner.plugins failed to "
                    f"import: {type(e).__name__}: {e}"
                ) from e
            label = plugin
        else:
            obj, label = plugin, repr(plugin)
        _register(pm, obj, f"site:{label}", f"site plugin {label}")
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as e:
        raise BackendError(
            f"{e}. Check the hook names against jobspawner.contract.hookspecs."
        ) from e
    distribution = _dist_label(dist) if dist is not None else "not installed"
    backend = Backend(name, pm, distribution=distribution)
    backend.check_complete()
    return backend


def _register(pm: pluggy.PluginManager, plugin: object, name: str, label: str) -> None:
    try:
        pm.register(plugin, name=name)
    except pluggy.PluginValidationError as e:
        raise BackendError(f"{label} does not match the hook contract: {e}") from e
    except ValueError as e:
        raise BackendError(f"{label} could not be registered: {e}") from e


@dataclass(frozen=True)
class PluginReport:
    name: str
    hooks: list[str]


class Backend:
    """Typed access to the hooks of one loaded backend (plus the site plugins)."""

    def __init__(self, name: str, pm: pluggy.PluginManager, distribution: str = "") -> None:
        self.name = name
        self.pm = pm
        self.distribution = distribution
        self.hook = pm.hook
        #: Detail answers reused by the core's query_status: (scope, job id) ->
        #: (when, the status they detailed, the detailed status).
        self.detail_cache: dict[tuple[str, str], tuple[float, JobStatus, JobStatus]] = {}
        #: Told which implementation answered an action hook (hook tracing, see
        #: :mod:`jobspawner.facade.hook_tracing`); None when tracing is off.
        self.on_answer: Callable[[str, str], None] | None = None

    # --- introspection -----------------------------------------------------------------
    def implemented(self, hook_name: str, include_defaults: bool = False) -> bool:
        caller = getattr(self.hook, hook_name)
        for impl in caller.get_hookimpls():
            if include_defaults or impl.plugin_name != "jobspawner.facade.defaults":
                return True
        return False

    def report(self) -> list[PluginReport]:
        """Each registered plugin and the hooks it implements."""
        out = []
        for plugin_name, plugin in self.pm.list_name_plugin():
            hooks = sorted(h.name for h in self.pm.get_hookcallers(plugin) or [])
            out.append(PluginReport(plugin_name, hooks))
        return out

    def check_complete(self) -> None:
        """Refuse a backend that lacks what the lifecycle needs (at load, not at spawn)."""
        needs = {
            "submit": ("submit_command", "parse_submit"),
            "query_status": ("status_command", "parse_status"),
            "cancel": ("cancel_command",),
        }
        missing = []
        for action, pure in needs.items():
            if self.implemented(action):
                continue
            missing += [h for h in pure if not self.implemented(h)]
        if missing:
            raise BackendError(
                f'The jobspawner backend "{self.name}" ({self.distribution}) implements no '
                f"{', '.join(missing)} hook(s); it cannot be used. Upgrade it or report this "
                "to its authors."
            )

    def _need_commands(self, hook_name: str, value: Any) -> list[Command]:
        commands = as_commands(self._need(hook_name, value))
        if not commands:
            raise BackendError(
                f'The jobspawner backend "{self.name}" returned no command from {hook_name}; '
                "the backend is incomplete."
            )
        return commands

    def _need(self, hook_name: str, value: Any) -> Any:
        if value is None:
            raise BackendError(
                f'The jobspawner backend "{self.name}" returned nothing from {hook_name}; '
                "the backend is incomplete."
            )
        return value

    # --- options -----------------------------------------------------------------------
    def option_declarations(self) -> Declarations:
        """Every declared option: the core's, the backend's and the site plugins'."""
        found: list[Option] = []
        for answer in self.hook.backend_options():
            found += list(answer or [])
        return Declarations(self.name, found)

    def declares_options(self) -> bool:
        """Whether the backend (or a site plugin) declares its options (not only the core)."""
        return self.implemented("backend_options")

    def checked_options(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """The site's options typed and completed with defaults; :class:`BackendError` for
        an unknown key or a wrong type. Unchecked when the backend declares none."""
        if not self.declares_options():
            return dict(values)
        try:
            return self.option_declarations().check(values)
        except OptionError as e:
            raise BackendError(str(e)) from e

    def option_problems(self, values: Mapping[str, Any]) -> list[str]:
        """Every problem of the site's backend options at once (``jobspawner check``)."""
        if not self.declares_options():
            return []
        return self.option_declarations().problems(values)

    def resource_fields(self, options: Mapping[str, Any]) -> frozenset[str] | None:
        """The resource fields the backend honours with these (typed) options; None when it
        does not say (requests are then unchecked, see :mod:`jobspawner.facade.honoured`)."""
        out = self.hook.resource_fields(options=options)
        if out is None:
            return None
        fields = frozenset(str(f) for f in out)
        from jobspawner.contract.resources import FIELDS

        unknown = sorted(fields - set(FIELDS))
        if unknown:
            raise BackendError(
                f'The jobspawner backend "{self.name}" declares unknown resource fields '
                f"{', '.join(unknown)} (known: {', '.join(FIELDS)}); report this to its authors."
            )
        return fields

    # --- pure hooks ----------------------------------------------------------------------
    def script_template(self, spec: JobSpec) -> str | None:
        return cast("str | None", self.hook.script_template(spec=spec))

    def render_script(self, spec: JobSpec, template: str) -> str:
        out = self.hook.render_script(spec=spec, template=template)
        return cast(str, self._need("render_script", out))

    def check_constraint(self, constraint: str, options: Mapping[str, Any]) -> str | None:
        """Why the backend refuses the feature constraint ``constraint``; None if it accepts."""
        out = self.hook.check_constraint(constraint=constraint, options=options)
        return cast("str | None", out) or None

    def prepare_commands(self, spec: JobSpec, script: str = "") -> list[Command]:
        """The backend's preparation, then the job's secrets file (which no hook can drop)."""
        commands = as_commands(self.hook.prepare_commands(spec=spec, script=script))
        if spec.secrets_file:
            commands.append(secrets_file_command(spec))
        return commands

    def submit_commands(self, spec: JobSpec, script: str) -> list[Command]:
        """The submit command(s): the last one's result is read by ``parse_submit``."""
        out = self.hook.submit_command(spec=spec, script=script)
        return self._need_commands("submit_command", out)

    def submit_command(self, spec: JobSpec, script: str) -> Command:
        """The command whose result ``parse_submit`` reads (the last of several)."""
        return self.submit_commands(spec, script)[-1]

    def parse_submit(self, result: CommandResult, spec: JobSpec) -> str:
        out = self.hook.parse_submit(result=result, spec=spec)
        return cast(str, self._need("parse_submit", out))

    def status_commands(self, job_ids: Sequence[str], options: Mapping[str, Any]) -> list[Command]:
        """The status command(s) for ``job_ids`` (one for all of them, usually)."""
        out = self.hook.status_command(job_ids=list(job_ids), options=options)
        return self._need_commands("status_command", out)

    def status_command(self, job_ids: Sequence[str], options: Mapping[str, Any]) -> Command:
        """The status command, for a backend that returns one (tests, tools)."""
        return _single("status_command", self.status_commands(job_ids, options))

    def parse_status(
        self, job_ids: Sequence[str], result: CommandResult, options: Mapping[str, Any]
    ) -> Mapping[str, JobStatus]:
        out = self.hook.parse_status(job_ids=list(job_ids), result=result, options=options)
        return cast("Mapping[str, JobStatus]", self._need("parse_status", out))

    def detail_commands(
        self, job_ids: Sequence[str], statuses: Mapping[str, JobStatus], options: Mapping[str, Any]
    ) -> list[Command]:
        """The detail query for listed jobs the backend wants to know more about; [] if none."""
        if not job_ids:
            return []
        out = self.hook.detail_command(
            job_ids=list(job_ids), statuses=dict(statuses), options=options
        )
        return as_commands(out)

    def parse_detail(
        self,
        job_ids: Sequence[str],
        result: CommandResult,
        statuses: Mapping[str, JobStatus],
        options: Mapping[str, Any],
    ) -> Mapping[str, JobStatus]:
        out = self.hook.parse_detail(
            job_ids=list(job_ids), result=result, statuses=dict(statuses), options=options
        )
        return cast("Mapping[str, JobStatus]", out or {})

    def history_commands(self, job_ids: Sequence[str], options: Mapping[str, Any]) -> list[Command]:
        """The history command(s) for jobs the status query no longer lists; [] for none."""
        return as_commands(self.hook.history_command(job_ids=list(job_ids), options=options))

    def history_command(self, job_ids: Sequence[str], options: Mapping[str, Any]) -> Command | None:
        """The history command, for a backend that returns at most one (tests, tools)."""
        commands = self.history_commands(job_ids, options)
        return _single("history_command", commands) if commands else None

    def parse_history(
        self, job_ids: Sequence[str], result: CommandResult, options: Mapping[str, Any]
    ) -> Mapping[str, JobStatus]:
        out = self.hook.parse_history(job_ids=list(job_ids), result=result, options=options)
        return cast("Mapping[str, JobStatus]", out or {})

    def status_per_user(self) -> bool:
        """Whether the status query runs as each job's user (the ``status_per_user`` hook).

        A plugin module that still sets the attribute ``jobspawner_status_per_user = True``
        (before the hook existed) is honoured too, with a warning: its status query reads
        the users' files and must never run as the hub."""
        if self.hook.status_per_user():
            return True
        for plugin_name, plugin in self.pm.list_name_plugin():
            if getattr(plugin, LEGACY_PER_USER_ATTRIBUTE, False):
                if plugin_name not in _legacy_warned:
                    _legacy_warned.add(plugin_name)
                    _log.warning(
                        "jobspawner plugin %s sets %s = True; implement the status_per_user "
                        "hook instead (@hookimpl def status_per_user(): return True): the "
                        "attribute will stop being read",
                        plugin_name,
                        LEGACY_PER_USER_ATTRIBUTE,
                    )
                return True
        return False

    def get_host(self, status: JobStatus, options: Mapping[str, Any]) -> str | None:
        return cast("str | None", self.hook.get_host(status=status, options=options))

    def describe_status(self, status: JobStatus) -> str:
        return cast(str, self.hook.describe_status(status=status) or status.state.value)

    def cancel_commands(self, job_ids: Sequence[str], options: Mapping[str, Any]) -> list[Command]:
        """The cancel command(s) for ``job_ids`` (one per cluster, for instance)."""
        out = self.hook.cancel_command(job_ids=list(job_ids), options=options)
        return self._need_commands("cancel_command", out)

    def cancel_command(self, job_ids: Sequence[str], options: Mapping[str, Any]) -> Command:
        """The cancel command, for a backend that returns one (tests, tools)."""
        return _single("cancel_command", self.cancel_commands(job_ids, options))

    def parse_cancel(
        self, job_ids: Sequence[str], result: CommandResult, options: Mapping[str, Any]
    ) -> Mapping[str, CancelOutcome]:
        out = self.hook.parse_cancel(job_ids=list(job_ids), result=result, options=options)
        return cast("Mapping[str, CancelOutcome]", out or {})

    def resources_commands(self, options: Mapping[str, Any]) -> Sequence[Command]:
        return cast("Sequence[Command]", self.hook.resources_commands(options=options) or [])

    def parse_resources(
        self, results: Sequence[CommandResult], options: Mapping[str, Any]
    ) -> Sequence[QueueInfo]:
        out = self.hook.parse_resources(results=list(results), options=options)
        return cast("Sequence[QueueInfo]", out or [])

    # --- action hooks ----------------------------------------------------------------------
    async def _act(self, hook_name: str, *, done_on_none: bool = False, **kwargs: Any) -> Any:
        """Call an action hook's implementations in pluggy's order, awaiting each answer.

        pluggy's ``firstresult`` stops at the first value that is not ``None``, and a
        coroutine is such a value: an ``async def`` implementation could never fall through.
        Here an implementation falls through when it returns ``None`` *or* its coroutine
        returns ``None``; the next one is called. ``cancel`` has no result, so for it
        (``done_on_none``) an awaited ``None`` means done and only a plain ``None`` (no
        coroutine) falls through. Wrappers (``wrapper=True``) are called by pluggy, which
        hands them the first implementation's (unawaited) answer.
        """
        caller = getattr(self.hook, hook_name)
        impls = caller.get_hookimpls()
        if any(i.hookwrapper or i.wrapper for i in impls):
            out = self._need(hook_name, caller(**kwargs))
            return await out if inspect.isawaitable(out) else out
        for impl in reversed(impls):  # pluggy calls the last registered (or tryfirst) first
            out = impl.function(*(kwargs[name] for name in impl.argnames))
            if out is None:
                continue
            if inspect.isawaitable(out):
                out = await out
                if out is None and not done_on_none:
                    continue
            if self.on_answer is not None:
                self.on_answer(hook_name, impl.plugin_name)
            return out
        return self._need(hook_name, None)

    async def submit(self, ctx: BackendContext, spec: JobSpec, script: str) -> str:
        job_id = await self._act("submit", ctx=ctx, spec=spec, script=script)
        return str(job_id)

    async def query_status(
        self, ctx: BackendContext, job_ids: Sequence[str]
    ) -> Mapping[str, JobStatus]:
        return cast(
            "Mapping[str, JobStatus]",
            await self._act("query_status", ctx=ctx, job_ids=list(job_ids)),
        )

    async def cancel(self, ctx: BackendContext, job_ids: Sequence[str]) -> None:
        await self._act("cancel", done_on_none=True, ctx=ctx, job_ids=list(job_ids))

    async def read_log(
        self, ctx: BackendContext, path: str, lines: int = 40, max_age: float = 0.0
    ) -> str:
        """The last ``lines`` lines of a job's output, bounded
        (:mod:`jobspawner.boundary.log_reads`);
        a read of the same file by the same identity at most ``max_age`` seconds old is
        shared. Raises :class:`~jobspawner.boundary.log_reads.LogUnreadable` when it took too
        long."""

        async def hook() -> object:
            return await self._act("read_log", ctx=ctx, path=path, lines=bounded_text.MAX_LINES)

        return await log_reads.read(ctx, path, lines, hook, max_age=max_age)

    async def remove_secrets(self, ctx: BackendContext, path: str) -> None:
        """Delete a job's leftover secrets file as the user (see :mod:`.secrets_cleanup`)."""
        await self._act("remove_secrets", done_on_none=True, ctx=ctx, path=path)

    async def discover_resources(self, ctx: BackendContext) -> Sequence[QueueInfo]:
        return cast("Sequence[QueueInfo]", await self._act("discover_resources", ctx=ctx))
