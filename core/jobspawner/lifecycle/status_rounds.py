"""Who runs the hub's status queries, and what the shared status rounds do for a spawner.

By default every status query runs as the hub's own identity (no ``exec_prefix``), so one
query per round covers every user's jobs. That is right for schedulers whose status command
asks a daemon (``squeue``, ``qstat``, ``bjobs``, ``condor_q``): such a command reads no file a
user controls, so running it as root (or as the hub's service account) exposes nothing. It
is wrong for a backend whose status query reads files in the users' own folders (the
embedded ``local`` backend reads each user's spool): such a backend implements the
``status_per_user`` hook (returning ``True``), and its queries run as each user.

Where the scheduler hides other users' jobs from the hub's account (Slurm's
``PrivateData=jobs`` for a non-root hub), a job the hub's query does not list is confirmed
as gone by a query as its user before the hub believes it (:func:`confirm_vanished`), and
the admin is told once to set ``c.JobSpawner.status_exec_prefix`` to the user's prefix.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from jobspawner.contract.status import VANISHED_REASON, JobState, JobStatus
from jobspawner.facade.end_words import ended_message

if TYPE_CHECKING:
    from jobspawner.contract.context import BackendContext
    from jobspawner.facade.backend import Backend

_log = logging.getLogger(__name__)
_warned: set[str] = set()


def status_per_user(backend: Backend) -> bool:
    """True when the backend's status query must run as each job's user (its
    ``status_per_user`` hook)."""
    return backend.status_per_user()


def poll_max_age(status_max_age: float, status_interval: float) -> float:
    """How old an answer JupyterHub's poll accepts: the watcher's rounds keep it this fresh,
    so a poll between two rounds never costs a query of its own."""
    if status_interval <= 0:
        return status_max_age
    return max(status_max_age, status_interval * 1.5)


async def confirm_vanished(
    backend: Backend, user_ctx: BackendContext, job_id: str, status: JobStatus
) -> JobStatus:
    """A job the hub's own query no longer lists, asked about again as its user.

    Returns the user's answer when it still shows the job (and warns the admin once), else
    the original status.
    """
    if status.reason != VANISHED_REASON:
        return status
    try:
        answer = (await backend.query_status(user_ctx, [job_id])).get(job_id)
    except Exception as e:  # the hub's answer stands when the check cannot be made
        _log.debug("could not confirm that job %s ended: %s", job_id, e)
        return status
    if answer is None or answer.state.finished or answer.state is JobState.UNKNOWN:
        return status
    if backend.name not in _warned:
        _warned.add(backend.name)
        _log.warning(
            "Job %s is listed when asked as its user but not as the hub: the scheduler hides "
            "other users' jobs from the hub's account (Slurm: PrivateData=jobs). Set "
            "c.JobSpawner.status_exec_prefix to the same prefix as exec_prefix to query as "
            "each user, or run the hub's status queries as an account that sees all jobs.",
            job_id,
        )
    return answer


def notify_listener(spawner: Any, schedule: Callable[[], None]) -> Callable[[str, JobStatus], None]:
    """A poller listener for a spawner's job: when a round sees the job finished while
    JupyterHub polls this server, run JupyterHub's own handling now (``schedule``)."""

    def listener(job_id: str, status: JobStatus) -> None:
        if job_id != spawner.job_id or not spawner.polled:
            return  # not (or no longer) this server's running job: start/stop handle it
        spawner.log.warning("%s: %s", spawner.log_name, ended_message(job_id, status))
        schedule()

    return listener


def run_soon(coro_factory: Callable[[], Any]) -> Callable[[], None]:
    """A callable that runs ``coro_factory()`` as a task on the running loop."""

    def schedule() -> None:
        task = asyncio.ensure_future(coro_factory())
        _tasks.add(task)
        task.add_done_callback(_tasks.discard)

    return schedule


_tasks: set[asyncio.Future[Any]] = set()
