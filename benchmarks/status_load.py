"""Status load: N running servers (+ queued spawns), each spawner polled on JupyterHub's own
schedule, batchspawner 1.3.0 (the anchor) and jobspawner in the same process, one phase after
the other, against the emulated ``squeue`` in ``benchmarks/fake_slurm`` (both run it as a
subprocess, through their own code paths).

Running servers: JupyterHub's ``Spawner.start_polling`` (a ``PeriodicCallback`` on
``poll_interval`` with ``poll_jitter``) calls each spawner's ``poll_and_notify``. Queued
spawns: each spawner's own start loop while its job waits (batchspawner: ``query_job_status``
then ``startup_poll_interval``; jobspawner: ``_wait_until_ready`` in the shared rounds).

Time is compressed by ``scale`` for running servers: JupyterHub's poll_interval (30 s),
jobspawner's status_interval (15 s) and status_max_age (10 s) are divided by it and rates are
reported per *virtual* minute. Queued phases run at scale 1 (startup polling is not
compressed).

Each phase has its own log file and tag; between phases every poll timer, task and poller is
stopped and the log must go quiet before the next phase starts, and every wait is bounded.
Measured per phase: squeue commands per (virtual) minute (from the calls' own time stamps),
the hub process's CPU seconds per (virtual) minute above an idle baseline (process time of
this process, the commands' own CPU excluded and reported apart) and the event loop's worst
stall (a 50 ms ticker's largest lateness).

Every running jobspawner server holds its server watch (:mod:`jobspawner.lifecycle.server_watch`,
one
idle TCP connection, keepalive on) to one listener in this process, opened before the window
as succeeded starts open them: the hub's figures include the watch's cost.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

FAKE_DIR = Path(__file__).resolve().parent / "fake_slurm"
#: The squeue both spawners run: the compiled emulator where a C compiler exists
#: (:func:`use_compiled_squeue`), else the Python one (a start-up of ~20 ms of CPU per call,
#: which holds back a spawner asking for hundreds of calls a second).
SQUEUE = {"path": FAKE_DIR / "squeue", "kind": "python"}
ANCHOR_POLL_INTERVAL = 30.0  # JupyterHub's default, batchspawner keeps it
STATUS_INTERVAL = 15.0  # JobSpawner.status_interval's default
STATUS_MAX_AGE = 10.0  # JobSpawner.status_max_age's default
KINDS = ("batchspawner", "jobspawner")
METER_TICK = 0.05  # the stall meter's period (its own CPU is in the idle baseline)
IDLE_SECONDS = 5.0  # how long each phase's idle baseline is measured
ANCHOR_STARTUP_POLL = 0.5  # batchspawner 1.3.0's startup_poll_interval


@dataclass(frozen=True)
class Phase:
    """One measurement: ``running`` servers polled, ``queued`` spawns waiting."""

    running: int
    queued: int
    scale: float  # time compression (1: real time)
    window: float  # real seconds measured


@dataclass
class LoadResult:
    kind: str
    running: int
    queued: int
    scale: float
    window_s: float
    commands: int  # squeue calls in the window
    commands_per_min: float  # per virtual minute
    commands_asked_per_min: float  # what the spawner's own schedule asks for (per v. minute)
    cpu_s_per_min: float  # hub CPU above idle, per virtual minute
    cpu_raw_s_per_min: float  # hub CPU including the idle baseline
    idle_s_per_min: float  # the idle baseline subtracted (the stall meter with as many timers)
    command_cpu_s_per_min: float  # the squeue subprocesses' own CPU (hub host, not the hub)
    worst_stall_s: float
    leftover_calls: int  # calls logged after the window (stopped before the next phase)
    fake_squeue: str = "python"  # which emulator ran ("c": compiled, "python")
    watches: int = 0  # server watches held open through the window (jobspawner's servers)


class _HeldConnections(asyncio.Protocol):
    """The jobs' servers, as far as the hub's server watch sees them: one listener in this
    process that accepts every connection and holds it, silent (its cost is not the hub's,
    but it is measured with it: the figures are an upper bound)."""

    held: list[asyncio.BaseTransport] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.held.append(transport)


async def _open_watches(spawners: list[Any]) -> tuple[asyncio.base_events.Server, int]:
    """Give every running jobspawner server a real routed address and its watch, as a
    succeeded start does; wait (bounded) until the listener holds every connection."""
    from jobspawner.lifecycle import server_watch
    from jupyterhub.objects import Server

    _HeldConnections.held = []
    loop = asyncio.get_running_loop()
    listener = await loop.create_server(_HeldConnections, "127.0.0.1", 0, backlog=4096)
    port = listener.sockets[0].getsockname()[1]
    for spawner in spawners:
        spawner.server = Server(ip="127.0.0.1", port=port)
        server_watch.start_watch(spawner, "127.0.0.1", port)

    def connected() -> int:
        return sum(1 for s in spawners if (w := server_watch.watch_of(s)) and w.connections)

    # the listener accepts a connection before the watch's own connect has returned (with a
    # thousand, all of them were accepted while no watch had counted its connection yet):
    # wait for both ends
    deadline = time.monotonic() + 30.0
    while time.monotonic() < deadline and (
        len(_HeldConnections.held) < len(spawners) or connected() < len(spawners)
    ):
        await asyncio.sleep(0.05)
    return listener, connected()


def _close_watches(spawners: list[Any], listener: asyncio.base_events.Server | None) -> None:
    from jobspawner.lifecycle import server_watch

    for spawner in spawners:
        server_watch.stop_watch(spawner)
    if listener is not None:
        listener.close()
    for transport in _HeldConnections.held:
        transport.close()
    _HeldConnections.held = []


def _user(name: str) -> Any:
    async def get_auth_state() -> None:  # JupyterHub's User without auth_state
        return None

    return SimpleNamespace(
        name=name, url=f"/user/{name}/", escaped_name=name, id=1, get_auth_state=get_auth_state
    )


def _hub() -> Any:
    from jupyterhub.objects import Hub

    return Hub(ip="127.0.0.1", port=8081, base_url="/hub/")


def _jobspawner(name: str, job_id: str, scale: float) -> Any:
    from jobspawner.spawner import JobSpawner

    spawner = JobSpawner(
        user=_user(name),
        hub=_hub(),
        backend="slurm",
        backend_options={"squeue": str(SQUEUE["path"]), "sacct": ""},
        exec_prefix=["env"],  # a per-user prefix exists; status runs as the hub by default
        command_env_keep=["FAKE_SLURM_*"],
        status_interval=STATUS_INTERVAL / scale,
        status_max_age=STATUS_MAX_AGE / scale,
        start_timeout=10**6,
    )
    spawner.load_state({"job_id": job_id, "job_output": "/dev/null"})
    return spawner


def _batchspawner(name: str, job_id: str, scale: float) -> Any:
    import pwd

    from batchspawner import SlurmSpawner

    name = pwd.getpwuid(os.getuid()).pw_name  # batchspawner looks its user up in passwd
    spawner = SlurmSpawner(
        user=_user(name),
        hub=_hub(),
        exec_prefix="",
        req_homedir="/tmp",
        req_username=name,
        batch_query_cmd=f"{SQUEUE['path']} -h -j {{job_id}} -o '%T %B'",
    )
    spawner.job_id = job_id
    return spawner


async def _queued_loop(kind: str, spawner: Any, stop: asyncio.Event) -> None:
    """What a queued spawn does while its job waits: each spawner's own start loop.

    batchspawner's ``run_command`` swallows a cancellation (a bare ``except``) and its loop
    goes on, so the loop also checks ``stop`` (a phase must not run into the next one)."""
    if kind == "batchspawner":  # batchspawner 1.3.0 start(): query, sleep startup_poll_interval
        while not stop.is_set():
            await spawner.query_job_status()
            await asyncio.sleep(spawner.startup_poll_interval)
        return
    from jobspawner.lifecycle.job_start import JobStart  # as start() follows its submitted job

    start = JobStart(spawner.job_session(), spawner, spawner.context())
    start.port = spawner.expect_port()
    spawner.watch_job(hurry=True)
    await start.wait_until_ready(time.monotonic())


def poll_interval(kind: str) -> float:
    """The poll_interval JupyterHub uses for this spawner kind by default."""
    if kind == "batchspawner":
        return ANCHOR_POLL_INTERVAL
    from jobspawner.spawner import JobSpawner

    return float(JobSpawner.class_traits()["poll_interval"].default_value)


def _start_polling(spawner: Any, interval: float) -> None:
    """JupyterHub's Spawner.start_polling with a compressed interval (the trait is an int)."""
    from tornado.ioloop import PeriodicCallback

    spawner.stop_polling()
    spawner._poll_callback = PeriodicCallback(
        spawner.poll_and_notify, 1e3 * interval, jitter=spawner.poll_jitter
    )
    spawner._poll_callback.start()


