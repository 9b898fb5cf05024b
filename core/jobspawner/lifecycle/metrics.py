"""Prometheus metrics of jobspawner, served on JupyterHub's own ``/hub/metrics``.

Every metric lives in prometheus_client's default registry, the one JupyterHub serves, so
they need no endpoint, port or setting of their own and the same ``read:metrics`` scope
guards them (JupyterHub's ``authenticate_prometheus`` decides, as for its own metrics).
Names follow JupyterHub's: ``<prefix>_jobspawner_<noun>_<verb>_<unit>``, where the prefix is
JupyterHub's (``JUPYTERHUB_METRICS_PREFIX``, ``jupyterhub`` by default). docs/metrics.md
lists each one.

Labels are bounded: ``backend`` is the configured backend name, ``profile`` a configured
profile slug (``""`` without profiles; ``other`` past :data:`MAX_PROFILES` slugs),
``command`` the program's base name when it is in :data:`COMMANDS` (else ``other``),
``reason``, ``error`` and ``state`` come from fixed lists. No user name, job id or free text
ever becomes a label.

The rest of the core calls the small functions below where events happen. They never raise
(a metric must not fail a spawn: a failure is logged at debug level) and resolve label
children at most once per event, with no allocation per status round beyond the call.
"""

from __future__ import annotations

import logging
import os
import time
import weakref
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from prometheus_client import REGISTRY, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily

from jobspawner.choices.profiles import SLUG
from jobspawner.contract.commands import (
    Command,
    CommandError,
    CommandNotFound,
    CommandResult,
    measure_commands_with,
)
from jobspawner.contract.status import JobState, JobStatus
from jobspawner.facade.submit_errors import UNREACHABLE
from jobspawner.lifecycle.watch_registry import REGISTRY as WATCHES

if TYPE_CHECKING:
    from jobspawner.lifecycle.start_clock import StartClock

_log = logging.getLogger(__name__)

#: JupyterHub's metric name prefix (the same variable JupyterHub reads).
NAMESPACE = os.environ.get("JUPYTERHUB_METRICS_PREFIX", "jupyterhub")
SUBSYSTEM = "jobspawner"

#: Scheduler programs whose name becomes the ``command`` label; anything else is ``other``.
COMMANDS = frozenset(
    {
        # Slurm
        *("sbatch", "squeue", "sacct", "scancel", "scontrol", "sinfo"),
        # Torque, PBS Pro / OpenPBS, Moab
        *("qsub", "qstat", "qdel", "pbsnodes", "tracejob"),
        *("msub", "showq", "mdiag", "mjobctl", "checkjob"),
        # Grid Engine
        *("qacct", "qconf", "qhost"),
        # LSF
        *("bsub", "bjobs", "bkill", "bacct", "bhist", "bqueues", "bparams", "bhosts"),
        # HTCondor
        *("condor_submit", "condor_q", "condor_rm", "condor_history", "condor_status"),
        # the core's own helpers (output folder, secrets file, log tail)
        *("sh", "install", "rm", "tail", "test"),
    }
)
#: The label of the local backend's commands (``python -m jobspawner.jobside.local_jobs ...``).
LOCAL_JOBS = "local_jobs"
#: Distinct profile slugs labelled before further ones count as ``other``.
MAX_PROFILES = 64

#: Why a spawn failed (the ``reason`` label of :data:`SPAWN_FAILURES`).
FAILURE_REASONS = (
    "job_ended",  # the job ended before its server reported and answered
    "queue_timeout",  # c.JobSpawner.queue_timeout ran out while the job was queued
    "server_start_timeout",  # c.JobSpawner.server_start_timeout ran out once it ran
    "start_timeout",  # c.Spawner.start_timeout's share ran out first
    "server_check",  # the reported port never answered as this spawn's server
    "submit_refused",  # the scheduler answered the submit with a refusal
    "scheduler_unreachable",  # the submit got no answer (down, timed out, not started)
    "route_refused",  # the job's host may not be routed to
    "invalid_request",  # the user's options or resources were refused
    "config",  # the hub's configuration stops every spawn
    "other",
)
_REASONS = {
    "job_ended": "job_ended",
    "server_check": "server_check",
    "route": "route_refused",
    "user_options": "invalid_request",
    "resources": "invalid_request",
    "server_name": "invalid_request",
    "config": "config",
    "backend": "config",
    "template": "config",
    "internal_ssl": "config",
}
_TIMEOUTS = {"queue": "queue_timeout", "server": "server_start_timeout"}
#: The ``error`` label of :data:`COMMAND_ERRORS`.
COMMAND_ERROR_KINDS = ("exit_status", "timeout", "not_started")
#: The states :data:`JOBS` counts (a finished job leaves the watch list).
ACTIVE_STATES = tuple(s for s in JobState if not s.finished)

