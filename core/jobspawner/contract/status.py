"""Normalised job states and the status record every backend returns."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime


class JobState(str, enum.Enum):
    """The scheduler-independent state of a batch job.

    Backends map every native state code onto one of these. ``HELD`` and ``SUSPENDED`` are
    *not* finished: the job still exists and may run again.
    """

    PENDING = "pending"
    HELD = "held"
    RUNNING = "running"
    SUSPENDED = "suspended"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"
    UNKNOWN = "unknown"

    @property
    def finished(self) -> bool:
        """True for the terminal states (done, failed, cancelled)."""
        return self in _FINISHED

    @property
    def active(self) -> bool:
        """True while the job exists in the scheduler and is not finished."""
        return self in _ACTIVE


_FINISHED = frozenset({JobState.DONE, JobState.FAILED, JobState.CANCELLED})
_ACTIVE = frozenset({JobState.PENDING, JobState.HELD, JobState.RUNNING, JobState.SUSPENDED})


class CancelOutcome(str, enum.Enum):
    """What a cancel command said about one job (see the ``parse_cancel`` hook)."""

    #: removed, or not known to the scheduler: nothing left to confirm
    GONE = "gone"
    #: the scheduler will not cancel it (someone else's job): fail now, do not retry
    REFUSED = "refused"


#: Reason text given to a job that a successful status query no longer lists.
VANISHED_REASON = "the scheduler no longer lists this job; it has ended"


@dataclass(frozen=True)
class JobStatus:
    """What a status query learned about one job.

    ``state`` is the normalised state; ``native_state`` is the scheduler's own code (``PD``,
    ``qw``, ``PEND``...) for messages and debugging. ``host`` is the execution host (first
    node of the allocation) when the scheduler reports one; ``reason`` is the scheduler's
    pending/hold/failure reason in its own words; ``expected_start`` is the scheduler's
    estimate of when a pending job starts; ``exit_code`` is known for finished jobs when the
    scheduler (or its accounting) reports it. ``end_time`` is when the scheduler will end a
    running job at its time limit, where it reports that (its start plus its current limit,
    so it follows a limit changed while the job runs); the hub tells the job's server
    (:mod:`jobspawner.lifecycle.walltime`).
    """

    state: JobState
    native_state: str | None = None
    host: str | None = None
    reason: str | None = None
    expected_start: datetime | None = None
    exit_code: int | None = None
    end_time: datetime | None = None
    extra: dict[str, str] = field(default_factory=dict)

    @classmethod
    def unknown(cls, reason: str) -> JobStatus:
        """A status for a job whose state could not be learned (the query failed)."""
        return cls(state=JobState.UNKNOWN, reason=reason)

    @classmethod
    def vanished(cls) -> JobStatus:
        """The defined answer for a job id missing from a *successful* query's output.

        Schedulers forget finished jobs (Slurm after MinJobAge, Grid Engine at once, LSF after
        CLEAN_PERIOD). A job that a working scheduler no longer lists has ended; how it ended
        is not known unless a history/accounting query says so.
        """
        return cls(state=JobState.DONE, reason=VANISHED_REASON)


@dataclass(frozen=True)
class QueueInfo:
    """One queue/partition and its limits, as resource discovery reports it.

    Every limit is optional: backends fill in what their scheduler tells. Memory is in MiB,
    times in seconds.
    """

    name: str
    default: bool = False
    state: str | None = None
    max_time_s: int | None = None
    default_time_s: int | None = None
    nodes: int | None = None
    cpus_per_node: int | None = None
    memory_per_node_mb: int | None = None
    gpus_per_node: int | None = None
    gres: str | None = None
    idle_cpus: int | None = None
    total_cpus: int | None = None
    node_states: dict[str, int] = field(default_factory=dict)
    extra: dict[str, str] = field(default_factory=dict)