def _stagger_polling(
    spawners: list[Any], interval: float, tasks: list[asyncio.Future[Any]]
) -> list[asyncio.TimerHandle]:
    """Each server's polls in steady state from now on: its first poll at a random moment of
    one interval, then JupyterHub's timer, as servers that started at different times have
    them (all at once is a hub restart)."""
    loop = asyncio.get_running_loop()
    rng = random.Random(14)

    def first_poll(spawner: Any) -> None:
        tasks.append(asyncio.ensure_future(spawner.poll_and_notify()))
        _start_polling(spawner, interval)

    return [loop.call_later(rng.uniform(0, interval), first_poll, s) for s in spawners]


async def _stall_meter(worst: list[float]) -> None:
    loop = asyncio.get_running_loop()
    while True:
        t0 = loop.time()
        await asyncio.sleep(METER_TICK)
        worst[0] = max(worst[0], loop.time() - t0 - METER_TICK)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _calls(log: Path, tag: str) -> list[float]:
    """Time stamps of this phase's calls (a call of another phase would not carry its tag)."""
    stamps = []
    for line in log.read_text().splitlines():
        parts = line.split(" ", 2)
        if len(parts) >= 2 and parts[1] == tag:
            stamps.append(float(parts[0]))
    return stamps


def _rate_per_s(stamps: list[float], t0: float, t1: float) -> float:
    """Commands per real second in [t0, t1]: the mean gap between calls where there are
    several (a window holding k+1 evenly spaced rounds must not count as k+1 per window),
    else the count over the window."""
    inside = sorted(s for s in stamps if t0 <= s <= t1)
    if len(inside) >= 3 and inside[-1] > inside[0]:
        return (len(inside) - 1) / (inside[-1] - inside[0])
    return len(inside) / (t1 - t0)


