"""Slurm's pending/hold reason codes in words a notebook user understands."""

from __future__ import annotations

import re

from jobspawner import JobState, JobStatus, describe_generic, exit_code_text

#: Exact reason codes (squeue ``%r``, "JOB REASON CODES" in ``man squeue``).
REASONS = {
    "Resources": "the CPUs, memory or GPUs it asks for are all in use; "
    "it starts as soon as they are free",
    "Priority": "jobs with a higher priority are ahead of it in the queue",
    "Dependency": "it waits for another job to finish first",
    "DependencyNeverSatisfied": "it depends on a job that failed, so it will never start; "
    "stop it and start a new server",
    "BeginTime": "it was asked not to start before a later time",
    "JobHeldUser": "it is on hold (held by its owner); it will not start until released",
    "JobHeldAdmin": "an administrator has put it on hold; it will not start until they release it",
    "launch failed requeued held": "it failed to launch and was put on hold; "
    "ask your administrator",
    "PartitionDown": "its partition is down (closed by the administrators)",
    "PartitionInactive": "its partition is not accepting jobs to run right now",
    "PartitionTimeLimit": "the run time you asked for is longer than its partition allows; "
    "it will not start. Stop it and ask for less time",
    "PartitionNodeLimit": "it asks for more nodes than its partition allows; "
    "it will not start. Stop it and ask for fewer nodes",
    "PartitionConfig": "it asks for more than its partition allows (CPUs, memory or nodes)",
    "ReqNodeNotAvail": "the nodes it needs are not available (down, drained, "
    "or reserved, e.g. for maintenance)",
    "NodeDown": "a node it needs is down",
    "Reservation": "it waits for its advanced reservation to begin",
    "ReservationDeleted": "the reservation it asked for no longer exists",
    "Licenses": "it waits for a software licence to become free",
    "BadConstraints": "no node matches the features it asks for; it will not start",
    "InvalidAccount": "its account is not valid; it will not start. "
    "Choose another account or ask your administrator",
    "InvalidQOS": "its QOS is not valid; it will not start. "
    "Choose another QOS or ask your administrator",
    "QOSUsageThreshold": "the required QOS has used up its allocation",
    "QOSJobLimit": "its QOS has reached its maximum number of jobs",
    "QOSResourceLimit": "its QOS has used up a resource limit",
    "QOSTimeLimit": "its QOS has reached its time limit",
    "AccountNotAllowed": "its account may not use this partition",
    "FrontEndDown": "no front-end node is available to run it",
    "BurstBufferResources": "it waits for burst-buffer storage",
    "BurstBufferStageIn": "its input files are being staged in",
    "Cleaning": "it is being requeued and its previous run is still being cleaned up",
    "Prolog": "the node is running its start-up script (prolog)",
    "PowerUpNode": "the nodes it needs are being powered up",
    "NodeSuspended": "the nodes it needs are suspended",
    "Nodes_required_for_job_are_DOWN,_DRAINED_or_reserved_for_jobs_in_higher_priority_"
    "partitions": "the nodes it needs are down, drained or reserved for other partitions",
    "SchedDefer": "the scheduler has deferred it; it is considered at the next cycle",
    "JobArrayTaskLimit": "its job array has reached its limit of tasks running at once",
    "MaxMemPerLimit": "it asks for more memory than allowed",
    "WaitingForScheduling": "the scheduler has not looked at it yet",
    "None": "",
    # reasons of finished jobs
    "NonZeroExitCode": "the job script exited with an error",
    "TimeLimit": "it reached its time limit",
    "InactiveLimit": "it was inactive for too long",
    "SystemFailure": "a failure of the cluster ended it",
    "JobLaunchFailure": "it could not be launched (a file system or node problem)",
    "OutOfMemory": "it ran out of memory",
    "RaisedSignal": "it was killed by a signal",
}

_RESOURCE_WORDS = {
    "cpu": "CPUs",
    "cpus": "CPUs",
    "mem": "memory",
    "memory": "memory",
    "node": "nodes",
    "nodes": "nodes",
    "jobs": "running jobs",
    "job": "jobs",
    "submitjob": "queued jobs",
    "submitjobs": "queued jobs",
    "gres": "GPUs (or other devices)",
    "wall": "run time",
    "wallduration": "run time",
    "cpumins": "CPU time",
    "cpuminutes": "CPU time",
    "cpurunmins": "CPU time of running jobs",
    "cpumin": "CPU time",
    "billing": "billing units",
    "billingminutes": "billing units",
    "billingrunminutes": "billing units of running jobs",
    "energy": "energy",
    "licenses": "licences",
}

