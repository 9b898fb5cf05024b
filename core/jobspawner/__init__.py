"""jobspawner: run JupyterHub single-user servers as batch jobs on HPC/HTC schedulers.

The public API for backend authors: :data:`hookimpl`, :class:`Command`,
:class:`CommandResult`, :class:`CommandError`, :class:`JobState`, :class:`JobStatus`,
:class:`CancelOutcome`,
:class:`QueueInfo`, :class:`JobSpec`. ``JobSpawner`` is imported lazily so that the job-side
helpers (``python -m jobspawner.local_jobs``) do not import JupyterHub.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .__about__ import __version__
from .backend_options import Option, program_options
from .commands import Command, CommandError, CommandResult
from .hookspecs import hookimpl
from .jobspec import JobSpec
from .status import CancelOutcome, JobState, JobStatus, QueueInfo

if TYPE_CHECKING:
    from .spawner import JobSpawner

__all__ = [
    "CancelOutcome",
    "Command",
    "CommandError",
    "CommandResult",
    "JobSpawner",
    "JobSpec",
    "JobState",
    "JobStatus",
    "Option",
    "QueueInfo",
    "__version__",
    "hookimpl",
    "program_options",
]


def __getattr__(name: str) -> Any:
    if name == "JobSpawner":
        from .spawner import JobSpawner

        return JobSpawner
    raise AttributeError(name)