async def _bounded(aw: Awaitable[Any], timeout: float) -> None:
    with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError, Exception):
        await asyncio.wait_for(aw, timeout)


async def _quiet(log: Path, settle: float = 1.0, limit: float = 20.0) -> None:
    """Wait until nothing is logged for ``settle`` seconds (commands still in flight end)."""
    deadline = time.monotonic() + limit
    size, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        now_size = log.stat().st_size
        if now_size != size:
            size, since = now_size, time.monotonic()
        elif time.monotonic() - since >= settle:
            return
        await asyncio.sleep(0.1)


@contextlib.contextmanager
def _phase_env(tmp: Path, tag: str) -> Iterator[Path]:
    """This phase's state file, log file and tag in the environment the commands see."""
    log = tmp / f"calls-{tag}.log"
    log.write_text("")
    saved = {
        k: os.environ.get(k)
        for k in ("FAKE_SLURM_STATE", "FAKE_SLURM_LINES", "FAKE_SLURM_LOG", "FAKE_SLURM_PHASE")
    }
    os.environ.update(
        FAKE_SLURM_STATE=str(tmp / "jobs.json"),
        FAKE_SLURM_LINES=str(tmp / "jobs.txt"),
        FAKE_SLURM_LOG=str(log),
        FAKE_SLURM_PHASE=tag,
    )
    try:
        yield log
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


async def _teardown(
    kind: str,
    spawners: list[Any],
    tasks: list[asyncio.Future[Any]],
    timers: list[asyncio.TimerHandle],
    stop: asyncio.Event,
) -> None:
    """Stop every timer, task and poller this phase started (each wait bounded)."""
    stop.set()
    for timer in timers:
        timer.cancel()
    for spawner in spawners:
        with contextlib.suppress(Exception):
            spawner.stop_polling()
    for task in tasks:
        task.cancel()
    if tasks:
        _, alive = await asyncio.wait(tasks, timeout=15.0)
        if alive:
            raise RuntimeError(f"{len(alive)} {kind} tasks did not stop within 15 s")
    if kind == "jobspawner":
        from jobspawner.lifecycle import status_rounds
        from jobspawner.spawner import JobSpawner

        for poller in list(JobSpawner._pollers.values()):
            await _bounded(poller.close(), 10.0)
        JobSpawner._pollers.clear()
        pending = list(status_rounds._tasks)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=10.0)