# Queued jobs wait minutes to hours; servers start in seconds to minutes; commands take
# milliseconds to their timeout (30 s by default).
QUEUE_BUCKETS = (1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14400, 43200, float("inf"))
START_BUCKETS = (0.5, 1, 2.5, 5, 10, 15, 30, 60, 120, 180, 300, 600, float("inf"))
COMMAND_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, float("inf"))
JOB_COUNT_BUCKETS = (1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, float("inf"))

_common: dict[str, Any] = {"namespace": NAMESPACE, "subsystem": SUBSYSTEM}

SPAWN_QUEUE_WAIT_SECONDS = Histogram(
    "spawn_queue_wait_seconds",
    "Time a successful spawn's job waited from submission until it ran",
    ["backend", "profile"],
    buckets=QUEUE_BUCKETS,
    **_common,
)
SPAWN_SERVER_START_SECONDS = Histogram(
    "spawn_server_start_seconds",
    "Time from a successful spawn's job running until its server answered",
    ["backend", "profile"],
    buckets=START_BUCKETS,
    **_common,
)
SPAWN_FAILURES = Counter(
    "spawn_failures",
    "Spawns that failed, by reason",
    ["backend", "profile", "reason"],
    **_common,
)
COMMAND_DURATION_SECONDS = Histogram(
    "command_duration_seconds",
    "Duration of scheduler commands, by program",
    ["command"],
    buckets=COMMAND_BUCKETS,
    **_common,
)
COMMAND_ERRORS = Counter(
    "command_errors",
    "Scheduler commands that exited non-zero, timed out or could not start, by program",
    ["command", "error"],
    **_common,
)
STATUS_ROUND_DURATION_SECONDS = Histogram(
    "status_round_duration_seconds",
    "Duration of status rounds (one query for every watched job)",
    ["backend"],
    buckets=COMMAND_BUCKETS,
    **_common,
)
STATUS_ROUND_JOBS = Histogram(
    "status_round_jobs",
    "Jobs asked about per status round",
    ["backend"],
    buckets=JOB_COUNT_BUCKETS,
    **_common,
)
STATUS_ROUND_FAILURES = Counter(
    "status_round_failures",
    "Status rounds whose query failed (every job's state unknown for that round)",
    ["backend"],
    **_common,
)
WATCHED_SERVERS = Gauge(
    "watched_servers",
    "Running servers the server watch holds a connection to",
    **_common,
)
WATCHED_SERVERS.set_function(lambda: len(WATCHES.watches))
UNREACHABLE_SERVERS = Gauge(
    "unreachable_servers",
    "Watched servers that do not answer right now",
    **_common,
)
UNREACHABLE_SERVERS.set_function(lambda: len(WATCHES.down))
LOST_SERVERS = Counter(
    "lost_servers",
    "Servers stopped because they stayed unreachable while their job ran",
    ["backend"],
    **_common,
)
JOBS_NAME = f"{NAMESPACE}_{SUBSYSTEM}_jobs"
JOBS_HELP = "Watched jobs by their last known state"


def _safely(event: Callable[..., None], *args: Any) -> None:
    """Record an event; a failure of the metrics is logged, never raised."""
    try:
        event(*args)
    except Exception as e:
        _log.debug("jobspawner metrics: could not record %s: %s", event.__name__, e)