_LIMIT = re.compile(
    r"^(?P<who>Assoc|QOS)(?P<kind>Grp|Max)(?P<what>[A-Za-z]+?)"
    r"(?P<scope>PerUser|PerAccount|PerJob|PerNode|PerAcct)?(?P<run>RunMinutes|Minutes)?"
    r"(?:Limit)?$"
)


def _limit_words(code: str) -> str | None:
    """QOSMaxJobsPerUserLimit, AssocGrpCpuLimit, QOSGrpGRES... in words."""
    m = _LIMIT.match(code)
    if m is None:
        return None
    what_raw = m.group("what").lower()
    if m.group("run"):
        what_raw += "run" if m.group("run") == "RunMinutes" else ""
        what_raw += "mins"
    what = _RESOURCE_WORDS.get(what_raw) or _RESOURCE_WORDS.get(what_raw.rstrip("s"))
    what = what or m.group("what")
    scope = m.group("scope") or ""
    whose = "your QOS" if m.group("who") == "QOS" else "your account"
    if scope == "PerUser":
        return f"you have reached the number of {what} {whose} allows per user"
    if scope in ("PerAccount", "PerAcct"):
        return f"your account has reached the {what} {whose} allows per account"
    if scope in ("PerJob", "PerNode") or (m.group("kind") == "Max" and what == "run time"):
        unit = "job" if scope != "PerNode" else "node"
        return (
            f"it asks for more {what} per {unit} than {whose} allows; "
            "it will not start. Stop it and ask for less"
        )
    if m.group("kind") == "Grp":
        return f"{whose} (shared with your group) has reached its limit on {what}"
    return f"you have reached the limit on {what} that {whose} allows"


def reason_words(reason: str | None, partition: str | None = None) -> str | None:
    """Plain words for a Slurm reason code (None when there is nothing to say)."""
    text = (reason or "").strip()
    if not text or text == "None":
        return None
    code = text.split(",", 1)[0].strip()  # "ReqNodeNotAvail, UnavailableNodes:n[1-2]"
    words = REASONS.get(code) if code in REASONS else _limit_words(code)
    if words is None:
        return None
    if not words:
        return None
    if partition and code.startswith("Partition"):
        words = words.replace("its partition", f"partition {partition}", 1)
    return f"{words} (Slurm reason: {code})"


def describe(status: JobStatus) -> str:
    """One sentence for the spawn progress stream."""
    partition = status.extra.get("partition")
    words = reason_words(status.reason, partition)
    if status.state is JobState.PENDING and status.native_state == "CONFIGURING":
        return "Your job has its nodes; they are being prepared (booting)."
    if status.state is JobState.PENDING:
        where = f" of partition {partition}" if partition else ""
        text = f"Your job is waiting in the queue{where}"
        if words:
            text += f": {words}"
        elif status.reason:
            text += f" (Slurm reason: {status.reason})"
        if status.expected_start is not None:
            text += f". Slurm expects it to start around {status.expected_start:%Y-%m-%d %H:%M}"
        return text + "."
    if status.native_state == "COMPLETING":
        return "Your job is ending; Slurm is stopping its processes and cleaning up."
    if status.state is JobState.SUSPENDED:
        how = "stopped" if status.native_state == "STOPPED" else "suspended"
        return f"Your job is {how} by the scheduler (it keeps its place and resumes later)."
    if status.state.finished and status.native_state:
        ended = _ENDED.get(status.native_state)
        if ended:
            code = f" ({exit_code_text(status.exit_code)})" if status.exit_code is not None else ""
            return f"Your job {ended}{code}."
    return describe_generic(status, words if words is not None else status.reason)


_ENDED = {
    "TIMEOUT": "reached its time limit and was stopped",
    "OUT_OF_MEMORY": "ran out of memory and was stopped; ask for more memory",
    "NODE_FAIL": "was ended by a failure of its node",
    "BOOT_FAIL": "could not start because its node failed to boot",
    "PREEMPTED": "was preempted (stopped to make room for a job with higher priority)",
    "DEADLINE": "reached its deadline and was stopped",
}
