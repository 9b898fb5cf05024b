"""Slurm job states (long names and compact codes) mapped onto :class:`JobState`."""

from __future__ import annotations

from jobspawner import JobState

#: Compact code (``squeue %t``) -> long name (``squeue %T``, ``sacct State``).
COMPACT = {
    "PD": "PENDING",
    "CF": "CONFIGURING",
    "R": "RUNNING",
    "CG": "COMPLETING",
    "CD": "COMPLETED",
    "CA": "CANCELLED",
    "F": "FAILED",
    "TO": "TIMEOUT",
    "NF": "NODE_FAIL",
    "BF": "BOOT_FAIL",
    "DL": "DEADLINE",
    "OOM": "OUT_OF_MEMORY",
    "PR": "PREEMPTED",
    "S": "SUSPENDED",
    "ST": "STOPPED",
    "RD": "RESV_DEL_HOLD",
    "RF": "REQUEUE_FED",
    "RH": "REQUEUE_HOLD",
    "RQ": "REQUEUED",
    "RS": "RESIZING",
    "RV": "REVOKED",
    "SI": "SIGNALING",
    "SE": "SPECIAL_EXIT",
    "SO": "STAGE_OUT",
}

#: Every long state name (base states and the flags squeue/sacct print instead of them).
STATES: dict[str, JobState] = {
    # waiting to run
    "PENDING": JobState.PENDING,
    "CONFIGURING": JobState.PENDING,  # allocated, nodes still booting: not usable yet
    "POWER_UP_NODE": JobState.PENDING,
    "REQUEUED": JobState.PENDING,
    "REQUEUE_FED": JobState.PENDING,
    "EXPEDITING": JobState.PENDING,
    # held: exists, will not start until released
    "REQUEUE_HOLD": JobState.HELD,
    "RESV_DEL_HOLD": JobState.HELD,
    "SPECIAL_EXIT": JobState.HELD,
    # running
    "RUNNING": JobState.RUNNING,
    "RESIZING": JobState.RUNNING,
    "SIGNALING": JobState.RUNNING,
    "UPDATE_DB": JobState.RUNNING,
    # the script has ended but Slurm is still killing/cleaning up its processes and holds the
    # node: not gone yet (a cancel is confirmed only once the job has left this state)
    "COMPLETING": JobState.RUNNING,
    # suspended/stopped: keep their allocation, may resume
    "SUSPENDED": JobState.SUSPENDED,
    "STOPPED": JobState.SUSPENDED,
    # ended
    "COMPLETED": JobState.DONE,
    "STAGE_OUT": JobState.DONE,
    "CANCELLED": JobState.CANCELLED,
    "PREEMPTED": JobState.CANCELLED,
    "REVOKED": JobState.CANCELLED,
    "FAILED": JobState.FAILED,
    "TIMEOUT": JobState.FAILED,
    "DEADLINE": JobState.FAILED,
    "NODE_FAIL": JobState.FAILED,
    "BOOT_FAIL": JobState.FAILED,
    "OUT_OF_MEMORY": JobState.FAILED,
    "LAUNCH_FAILED": JobState.FAILED,
    "RECONFIG_FAIL": JobState.FAILED,
}

#: Pending reasons that mean the job is held (PENDING is not a hold by itself).
HOLD_REASONS = ("JobHeldUser", "JobHeldAdmin", "launch failed requeued held")


def long_name(native: str) -> str:
    """The long state name of a compact code or a long name (``CANCELLED by 1000`` too)."""
    word = native.strip().split(" ", 1)[0].upper().rstrip("+")
    return COMPACT.get(word, word)


def normalise(native: str, reason: str | None = None) -> JobState:
    """The :class:`JobState` of a Slurm state (compact or long) and its pending reason."""
    name = long_name(native)
    state = STATES.get(name, JobState.UNKNOWN)
    if state is JobState.PENDING and reason and reason.startswith(HOLD_REASONS):
        return JobState.HELD
    return state
