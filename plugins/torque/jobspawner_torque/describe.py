"""Plain-words descriptions of PBS scheduler comments and Moab block reasons."""

from __future__ import annotations

import re

from jobspawner import JobState, JobStatus, describe_generic

#: (pattern on the scheduler's comment/reason, words for a notebook user). First match wins.
_PBS_COMMENTS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(p, re.IGNORECASE), words)
    for p, words in [
        (
            r"Insufficient amount of (?:queue |server )?resource: (\w+) "
            r"\(R: (\S+) A: (\S+) T: (\S+)\)",
            "not enough free {0} right now (the job asks for {1}, {2} of {3} are free)",
        ),
        (r"Insufficient amount of .*?resource: (\w+)", "not enough free {0} right now"),
        (r"Not enough of the right type of nodes", "all nodes of the kind it needs are busy"),
        (r"Not enough free nodes", "all nodes are busy"),
        (r"ineligible state: offline|nodes? (?:are|is) (?:down|offline)", "its nodes are offline"),
        (
            r"(?:User|Group|Project) has reached (?:queue|server) .*?(?:running|run) job limit",
            "you already run as many jobs as this queue allows",
        ),
        (r"max_run|run limit", "a limit on running jobs has been reached"),
        (r"conflict with reservation|top job|drain", "nodes are kept free for another job"),
        (r"Queue \S+ (?:is )?not started", "the queue is stopped by the administrators"),
        (r"Server is not started|scheduling is (?:off|disabled)", "the scheduler is paused"),
        (r"dedicated time", "the cluster is in dedicated (maintenance) time"),
    ]
]

#: PBS resource names in words.
_RESOURCE_WORDS = {
    "ncpus": "CPUs",
    "mem": "memory",
    "vmem": "virtual memory",
    "ngpus": "GPUs",
    "nodes": "nodes",
    "nodect": "nodes",
    "mpiprocs": "MPI slots",
}

#: Moab block reasons (showq/checkjob ``BlockReason``) and states.
_MOAB_REASONS: dict[str, str] = {
    "Idle": "eligible to start, waiting for free resources",
    "blocked": "blocked by a scheduler policy",
    "IdlePolicy": "you have reached a limit on queued or running jobs",
    "ActivePolicy": "you have reached a limit on running jobs",
    "Hold": "on hold",
    "UserHold": "held by you (use mjobctl -u to release)",
    "SystemHold": "held by the system administrators",
    "BatchHold": "held by the scheduler after it failed to start the job repeatedly",
    "Deferred": "deferred by the scheduler (it could not start the job yet and will retry)",
    "Depend": "waiting for another job it depends on",
    "NoResources": "no resources match the request",
    "BadRequest": "the request cannot be satisfied",
    "Reservation": "waiting for its reservation",
    "PartitionAccess": "not allowed in the requested partition",
}


def translate_pbs(reason: str | None) -> str | None:
    """A PBS ``comment`` in plain words (the scheduler's text is kept when unknown)."""
    if not reason:
        return reason
    text = reason.removeprefix("Not Running:").strip()
    if text.startswith("Can Never Run"):
        inner = translate_pbs(text.removeprefix("Can Never Run").lstrip(": "))
        return f"the job can never run as requested ({inner}); ask for fewer resources"
    for pattern, words in _PBS_COMMENTS:
        m = pattern.search(text)
        if m:
            return words.format(*(_RESOURCE_WORDS.get(g, g) for g in m.groups()))
    return text


def translate_moab(reason: str | None) -> str | None:
    """A Moab block reason/state in plain words; the description after ``:`` is kept."""
    if not reason:
        return reason
    key, _, detail = reason.partition(":")
    words = _MOAB_REASONS.get(key.strip())
    if words is None:
        return reason
    return f"{words} ({detail.strip()})" if detail.strip() else words


def describe_pbs(status: JobStatus) -> str:
    """``describe_status`` for Torque and PBS Pro."""
    if status.state is JobState.RUNNING and (status.native_state or "").upper() == "E":
        return "Your job is ending (exiting); the scheduler is cleaning up after it."
    if status.state in (JobState.PENDING, JobState.HELD, JobState.SUSPENDED):
        return describe_generic(status, translate_pbs(status.reason))
    return describe_generic(status)


def describe_moab(status: JobStatus) -> str:
    """``describe_status`` for Moab."""
    if status.state in (JobState.PENDING, JobState.HELD, JobState.SUSPENDED):
        return describe_generic(status, translate_moab(status.reason))
    return describe_generic(status)
