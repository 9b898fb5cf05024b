"""Spawns a hub restart interrupted: the job was queued or starting when the hub stopped.

JupyterHub keeps everything that follows a spawn in the process that began it: the spawn's
future, its progress stream, the proxy route added once the server is ready. A restarted hub
(``JupyterHub.init_spawners``) only checks, before it listens, whether each server in its
database answers at its URL; a server whose start never finished has no URL, and its job
could not report its port to a hub that does not listen yet. So the restarted hub cannot
follow such a spawn: it ends it when it first polls the spawner, and the user sees why where
JupyterHub shows a failed spawn (the server's page and the progress stream).

What becomes of the job depends on ``c.JobSpawner.keep_queued_on_restart``:

* **kept** (the default): the job stays in the queue (or runs on), moved to the record's
  kept start (:class:`jobspawner.lifecycle.job_record.QueuedStart`). The user's next start adopts it
  when she asks for the same profile and options (and the site's job settings are those it
  was submitted with): no new job, and the start waits for that job's server exactly as a
  start waits for a job it submitted. Other options cancel the kept job (confirmed, or kept
  in ``unconfirmed_cancels`` and retried) and submit a new one; a kept job that ended
  meanwhile is replaced by a new one, and the progress says how it ended.
* **cancelled**: the job is cancelled at once (a job that starts later would find nobody
  waiting for its port and die anyway, after using the allocation for nothing), and the
  user starts again.

JupyterHub gives every start a new API token (and rekeys the server's OAuth client with it).
The kept job's server holds the token of the start that submitted it, in its secrets file,
and the server-check key (:mod:`jobspawner.jobside.server_proof`). So while a start is unfinished
the record keeps both (in the hub's database, which only the hub reads); an adopting start
gives the spawner that token back, and JupyterHub, seeing a spawner that re-used a token it
knows for this user, deletes the new one and rekeys the OAuth client with the kept one
(``User.spawn``). The port report is then accepted from that job only (its token), its
server proves itself with the kept key, and logins through OAuth work. A kept start that is
not adopted has its token deleted from JupyterHub's database (:func:`revoke_token`). Once a
start's server answered, the record holds neither.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping
from typing import Any

from jobspawner.contract.status import JobStatus
from jobspawner.facade.end_words import ended_while_starting
from jobspawner.facade.hub_compat import SpawnException
from jobspawner.lifecycle.job_record import QueuedStart


def user_message(job_id: str) -> str:
    """What the user reads about a start that a hub restart interrupted (job cancelled)."""
    return (
        f"Your server was still starting (job {job_id}) when JupyterHub restarted, and the "
        "restarted JupyterHub could not follow that start, so the job was cancelled. "
        "Please start your server again."
    )


def kept_message(job_id: str) -> str:
    """What the user reads about an interrupted start whose job is kept."""
    return (
        f"Your server was still starting (job {job_id}) when JupyterHub restarted. The job "
        "keeps its place in the queue: start your server again with the same options to "
        "resume it."
    )


def resuming(backend: str, job_id: str) -> str:
    """The progress message of a start that adopts the kept job."""
    return (
        f"Resuming the queued {backend} job {job_id}, submitted before JupyterHub restarted "
        "(the same options); no new job is submitted."
    )


def replacing(job_id: str) -> str:
    """The progress message of a start whose options differ from the kept job's."""
    return (
        f"You chose other options than those of job {job_id}, which was waiting from before "
        "JupyterHub restarted: it is cancelled and a new job submitted."
    )


def revoked(job_id: str) -> str:
    """The progress message of a start whose kept job's token is no longer valid."""
    return (
        f"Job {job_id}, waiting from before JupyterHub restarted, cannot be resumed: its "
        "server's token was revoked meanwhile. It is cancelled and a new job submitted."
    )


def replacing_unconfirmed(job_id: str) -> str:
    """The kept job's cancel could not be confirmed (it is retried at the next start)."""
    return (
        f"The cancel of job {job_id} could not be confirmed yet; it is retried at your next "
        "start. Submitting the new job."
    )


def ended_meanwhile(job_id: str, status: JobStatus) -> str:
    """The progress message of a start whose kept job ended before it was adopted."""
    how = ended_while_starting(job_id, status).removeprefix(f"Job {job_id} ")
    return (
        f"Job {job_id}, kept from before JupyterHub restarted, {how.rstrip('.')}. "
        "Submitting a new job."
    )


def request_of(
    profile: str, resources: Mapping[str, Any], choices: Mapping[str, Any]
) -> dict[str, Any]:
    """What a start asks for, normalised: its profile, its resources as the job script gets
    them (the site's and the user's, each normalised once: ``60m`` and ``1h`` are both
    ``01:00:00``) and the profile's other choices, typed (as JSON keeps them)."""
    asked = {"profile": profile, "resources": dict(resources), "choices": dict(choices)}
    loaded: dict[str, Any] = json.loads(json.dumps(asked, sort_keys=True, default=str))
    return loaded


def same_start(
    queued: QueuedStart, backend: str, request: Mapping[str, Any], job_settings: Mapping[str, Any]
) -> bool:
    """Whether a start asks for what the kept job was submitted with: the same backend, the
    same request (:func:`request_of`) and the same job settings."""
    return (
        bool(queued.request)
        and queued.backend == backend
        and dict(queued.request) == dict(request)
        and dict(queued.job_settings) == dict(job_settings)
    )


def _own_token(orm_spawner: Any, token: str) -> tuple[Any, Any]:
    """(the database session, ``token``'s row) when ``token`` is in JupyterHub's database
    and belongs to this spawner's user; (None, None) otherwise (also outside a database)."""
    if not token or orm_spawner is None:
        return None, None
    from jupyterhub import orm
    from sqlalchemy import exc, inspect

    try:
        session = inspect(orm_spawner).session
    except exc.NoInspectionAvailable:  # not a database object (tools, tests)
        return None, None
    if session is None:
        return None, None
    found = orm.APIToken.find(session, token)
    if found is None or found.user_id != orm_spawner.user_id:
        return None, None
    return session, found


def token_known(orm_spawner: Any, token: str) -> bool:
    """Whether a kept start's token is still this user's in JupyterHub's database: a token
    revoked meanwhile (by the user, an admin) is never brought back by an adopting start
    (JupyterHub would store a re-used token it does not know as a new one)."""
    return _own_token(orm_spawner, token)[1] is not None


def revoke_token(orm_spawner: Any, token: str, log: logging.Logger, name: str) -> bool:
    """Delete a kept start's server token from JupyterHub's database (only a token of this
    spawner's own user); True when one was deleted. Never raises: the start goes on."""
    try:
        session, found = _own_token(orm_spawner, token)
        if found is None:
            return False
        session.delete(found)
        session.commit()
    except Exception as e:  # a token left is logged; nothing else depends on it
        log.warning("%s: could not delete the kept start's server token: %s", name, e)
        return False
    return True


def failed_spawn(message: str) -> asyncio.Future[Any]:
    """A finished spawn future holding the failure, as JupyterHub keeps a failed spawn's.

    JupyterHub shows ``spawner._spawn_future``'s exception on the server's page
    (``/user/<name>/``, ``/hub/spawn-pending/<name>``) and as the progress stream's failed
    event, until the user starts the server again.
    """
    future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    error = SpawnException(message, reason="hub_restart")
    error.jupyterhub_message = message  # the message JupyterHub's pages show as the reason
    future.set_exception(error)
    future.exception()  # retrieved: no "exception never retrieved" warning at collection
    return future