# --- labels -------------------------------------------------------------------------------
_profiles: set[str] = set()


def profile_label(slug: object) -> str:
    """A configured profile's slug (``""`` for none); ``other`` for anything that is not a
    slug (as :mod:`jobspawner.choices.profiles` checks them) and past MAX_PROFILES slugs."""
    slug = str(slug or "")
    if slug in _profiles or not slug:
        return slug
    if len(_profiles) >= MAX_PROFILES or not SLUG.fullmatch(slug):
        return "other"
    _profiles.add(slug)
    return slug


def command_label(command: Command) -> str:
    """The program's base name from :data:`COMMANDS`, ``local_jobs`` or ``other``."""
    argv = command.argv
    name = argv[0].rsplit("/", 1)[-1]
    if name in COMMANDS:
        return name
    if "jobspawner.jobside.local_jobs" in argv[1:4]:
        return LOCAL_JOBS
    return "other"


def command_error_kind(error: CommandError) -> str:
    """``timeout``, ``not_started`` (not installed, no connection) or ``exit_status``."""
    if error.problem.startswith("timed out"):
        return "timeout"
    if isinstance(error, CommandNotFound) or error.returncode is None:
        return "not_started"
    return "exit_status"


def failure_reason(error: BaseException, clock: StartClock | None) -> str:
    """The ``reason`` label of a failed spawn (one of :data:`FAILURE_REASONS`)."""
    reason = str(getattr(error, "reason", "") or "")
    if reason == "timeout":
        expired = clock.expired() if clock is not None else None
        return _TIMEOUTS.get(expired or "", "start_timeout")
    if reason == "submit":
        cause = error.__cause__
        if isinstance(cause, CommandError) and (
            cause.problem == UNREACHABLE or command_error_kind(cause) != "exit_status"
        ):
            return "scheduler_unreachable"
        return "submit_refused"
    return _REASONS.get(reason, "other")


def _spawn_labels(spawner: Any) -> tuple[str, str]:
    return str(spawner.backend), profile_label(
        getattr(getattr(spawner, "record", None), "profile", "")
    )


# --- spawns -------------------------------------------------------------------------------
_seen_spawn_labels: set[tuple[str, str]] = set()


def _precreate(labels: tuple[str, str]) -> None:
    """The spawn series of a backend and profile exist (at 0) before their first event, so
    that ``increase()`` and ``rate()`` count that event too."""
    if labels in _seen_spawn_labels:
        return
    _seen_spawn_labels.add(labels)
    SPAWN_QUEUE_WAIT_SECONDS.labels(*labels)
    SPAWN_SERVER_START_SECONDS.labels(*labels)
    for reason in FAILURE_REASONS:
        SPAWN_FAILURES.labels(*labels, reason)


def declare(spawner: Any) -> None:
    """At the hub's start: the series of the configured backend and of each profile of a
    static ``c.JobSpawner.profiles`` list (with the backend it overrides) exist at 0."""
    _safely(_declare, spawner)


def _declare(spawner: Any) -> None:
    backend = str(spawner.backend)
    LOST_SERVERS.labels(backend)
    profiles = spawner.profiles
    if not isinstance(profiles, (list, tuple)) or not profiles:
        _precreate((backend, ""))
        return
    for profile in profiles:
        overrides = profile.get("overrides") or {}
        _precreate((str(overrides.get("backend") or backend), profile_label(profile["slug"])))


def spawn_ready(spawner: Any) -> None:
    """A spawn succeeded: its queue wait and its server's start time (from the spawn's
    :class:`~jobspawner.lifecycle.start_clock.StartClock`, ``spawner.spawn_clock``)."""
    _safely(_spawn_ready, spawner)


def _spawn_ready(spawner: Any) -> None:
    clock: StartClock = spawner.spawn_clock
    labels = _spawn_labels(spawner)
    _precreate(labels)
    now = time.monotonic()
    running = clock.running_since if clock.running_since is not None else now
    SPAWN_QUEUE_WAIT_SECONDS.labels(*labels).observe(max(0.0, running - clock.began))
    SPAWN_SERVER_START_SECONDS.labels(*labels).observe(max(0.0, now - running))