async def idle_cpu_per_s(seconds: float = IDLE_SECONDS, timers: int = 0) -> float:
    """The hub process's CPU per second with only the stall meter running (the baseline),
    among ``timers`` far-off timers: each server's poll timer sits in the event loop's timer
    heap, and the meter's own wakeups cost more in a larger heap, so the baseline a phase
    subtracts is measured with as many timers as that phase has."""
    loop = asyncio.get_running_loop()
    parked = [loop.call_later(1e6, lambda: None) for _ in range(timers)]
    worst = [0.0]
    meter = asyncio.ensure_future(_stall_meter(worst))
    try:
        cpu0, t0 = time.process_time(), time.monotonic()
        await asyncio.sleep(seconds)
        cpu, elapsed = time.process_time() - cpu0, time.monotonic() - t0
    finally:
        meter.cancel()
        for handle in parked:
            handle.cancel()
    await asyncio.wait([meter], timeout=5.0)
    return cpu / elapsed


def use_compiled_squeue(tmp: Path) -> str:
    """Build ``fake_slurm/squeue.c`` into ``tmp`` and make both spawners run it; without a C
    compiler (or when it fails) the Python emulator stays. Returns the kind in use."""
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is not None:
        binary = tmp / "bin" / "squeue"
        binary.parent.mkdir(exist_ok=True)
        built = subprocess.run(
            [cc, "-O2", "-o", str(binary), str(FAKE_DIR / "squeue.c")],
            capture_output=True,
            check=False,
        )
        if built.returncode == 0:
            SQUEUE.update(path=binary, kind="c")
            return "c"
        print(f"status_load: cc failed, using the Python squeue: {built.stderr!r}", file=sys.stderr)
    SQUEUE.update(path=FAKE_DIR / "squeue", kind="python")
    return "python"


def commands_asked_per_min(kind: str, phase: Phase) -> float:
    """Status commands per (virtual) minute that the spawner's own schedule asks for:
    batchspawner one per server per poll_interval and one per queued spawn every 0.5 s,
    jobspawner one round per status_interval, one a startup_poll_interval while queued."""
    if kind == "batchspawner":
        return phase.running * 60.0 / ANCHOR_POLL_INTERVAL + phase.queued * 60.0 / (
            ANCHOR_STARTUP_POLL
        )
    if phase.queued:
        return 60.0 / 1.0  # JobSpawner.startup_poll_interval's default
    return 60.0 / STATUS_INTERVAL if phase.running else 0.0


