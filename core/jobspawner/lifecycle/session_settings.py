"""``SessionSettings``: the settings one server's lifecycle reads, frozen once per start.

A start runs for minutes or hours (a job waits in the queue). Its limits, intervals, host
rules and what it asked for are taken from the spawner once, when it begins and after the
chosen profile's overrides are applied (:func:`jobspawner.choices.overridden.overridden`): a setting
changed while it runs (by another start's profile, by a reloaded configuration) does not
change it halfway. Polls and stops take a new snapshot each time (no start to hold one).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any


def _frozen(value: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(value))


@dataclass(frozen=True)
class SessionSettings:
    """What the session reads of ``c.JobSpawner`` (each field is the setting of that name,
    unless its text says otherwise)."""

    backend: str
    keep_queued_on_restart: bool
    queue_timeout: float
    server_start_timeout: float
    start_timeout: int
    startup_poll_interval: float
    status_interval: float
    status_max_age: float
    server_check_timeout: float
    log_tail_lines: int
    host_source: str
    server_hosts_allowed: tuple[str, ...]
    host_map: Mapping[str, str] = field(default_factory=lambda: _frozen({}))
    internal_ssl: bool = False
    #: what this start asks for (:func:`jobspawner.lifecycle.interrupted_start.request_of`): kept in
    #: the record for a restarted hub to adopt the job, compared when adopting one; None
    #: when neither is needed
    request: Mapping[str, Any] | None = None
    #: the settings the job is submitted with (:data:`jobspawner.choices.user_options.JOB_SETTINGS`)
    job_settings: Mapping[str, Any] = field(default_factory=lambda: _frozen({}))

    @classmethod
    def of(
        cls,
        config: Any,
        request: Mapping[str, Any] | None = None,
        job_settings: Mapping[str, Any] | None = None,
    ) -> SessionSettings:
        """The snapshot of ``config`` (a spawner, its profile's overrides applied)."""
        return cls(
            backend=str(config.backend),
            keep_queued_on_restart=bool(config.keep_queued_on_restart),
            queue_timeout=float(config.queue_timeout),
            server_start_timeout=float(config.server_start_timeout),
            start_timeout=int(config.start_timeout),
            startup_poll_interval=float(config.startup_poll_interval),
            status_interval=float(config.status_interval),
            status_max_age=float(config.status_max_age),
            server_check_timeout=float(config.server_check_timeout),
            log_tail_lines=int(config.log_tail_lines),
            host_source=str(config.host_source),
            server_hosts_allowed=tuple(config.server_hosts_allowed),
            host_map=_frozen(config.host_map or {}),
            internal_ssl=bool(config.internal_ssl),
            request=None if request is None else _frozen(request),
            job_settings=_frozen(job_settings or {}),
        )
