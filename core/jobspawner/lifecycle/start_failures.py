"""Why a start failed, in words for the user and the admin: a limit ran out, the scheduler
gave a host no route may point at, or no server of this start answered the check.

(A job that ended while starting is told by
:func:`jobspawner.facade.end_words.ended_while_starting`;
the log tail each message ends with is read by the session, bounded.)
"""

from __future__ import annotations

from jobspawner.facade.hub_compat import SpawnException
from jobspawner.lifecycle import handshake
from jobspawner.lifecycle.session_settings import SessionSettings
from jobspawner.transport import routing
from jobspawner.transport.host_map import HostMap, HostMapError


def timed_out(
    settings: SessionSettings, job_id: str, last: str, limit: str = "start"
) -> SpawnException:
    """The error for a start whose ``limit`` ran out (``queue``, ``server`` or ``start``)."""
    if limit == "queue":
        what = (
            f"Job {job_id} waited in the queue for {settings.queue_timeout:g} seconds "
            f"without starting (last state: {last}); the job was cancelled. Try again "
            "later or ask for fewer resources; admins can raise "
            "c.JobSpawner.queue_timeout."
        )
    elif limit == "server":
        what = (
            f"Job {job_id} runs but its notebook server did not start within "
            f"{settings.server_start_timeout:g} seconds (last state: {last}); the job was "
            "cancelled. Admins can raise c.JobSpawner.server_start_timeout."
        )
    else:
        what = (
            f"Job {job_id} did not start its notebook server within "
            f"{settings.start_timeout} seconds (last state: {last}); the job was "
            "cancelled. Try again later or ask for fewer resources; admins can "
            "raise c.Spawner.start_timeout."
        )
    return SpawnException(what, reason="timeout")


def mapped_host(settings: SessionSettings, host: str | None) -> str | None:
    """``host`` renamed by ``c.JobSpawner.host_map`` (:mod:`jobspawner.transport.host_map`)."""
    if not host or not settings.host_map:
        return host
    try:
        return HostMap.parse(dict(settings.host_map)).apply(host)
    except HostMapError as e:
        raise SpawnException(str(e), reason="config") from e


def routable_scheduler_host(settings: SessionSettings, job_id: str, host: str | None) -> str:
    """The scheduler's host for ``job_id``, mapped, refused when no route may point there."""
    source = f"the scheduler gave for job {job_id}"
    host = mapped_host(settings, host)
    try:
        if not host or not handshake.valid_host(host):
            raise routing.RouteRefused(
                f"the host {host!r} {source} is not a host name or IP address"
            )
        routing.check_never_routable(host, source)
    except routing.RouteRefused as e:
        raise SpawnException(
            f"Cannot route to the notebook server: {e}. An admin can map node names to "
            "reachable addresses with a site plugin's get_host hook.",
            reason="route",
        ) from e
    return host


def server_check_message(
    prefix: str, host: str, port: int, job_id: str, asked: str, last: str, unproven: bool
) -> str:
    """Why the server check at ``host:port`` failed (before the log tail)."""
    message = (
        f"No Jupyter server for {prefix} answered on {host}:{port}, the "
        f"port job {job_id} reported (GET {asked}: {last}); the job was cancelled"
    )
    if unproven:
        message += (
            " and nothing was routed there. Only the server this start launched knows "
            "the key the hub gave it: a site's c.JobSpawner.cmd must end by running "
            "jobspawner-singleuser (see c.JobSpawner.require_server_proof)."
        )
    else:
        message += (
            ". If the server starts slowly, admins can raise c.JobSpawner.server_check_timeout."
        )
    return message