async def measure(
    kind: str,
    phase: Phase,
    idle_per_s: float,
    tmp: Path,
    window: Callable[[bool], None] | None = None,
    job_ids: list[str] | None = None,
) -> LoadResult:
    """One window of JupyterHub polling ``phase.running`` servers while ``phase.queued``
    spawns wait, for one spawner kind. ``window(True)``/``window(False)`` is called when the
    measured window opens and closes (a profiler, :mod:`profile_load`). ``job_ids`` (the
    running jobs' then the queued ones') are real jobs (:mod:`status_load_real`); without
    them the emulator's."""
    tag = f"{kind}-{phase.running}r-{phase.queued}q"
    jobs = {str(10_000 + i): ["RUNNING", f"node{i % 50}"] for i in range(phase.running)}
    jobs |= {str(20_000 + i): ["PENDING", ""] for i in range(phase.queued)}
    if job_ids is not None:
        if len(job_ids) != phase.running + phase.queued:
            raise ValueError(f"{phase} needs {phase.running + phase.queued} jobs: {job_ids}")
        jobs = {job_id: ["REAL", ""] for job_id in job_ids}
    (tmp / "jobs.json").write_text(json.dumps(jobs))  # the Python emulator's
    (tmp / "jobs.txt").write_text("".join(f"{j} {st} {node}\n" for j, (st, node) in jobs.items()))
    make = _jobspawner if kind == "jobspawner" else _batchspawner
    with _phase_env(tmp, tag) as log:
        spawners = [make(f"user{i}", job_id, phase.scale) for i, job_id in enumerate(jobs)]
        worst = [0.0]
        tasks: list[asyncio.Future[Any]] = [asyncio.ensure_future(_stall_meter(worst))]
        stop = asyncio.Event()
        tasks += [
            asyncio.ensure_future(_queued_loop(kind, s, stop)) for s in spawners[phase.running :]
        ]
        interval = poll_interval(kind) / phase.scale
        timers: list[asyncio.TimerHandle] = []
        listener, watches = None, 0
        try:
            if kind == "jobspawner" and phase.running:
                listener, watches = await _open_watches(spawners[: phase.running])
            timers = _stagger_polling(spawners[: phase.running], interval, tasks)
            await asyncio.sleep(2.0)  # the first rounds ran
            worst[0] = 0.0
            cpu0, child0 = time.process_time(), _children_cpu()
            t0, m0 = time.time(), time.monotonic()
            if window is not None:
                window(True)
            await asyncio.sleep(phase.window)
            if window is not None:
                window(False)
            elapsed = time.monotonic() - m0
            t1 = t0 + elapsed
            cpu = time.process_time() - cpu0
            child = _children_cpu() - child0
            stall = worst[0]
        finally:
            if kind == "jobspawner":
                _close_watches(spawners, listener)
            await _teardown(kind, spawners, tasks, timers, stop)
            await _quiet(log)
        stamps = _calls(log, tag)
    virtual_min = elapsed * phase.scale / 60.0
    per_min = 1.0 / virtual_min
    inside = sum(1 for s in stamps if t0 <= s <= t1)
    return LoadResult(
        kind=kind,
        running=phase.running,
        queued=phase.queued,
        scale=phase.scale,
        window_s=round(elapsed, 3),
        commands=inside,
        commands_per_min=_rate_per_s(stamps, t0, t1) * 60.0 / phase.scale,
        commands_asked_per_min=commands_asked_per_min(kind, phase),
        cpu_s_per_min=max(0.0, cpu - idle_per_s * elapsed) * per_min,
        cpu_raw_s_per_min=cpu * per_min,
        idle_s_per_min=idle_per_s * elapsed * per_min,
        command_cpu_s_per_min=child * per_min,
        worst_stall_s=stall,
        leftover_calls=sum(1 for s in stamps if s > t1),
        fake_squeue=str(SQUEUE["kind"]),
        watches=watches,
    )


async def run_phases(
    phases: list[Phase], report: Callable[[LoadResult], None] | None = None
) -> list[LoadResult]:
    """Anchor then jobspawner for each phase, in this process; each phase bounded in time."""
    from jobspawner.spawner import JobSpawner

    JobSpawner._pollers.clear()
    results: list[LoadResult] = []
    tmp = Path(tempfile.mkdtemp(prefix="jobspawner-load-"))
    use_compiled_squeue(tmp)
    saved_path = os.environ.get("PATH", "")
    os.environ["PATH"] = f"{FAKE_DIR}:{saved_path}"
    try:  # the fake squeue is this run's only: later code in this process gets the real one
        for phase in phases:
            idle = await idle_cpu_per_s(timers=phase.running + phase.queued)
            for kind in KINDS:
                limit = phase.window + 90.0 + phase.running * 0.05
                try:
                    result = await asyncio.wait_for(measure(kind, phase, idle, tmp), limit)
                except asyncio.TimeoutError as e:
                    raise RuntimeError(
                        f"the {kind} phase {phase} did not finish within {limit:.0f} s"
                    ) from e
                results.append(result)
                if report is not None:
                    report(result)
    finally:
        os.environ["PATH"] = saved_path
        JobSpawner._pollers.clear()
    return results


def run(phases: list[Phase]) -> list[LoadResult]:
    """Run the phases in a fresh event loop, printing each result as JSON on stderr."""
    return asyncio.run(
        run_phases(phases, lambda r: print(json.dumps(asdict(r)), file=sys.stderr, flush=True))
    )