def spawn_failed(spawner: Any, error: BaseException) -> None:
    """A spawn failed with ``error``: count it under its reason."""
    _safely(_spawn_failed, spawner, error)


def _spawn_failed(spawner: Any, error: BaseException) -> None:
    labels = _spawn_labels(spawner)
    _precreate(labels)
    reason = failure_reason(error, getattr(spawner, "spawn_clock", None))
    SPAWN_FAILURES.labels(*labels, reason).inc()


def server_lost(spawner: Any) -> None:
    """A server was stopped for staying unreachable (:mod:`jobspawner.lifecycle.server_watch`)."""
    _safely(lambda: LOST_SERVERS.labels(str(spawner.backend)).inc())


# --- commands -----------------------------------------------------------------------------
async def timed_command(command: Command, run: Awaitable[CommandResult]) -> CommandResult:
    """Await a runner's ``run`` of ``command``, recording its duration and any error."""
    began = time.monotonic()
    try:
        result = await run
    except CommandError as e:
        _safely(_command_done, command, began, command_error_kind(e))
        raise
    _safely(_command_done, command, began, "exit_status" if result.returncode else None)
    return result


measure_commands_with(timed_command)  # every runner's commands, from the hub's first import

_seen_commands: set[str] = set()


def _command_done(command: Command, began: float, error: str | None) -> None:
    label = command_label(command)
    if label not in _seen_commands:  # its error series exist from its first run on
        _seen_commands.add(label)
        for kind in COMMAND_ERROR_KINDS:
            COMMAND_ERRORS.labels(label, kind)
    COMMAND_DURATION_SECONDS.labels(label).observe(time.monotonic() - began)
    if error is not None:
        COMMAND_ERRORS.labels(label, error).inc()


# --- status rounds ------------------------------------------------------------------------
Query = Callable[[Sequence[str]], Awaitable[Mapping[str, JobStatus]]]


def timed_query(backend: str, query: Query) -> Query:
    """``query`` (a poller's status query) that records each round's duration, size and
    failure under ``backend``."""
    duration = STATUS_ROUND_DURATION_SECONDS.labels(backend)
    jobs = STATUS_ROUND_JOBS.labels(backend)
    failures = STATUS_ROUND_FAILURES.labels(backend)

    async def timed(ids: Sequence[str]) -> Mapping[str, JobStatus]:
        began = time.monotonic()
        try:
            return await query(ids)
        except Exception:
            failures.inc()
            raise
        finally:
            duration.observe(time.monotonic() - began)
            jobs.observe(len(ids))

    return timed


class Poller(Protocol):
    """What :func:`count_jobs` needs of a status poller."""

    def states(self) -> Iterator[JobState]:
        """The last known state of each watched job."""


_pollers: list[tuple[str, weakref.ref[Poller]]] = []


def count_jobs(backend: str, poller: Poller) -> None:
    """Count ``poller``'s watched jobs by state in :data:`JOBS_NAME` under ``backend``."""
    _pollers.append((backend, weakref.ref(poller)))


class JobStates:
    """The watched jobs by state, counted from the pollers when Prometheus scrapes."""

    def describe(self) -> Iterable[GaugeMetricFamily]:
        return [GaugeMetricFamily(JOBS_NAME, JOBS_HELP, labels=["backend", "state"])]

    def collect(self) -> Iterable[GaugeMetricFamily]:
        family = GaugeMetricFamily(JOBS_NAME, JOBS_HELP, labels=["backend", "state"])
        counts: dict[str, dict[JobState, int]] = {}
        for backend, ref in tuple(_pollers):
            per_state = counts.setdefault(backend, dict.fromkeys(ACTIVE_STATES, 0))
            poller = ref()
            if poller is None:
                continue
            for state in poller.states():
                if state in per_state:
                    per_state[state] += 1
        for backend, per_state in sorted(counts.items()):
            for state, count in per_state.items():
                family.add_metric([backend, state.value], count)
        return [family]


JOBS = JobStates()
REGISTRY.register(JOBS)
