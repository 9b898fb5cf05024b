"""The modules' old names, from before the core's modules moved into folders (issue #22).

Until 2026-12 every module sat directly in ``jobspawner/`` (``jobspawner.profiles``,
``jobspawner.user_options``...). A site's ``jupyterhub_config.py`` or plugin that imports an
old name keeps working: the name is an alias of the module in its folder (the same module
object, so its settings and caches are shared), and a ``DeprecationWarning`` names the new
place. The public API (``from jobspawner import ...``) is what a config or plugin should use.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import warnings
from collections.abc import Sequence
from types import ModuleType

#: An old module name (under ``jobspawner.``) and where the module is now.
MOVED = {
    "backend_options": "contract.backend_options",
    "commands": "contract.commands",
    "context": "contract.context",
    "exit_words": "contract.exit_words",
    "hookspecs": "contract.hookspecs",
    "jobspec": "contract.jobspec",
    "options": "contract.options",
    "resources": "contract.resources",
    "status": "contract.status",
    "units": "contract.units",
    "bounded_text": "boundary.bounded_text",
    "log_reads": "boundary.log_reads",
    "logfiles": "boundary.logfiles",
    "secrets_cleanup": "boundary.secrets_cleanup",
    "user_files": "boundary.user_files",
    "backend": "facade.backend",
    "cancel_confirm": "facade.cancel_confirm",
    "constraints": "facade.constraints",
    "defaults": "facade.defaults",
    "end_words": "facade.end_words",
    "honoured": "facade.honoured",
    "hook_tracing": "facade.hook_tracing",
    "hub_compat": "facade.hub_compat",
    "hub_integration": "facade.hub_integration",
    "submit_errors": "facade.submit_errors",
    "templates": "facade.templates",
    "forwarding": "transport.forwarding",
    "host_map": "transport.host_map",
    "routing": "transport.routing",
    "ssh": "transport.ssh",
    "transport": "transport.config",
    "html_pattern": "choices.html_pattern",
    "hub_limits": "choices.hub_limits",
    "live_view": "choices.live_view",
    "option_choices": "choices.option_choices",
    "options_form": "choices.options_form",
    "overridden": "choices.overridden",
    "profiles": "choices.profiles",
    "refusal_log": "choices.refusal_log",
    "resource_cache": "choices.resource_cache",
    "user_options": "choices.user_options",
    "auth_state_sync": "lifecycle.auth_state_sync",
    "end_report": "lifecycle.end_report",
    "failed_start": "lifecycle.failed_start",
    "handshake": "lifecycle.handshake",
    "internal_certs": "lifecycle.internal_certs",
    "interrupted_start": "lifecycle.interrupted_start",
    "job_record": "lifecycle.job_record",
    "job_server": "lifecycle.job_server",
    "job_session": "lifecycle.job_session",
    "job_start": "lifecycle.job_start",
    "last_end": "lifecycle.last_end",
    "metrics": "lifecycle.metrics",
    "poller": "lifecycle.poller",
    "server_check": "lifecycle.server_check",
    "server_command": "lifecycle.server_command",
    "server_watch": "lifecycle.server_watch",
    "session_host": "lifecycle.session_host",
    "session_settings": "lifecycle.session_settings",
    "start_clock": "lifecycle.start_clock",
    "start_failures": "lifecycle.start_failures",
    "started_options": "lifecycle.started_options",
    "status_rounds": "lifecycle.status_rounds",
    "user_env": "lifecycle.user_env",
    "walltime": "lifecycle.walltime",
    "walltime_report": "lifecycle.walltime_report",
    "watch_registry": "lifecycle.watch_registry",
    "nav_link": "web.nav_link",
    "session_view": "web.session_view",
    "deferred_imports": "jobside.deferred_imports",
    "job_supervisor": "jobside.job_supervisor",
    "local_jobs": "jobside.local_jobs",
    "port_binding": "jobside.port_binding",
    "server_proof": "jobside.server_proof",
    "singleuser": "jobside.singleuser",
    "walltime_server": "jobside.walltime_server",
}


class _Alias(importlib.abc.Loader):
    def __init__(self, new: str) -> None:
        self.new = new
        self.spec: importlib.machinery.ModuleSpec | None = None

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        warnings.warn(
            f"{spec.name} is now {self.new}; import it from there (or use the public API, "
            "`from jobspawner import ...`): the old name will be removed",
            DeprecationWarning,
            stacklevel=2,
        )
        module = importlib.import_module(self.new)
        self.spec = module.__spec__  # Python replaces it with the alias's below
        return module

    def exec_module(self, module: ModuleType) -> None:
        """The module ran when it was imported under its new name. Python has just set its
        ``__spec__`` to the alias's (which has no origin): it is given its own back, so
        ``importlib.resources``, reloads and tracebacks see the real module."""
        module.__spec__ = self.spec


class MovedModules(importlib.abc.MetaPathFinder):
    """Finds ``jobspawner.<old name>`` as the module it became."""

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None = None,
        target: ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        package, _, name = fullname.rpartition(".")
        if package != "jobspawner" or name not in MOVED:
            return None
        new = f"jobspawner.{MOVED[name]}"
        return importlib.machinery.ModuleSpec(fullname, _Alias(new))


def install() -> None:
    """Put the finder on ``sys.meta_path`` once (after the normal finders: a real module of
    the old name, should one exist again, wins)."""
    if not any(isinstance(f, MovedModules) for f in sys.meta_path):
        sys.meta_path.append(MovedModules())
