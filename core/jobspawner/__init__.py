"""jobspawner: run JupyterHub single-user servers as batch jobs on HPC/HTC schedulers.

The public API for backend authors is what this package exports (``__all__``); a backend
imports from ``jobspawner`` only (and its tests from ``jobspawner.testing``). Every other
module is internal and may change between releases.

* Hooks and their values: :data:`hookimpl`, :class:`Command`, :class:`CommandResult`,
  :class:`CommandError`, :class:`JobSpec`, :class:`JobState`, :class:`JobStatus`,
  :class:`CancelOutcome`, :class:`QueueInfo`.
* Options: :class:`Option`, :func:`program_options`, :func:`tool` (a program's path option),
  :func:`flag` (a yes/no option).
* Action hooks (REST backends): :data:`LOG_TAIL_BYTES` (the most of a log a ``read_log``
  reads), :class:`BackendContext`, :func:`make_context`,
  :class:`CommandRunner`.
* Building blocks a backend calls: :func:`describe_generic` (the core's status words),
  :func:`private_output_commands` (the core's log-folder preparation),
  :func:`exit_code_text` (an exit code with its common meaning, ``exit code 137 (killed:
  ...)``, the one table every report of an end uses),
  :func:`run_prepare_commands` (run the preparation as the core's submit does, for a backend
  with its own ``submit``),
  :func:`user_file_command` (the one way to create a file as the user: new, in her private
  folder, never through anything planted there), :class:`UserFileError`,
  :func:`folder_refused_words` and :func:`name_taken_words` (its refusals, for a backend
  that creates a user's file through an API of its own),
  :func:`render_template` (the core's sandboxed Jinja2 rendering), :func:`confirm_cancel`
  (cancel through an API and confirm), :class:`FeatureGrammar`
  (a constraint grammar), :func:`submit_problem` (words for a failed submit),
  :func:`parse_duration_s`, :func:`parse_memory_mb`, :func:`format_hms` and
  :class:`ResourceError` (requests); :func:`clock_seconds` and :func:`size_mib` (durations
  and sizes as schedulers print them).

For a hub's configuration: :func:`apply_user_options` (the one validation of user options,
for a site's own ``c.JobSpawner.apply_user_options`` to call) and
:func:`from_profiles_spawner` (wrapspawner's ProfilesSpawner profiles as jobspawner's).

``JobSpawner``, :func:`describe_generic`, :func:`private_output_commands`,
:func:`run_prepare_commands`, :func:`render_template`, :func:`apply_user_options` and
:func:`from_profiles_spawner` are imported lazily, so that the job-side helpers
(``python -m jobspawner.jobside.local_jobs``) import neither JupyterHub nor Jinja2.

The modules sit in folders by layer (``contract``, ``boundary``, ``facade``, ``transport``,
``choices``, ``lifecycle``, ``web``, ``jobside``, ``cli``: docs/architecture.md). Their old
flat names (``jobspawner.profiles``...) still import, with a DeprecationWarning
(:mod:`jobspawner.moved_modules`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from jobspawner.__about__ import __version__
from jobspawner.boundary.bounded_text import MAX_BYTES as LOG_TAIL_BYTES
from jobspawner.boundary.secrets_cleanup import remove_secrets_by_runner
from jobspawner.boundary.user_files import UserFileError, folder_refused_words, name_taken_words
from jobspawner.boundary.user_files import create_command as user_file_command
from jobspawner.contract.backend_options import Option, program_options
from jobspawner.contract.commands import Command, CommandError, CommandResult, CommandRunner
from jobspawner.contract.context import BackendContext, make_context
from jobspawner.contract.exit_words import exit_code_text
from jobspawner.contract.hookspecs import hookimpl
from jobspawner.contract.jobspec import JobSpec
from jobspawner.contract.options import flag, tool
from jobspawner.contract.resources import (
    ResourceError,
    format_hms,
    parse_duration_s,
    parse_memory_mb,
)
from jobspawner.contract.status import CancelOutcome, JobState, JobStatus, QueueInfo
from jobspawner.contract.units import clock_seconds, size_mib
from jobspawner.facade.cancel_confirm import confirm_cancel, not_ended_words
from jobspawner.facade.constraints import FeatureGrammar
from jobspawner.facade.submit_errors import submit_problem
from jobspawner.moved_modules import install as _install_moved_modules

_install_moved_modules()  # the old flat module names, as aliases

if TYPE_CHECKING:
    from jobspawner.choices.profiles import from_profiles_spawner
    from jobspawner.choices.user_options import apply_user_options
    from jobspawner.facade.defaults import (
        describe_generic,
        private_output_commands,
        run_prepare_commands,
    )
    from jobspawner.facade.templates import render as render_template
    from jobspawner.spawner import JobSpawner

__all__ = [
    "LOG_TAIL_BYTES",
    "BackendContext",
    "CancelOutcome",
    "Command",
    "CommandError",
    "CommandResult",
    "CommandRunner",
    "FeatureGrammar",
    "JobSpawner",
    "JobSpec",
    "JobState",
    "JobStatus",
    "Option",
    "QueueInfo",
    "ResourceError",
    "UserFileError",
    "__version__",
    "apply_user_options",
    "clock_seconds",
    "confirm_cancel",
    "describe_generic",
    "exit_code_text",
    "flag",
    "folder_refused_words",
    "format_hms",
    "from_profiles_spawner",
    "hookimpl",
    "make_context",
    "name_taken_words",
    "not_ended_words",
    "parse_duration_s",
    "parse_memory_mb",
    "private_output_commands",
    "program_options",
    "remove_secrets_by_runner",
    "render_template",
    "run_prepare_commands",
    "size_mib",
    "submit_problem",
    "tool",
    "user_file_command",
]

#: Names imported on first use: (module, attribute). ``JobSpawner`` comes with the hub
#: integration (jobspawner.web.hub_entry), as through the ``jobspawner`` entry point.
_LAZY = {
    "JobSpawner": ("web.hub_entry", "JobSpawner"),
    "describe_generic": ("facade.defaults", "describe_generic"),
    "private_output_commands": ("facade.defaults", "private_output_commands"),
    "run_prepare_commands": ("facade.defaults", "run_prepare_commands"),
    "render_template": ("facade.templates", "render"),
    "apply_user_options": ("choices.user_options", "apply_user_options"),
    "from_profiles_spawner": ("choices.profiles", "from_profiles_spawner"),
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        module, attribute = _LAZY[name]
        return getattr(importlib.import_module(f".{module}", __name__), attribute)
    raise AttributeError(name)
