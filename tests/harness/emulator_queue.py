"""The scheduler emulators' shared job queue (part of their kernel, standard library only):
the job record, its state machine, id allocation, slot scheduling across hosts and queues
with limits, dispatch, cancel, and history retention.

A front end (LSF, Torque/PBS/Moab, HTCondor) keeps the queue in its locked spool state
(:func:`emulator_kernel.locked_state`) and names what is here in its own words: the states
(:data:`QUEUED`, :data:`HELD`, :data:`RUNNING`, :data:`SUSPENDED`, :data:`ENDED`), why a job
waits (:data:`REASON_NEW` ...: data, not text) and how a job ended (:data:`END_EXIT` ...).

The state machine::

    submit -> QUEUED <-> HELD          hold / release
    QUEUED -> RUNNING (-> SUSPENDED -> RUNNING)   start (dispatch), suspend / resume
    RUNNING, SUSPENDED -> QUEUED or HELD    vacate (stopped, gives its slots back)
    QUEUED, HELD -> ENDED              cancel before starting (END_CANCELLED)
    RUNNING, SUSPENDED -> ENDED        end (END_EXIT, END_LIMIT, END_CANCEL, END_LOST)

Moves that the machine does not allow raise :class:`BadState`.

Resources are vectors: a host offers, and each chunk of a job needs, an amount of each named
resource (``cpus``, and any others a front end names: ``memory``, ``gpus``, ``disk``...). A
bare number is that many ``cpus`` (the slots of LSF and Torque).

Job ids are numbers; a front end whose jobs come in clusters (HTCondor's ``12.0``, ``12.1``)
allocates one number and submits each job with its own ``job_id`` under it.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Callable, Iterable
from typing import Any

try:
    from . import emulator_kernel as kernel  # the tests' harness package
except ImportError:  # an emulator's command: the kernel's folder is on sys.path
    import emulator_kernel as kernel  # type: ignore[no-redef]

QUEUED = "queued"
HELD = "held"
RUNNING = "running"
SUSPENDED = "suspended"
ENDED = "ended"
#: States of a job that has not ended; of a job holding its slots.
ACTIVE = (QUEUED, HELD, RUNNING, SUSPENDED)
ON_SLOTS = (RUNNING, SUSPENDED)

#: Why a queued job waits (the front end words them).
REASON_NEW = "new"  # not looked at yet (dispatch delay), or waiting for its owner's command
REASON_HELD = "held"
REASON_QUEUE_INACTIVE = "queue-inactive"
REASON_QUEUE_FULL = "queue-full"  # its queue's slot limit
REASON_SLOTS = "slots"  # no host has the slots now
REASON_NEVER = "never"  # no host could ever have them
REASON_BLOCKED = "blocked"  # an earlier job waits for slots (first come, first served)
REASON_OWNER = "owner"  # fits; starts at its owner's (or root's) next command

CPUS = "cpus"

#: Why a queued job waits for room: resources now, ever, or behind an earlier job.
NO_ROOM = (REASON_SLOTS, REASON_NEVER, REASON_BLOCKED)

#: How a job ended.
END_EXIT = "exit"  # by itself, with its exit code
END_LIMIT = "limit"  # stopped at its run-time limit
END_CANCEL = "cancel"  # cancelled while running
END_CANCELLED = "cancelled"  # cancelled before it started
END_LOST = "lost"  # its supervisor died without recording the end

_END_OF_STOP = {kernel.supervisor.LIMIT: END_LIMIT, kernel.supervisor.CANCEL: END_CANCEL}


Resources = dict[str, int]


def as_vector(amount: int | Resources) -> Resources:
    """A resource vector: a bare number is that many ``cpus``."""
    return {CPUS: amount} if isinstance(amount, int) else dict(amount)


def id_order(job_id: str) -> tuple[int, ...]:
    """The sort key of a job id (``12``, or ``12.3`` for a job in a cluster)."""
    return tuple(int(part) for part in job_id.split("."))


def chunk_needs(job: dict[str, Any]) -> Resources:
    """What one chunk of the job needs (its ``per_chunk`` cpus and any other resources)."""
    return {CPUS: job["per_chunk"], **job.get("needs", {})}


def may_change(job: dict[str, Any]) -> bool:
    """Whether this process may cancel, hold or release the job: its owner's or root's."""
    return kernel.may_start(job["uid"])


class BadState(Exception):
    """A move the state machine does not allow (the job's state names why)."""

    def __init__(self, job: dict[str, Any], move: str) -> None:
        super().__init__(f"job {job['id']}: cannot {move} a job that is {job['state']}")
        self.job = job


class Queue:
    """The jobs kept in a spool's state dict (``jobs``, ``next_id``, ``history``)."""

    def __init__(self, state: dict[str, Any], now: float, first_id: int = 1) -> None:
        self.state = state
        state.setdefault("next_id", first_id)
        state.setdefault("jobs", {})
        state.setdefault("history", {})
        self.now = now

    # --- records -----------------------------------------------------------------------

    def jobs(self) -> list[dict[str, Any]]:
        """The jobs in the queue (not the purged ones), oldest first."""
        return [self.state["jobs"][k] for k in sorted(self.state["jobs"], key=id_order)]

    def get(self, job_id: str) -> dict[str, Any] | None:
        """A job in the queue by its id."""
        return self.state["jobs"].get(job_id)

    def history(self) -> list[dict[str, Any]]:
        """Every ended job still known: purged ones first, then those in the queue."""
        history = self.state["history"]
        purged = [history[k] for k in sorted(history, key=id_order)]
        return purged + [j for j in self.jobs() if j["state"] == ENDED]

    def allocate_id(self) -> str:
        """The next job id."""
        job_id = self.state["next_id"]
        self.state["next_id"] = job_id + 1
        return str(job_id)

    def submit(
        self,
        uid: int,
        *,
        name: str,
        queue: str,
        chunks: int = 1,
        per_chunk: int = 1,
        limit: float | None = None,
        held: bool = False,
        needs: Resources | None = None,
        job_id: str | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        """Queue a new job of ``uid``: ``chunks`` times ``per_chunk`` slots (cpus), each chunk
        on one host, with the other resources each chunk ``needs`` (memory, gpus ...),
        run-time ``limit`` in seconds; ``job_id`` a front end's id under a number it
        allocated (else the next number); ``extra`` is the front end's own."""
        job_id = job_id or self.allocate_id()
        job: dict[str, Any] = {
            "id": job_id,
            "uid": uid,
            "user": kernel.user_name(uid),
            "name": name,
            "queue": queue,
            "chunks": chunks,
            "per_chunk": per_chunk,
            "slots": chunks * per_chunk,
            "needs": {k: v for k, v in (needs or {}).items() if k != CPUS},
            "limit": limit,
            "state": HELD if held else QUEUED,
            "reason": REASON_HELD if held else REASON_NEW,
            "submit_time": self.now,
            "start_time": None,
            "end_time": None,
            "exit_code": None,
            "end": None,
            "cpu_time": 0.0,
            "wall_time": 0.0,
            "host": "",
            "alloc": [],
            "supervisor_pid": None,
            "pgid": None,
            "cancel": False,
            "starts": 0,
            **extra,
        }
        self.state["jobs"][job_id] = job
        return job

    # --- the state machine -------------------------------------------------------------

    def hold(self, job: dict[str, Any]) -> None:
        """QUEUED -> HELD (a held job stays held)."""
        if job["state"] not in (QUEUED, HELD):
            raise BadState(job, "hold")
        job.update(state=HELD, reason=REASON_HELD)

    def release(self, job: dict[str, Any]) -> None:
        """HELD -> QUEUED."""
        if job["state"] != HELD:
            raise BadState(job, "release")
        job.update(state=QUEUED, reason=REASON_NEW)

    def start(self, job: dict[str, Any], alloc: list[list[Any]]) -> None:
        """QUEUED -> RUNNING on ``alloc`` ([host, first slot, count] per chunk)."""
        if job["state"] != QUEUED:
            raise BadState(job, "start")
        job.update(state=RUNNING, reason=None, alloc=alloc, host=alloc[0][0] if alloc else "")
        job.update(start_time=self.now, pgid=None, supervisor_pid=None, cancel=False)
        job["starts"] += 1

    def suspend(self, job: dict[str, Any]) -> None:
        """RUNNING -> SUSPENDED (it keeps its slots; its process group, once started, is
        stopped with SIGSTOP, as a scheduler's suspend does)."""
        if job["state"] != RUNNING:
            raise BadState(job, "suspend")
        job["state"] = SUSPENDED
        self._signal_job(job, signal.SIGSTOP)

    def resume(self, job: dict[str, Any]) -> None:
        """SUSPENDED -> RUNNING (its process group continues: SIGCONT)."""
        if job["state"] != SUSPENDED:
            raise BadState(job, "resume")
        job["state"] = RUNNING
        self._signal_job(job, signal.SIGCONT)

    @staticmethod
    def _signal_job(job: dict[str, Any], signum: int) -> None:
        kernel.supervisor.signal_group(job.get("pgid"), signum)

    def vacate(self, job: dict[str, Any], held: bool = False) -> None:
        """RUNNING or SUSPENDED -> QUEUED, or HELD when ``held``: the job was stopped and
        gives its slots back, to start again later (its time on them is kept)."""
        if job["state"] not in ON_SLOTS:
            raise BadState(job, "vacate")
        job["wall_time"] += self.now - (job["start_time"] or self.now)
        job.update(state=HELD if held else QUEUED, reason=REASON_HELD if held else REASON_NEW)
        job.update(alloc=[], pgid=None, supervisor_pid=None, cancel=False)

    def end(
        self, job: dict[str, Any], code: int | None, how: str = END_EXIT, cpu: float = 0.0
    ) -> None:
        """RUNNING or SUSPENDED -> ENDED (``how``: END_EXIT, END_LIMIT, END_CANCEL, END_LOST;
        ``code`` None when unknown)."""
        if job["state"] not in ON_SLOTS:
            raise BadState(job, "end")
        self._ended(job, code, how, cpu)

    def ended(self, job: dict[str, Any], outcome: Any, code: int | None = None) -> bool:
        """End a job with the supervisor's ``Outcome`` (its exit code, or ``code`` in the
        front end's convention); True when it ended now, False when it was no longer on its
        slots (lost meanwhile, say) and is left as it is."""
        if job["state"] not in ON_SLOTS:
            return False
        how = _END_OF_STOP.get(outcome.stopped, END_EXIT)
        exit_code = outcome.exit_code if code is None else code
        self._ended(job, exit_code, how, outcome.cpu_seconds)
        return True

    def _ended(self, job: dict[str, Any], code: int | None, how: str, cpu: float) -> None:
        if job["state"] in ON_SLOTS:
            job["wall_time"] += self.now - (job["start_time"] or self.now)
        job.update(state=ENDED, exit_code=code, end=how, cpu_time=cpu, end_time=self.now)
        job["reason"] = None

    # --- cancel ------------------------------------------------------------------------

    def cancel(self, job: dict[str, Any], notify: int = signal.SIGUSR1) -> None:
        """Cancel an active job. Before it starts it ends at once (END_CANCELLED); running,
        its supervisor gets ``notify`` (it stops the job and records the end); while the
        supervisor is starting the job, the request is kept in the record and acted on when
        it records the start (:meth:`record_start`); with its supervisor gone, the job's
        process group is killed and the job ends (END_CANCEL, code 137)."""
        if job["state"] in (QUEUED, HELD):
            self._ended(job, None, END_CANCELLED, 0.0)
        elif job["state"] not in ON_SLOTS:
            raise BadState(job, "cancel")
        elif not kernel.supervisor.process_alive(job.get("supervisor_pid")):
            if job.get("pgid"):
                kernel.supervisor.signal_group(job["pgid"], signal.SIGKILL)
            self._ended(job, 128 + signal.SIGKILL, END_CANCEL, 0.0)
        elif job.get("pgid"):
            if job["state"] == SUSPENDED:  # a stopped job could not act on the cancel
                self._signal_job(job, signal.SIGCONT)
            with contextlib.suppress(ProcessLookupError):
                os.kill(job["supervisor_pid"], notify)
        else:
            job["cancel"] = True

    def record_start(self, job: dict[str, Any], pgid: int, supervisor_pid: int) -> bool:
        """The supervisor started the job: its process group; True when it is to be
        cancelled at once (a cancel came while it was starting)."""
        job.update(pgid=pgid, supervisor_pid=supervisor_pid)
        return bool(job.get("cancel"))

    # --- supervisors that die, history -------------------------------------------------

    def reap(self, grace: float = 2.0) -> list[dict[str, Any]]:
        """End (END_LOST) the jobs whose supervisor is gone for good (``grace`` seconds after
        their start, so one still starting is not taken for dead); returns them."""
        lost = []
        for job in self.jobs():
            pid = job.get("supervisor_pid")
            if (
                job["state"] in ON_SLOTS
                and pid
                and self.now - (job["start_time"] or self.now) > grace
                and not kernel.supervisor.process_alive(pid)
            ):
                self._ended(job, None, END_LOST, 0.0)
                lost.append(job)
        return lost

    def purge(self, after: float, keep: int = 1000) -> list[dict[str, Any]]:
        """Move the jobs that ended ``after`` seconds ago or more from the queue into the
        history (the last ``keep`` of them are kept); returns the moved jobs."""
        moved = []
        for job in self.jobs():
            if job["state"] == ENDED and self.now - job["end_time"] >= after:
                del self.state["jobs"][job["id"]]
                self.state["history"][job["id"]] = job
                moved.append(job)
        history = self.state["history"]
        for old in sorted(history, key=id_order)[:-keep] if len(history) > keep else ():
            del history[old]
        return moved

    # --- scheduling --------------------------------------------------------------------

    def used(self, queue: str | None = None) -> dict[str, int]:
        """Slots (cpus) in use per host (by the jobs of ``queue``, or all)."""
        return {host: v.get(CPUS, 0) for host, v in self.in_use(queue).items()}

    def in_use(self, queue: str | None = None) -> dict[str, Resources]:
        """The resources in use per host (by the jobs of ``queue``, or all)."""
        used: dict[str, Resources] = {}
        for job in self.jobs():
            if job["state"] in ON_SLOTS and queue in (None, job["queue"]):
                others = job.get("needs", {})
                for host, _first, count in job["alloc"]:
                    on_host = used.setdefault(host, {})
                    for name, amount in {**others, CPUS: count}.items():
                        on_host[name] = on_host.get(name, 0) + amount
        return used

    def free(self, hosts: dict[str, int | Resources]) -> dict[str, Resources]:
        """What each host has free now (of every resource it offers)."""
        used = self.in_use()
        return {
            host: {k: v - used.get(host, {}).get(k, 0) for k, v in as_vector(offer).items()}
            for host, offer in hosts.items()
        }

    def fit(self, job: dict[str, Any], hosts: dict[str, int | Resources]) -> list[list[Any]] | None:
        """Where the job's chunks fit now (hosts in their order, one chunk per host, each
        with every resource a chunk needs), or None."""
        used = self.in_use()
        want = chunk_needs(job)
        alloc: list[list[Any]] = []
        for host, free in self.free(hosts).items():
            if all(free.get(k, 0) >= v for k, v in want.items() if v):
                alloc.append([host, used.get(host, {}).get(CPUS, 0), job["per_chunk"]])
                if len(alloc) == job["chunks"]:
                    return alloc
        return None

    @staticmethod
    def could_ever_fit(job: dict[str, Any], hosts: dict[str, int | Resources]) -> bool:
        """Whether the job could fit the hosts at all: some host offers enough of everything
        a chunk needs, and the hosts' cpus together are enough for all its slots."""
        offers = [as_vector(offer) for offer in hosts.values()]
        want = chunk_needs(job)
        roomy = [o for o in offers if all(o.get(k, 0) >= v for k, v in want.items() if v)]
        total = sum(o.get(CPUS, 0) for o in offers)
        return bool(roomy) and job["slots"] <= total

    def schedule(
        self,
        hosts: dict[str, int | Resources],
        dispatch: Callable[[dict[str, Any]], None],
        *,
        queues: dict[str, dict[str, Any]] | None = None,
        backfill: bool = True,
        delay: float = 0.0,
        eligible: Callable[[dict[str, Any]], str | None] | None = None,
        order: Iterable[dict[str, Any]] | None = None,
    ) -> list[dict[str, Any]]:
        """Start the queued jobs that fit, oldest first (or in ``order``); set the others'
        ``reason``. Returns the started jobs.

        ``hosts``: slots (cpus) or a resource vector per host. ``queues``: per queue name,
        ``max`` (slots its running jobs may hold together, None: no limit) and ``active``
        (False: it starts nothing).
        Without ``backfill``, a job that waits for slots keeps every later one waiting
        (REASON_BLOCKED). ``delay``: seconds a new job waits before it is looked at.
        ``eligible``: the front end's own rule, a reason why a job may not start, or None.
        A job that fits is started (:meth:`start`, then ``dispatch(job)``, which starts its
        supervisor) only by its owner or root, so that it runs as its owner.
        """
        started = []
        blocked = False
        for job in self.jobs() if order is None else order:
            if job["state"] != QUEUED:
                continue
            limits = (queues or {}).get(job["queue"]) or {}
            qmax = limits.get("max")
            if self.now - job["submit_time"] < delay:
                reason: str | None = REASON_NEW
            elif limits.get("active") is False:
                reason = REASON_QUEUE_INACTIVE
            elif qmax is not None and sum(self.used(job["queue"]).values()) + job["slots"] > qmax:
                reason = REASON_QUEUE_FULL
            else:
                reason = eligible(job) if eligible else None
            if reason is not None:
                job["reason"] = reason
                continue
            alloc = None if blocked else self.fit(job, hosts)
            if alloc is None:
                never = not self.could_ever_fit(job, hosts)
                job["reason"] = (
                    REASON_NEVER if never else REASON_BLOCKED if blocked else REASON_SLOTS
                )
                blocked = blocked or not backfill
                continue
            if not kernel.may_start(job["uid"]):
                job["reason"] = REASON_OWNER
                continue
            self.start(job, alloc)
            dispatch(job)
            started.append(job)
        return started


#: The environment of every job supervisor (not that of the command which dispatched it,
#: root's perhaps): the front end adds the few variables its supervisor reads.
SUPERVISOR_ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"}


def spawn_supervisor(job: dict[str, Any], argv: list[str], **env: str) -> None:
    """Start the job's supervisor (``argv``) detached, as its owner, with the minimal
    environment and ``env``; record its pid."""
    job["supervisor_pid"] = kernel.spawn_detached(argv, job["uid"], {**SUPERVISOR_ENV, **env})


def start_recorded(
    start: Callable[[], Any],
    locked: Callable[[], contextlib.AbstractContextManager[Any]],
    job_id: str,
    noted: Callable[[dict[str, Any]], None] | None = None,
    queue: Callable[[Any], Queue] = lambda held: held.queue,
) -> Any:
    """In a job's supervisor: start the job (``start()``, returning ``emulator_kernel.Job``;
    its exceptions go to the caller), cancel it on SIGUSR1 (the notice of :meth:`Queue.cancel`)
    and record its start in the queue (``queue(held)`` of what ``locked()`` yields under the
    spool's lock: its ``queue``; ``noted(record)`` then adds the front end's own). A cancel
    that came while it was starting, or a record gone meanwhile, cancels it at once. Returns
    the job."""
    job = start()
    signal.signal(signal.SIGUSR1, lambda signum, frame: job.watch.cancel())
    with locked() as held:
        jobs = queue(held)
        record = jobs.get(job_id)
        if record is None or jobs.record_start(record, job.pid, os.getpid()):
            job.watch.cancel()
        if record is not None and noted is not None:
            noted(record)
    return job
