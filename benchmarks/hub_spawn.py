"""Real-hub benchmarks on real Slurm: jobspawner against batchspawner 1.3.0 (issue #14).

Each scenario runs one real JupyterHub per spawner (:mod:`real_hub`) against the test Slurm
cluster (``tests/slurm/cluster.py``), both hubs up at once, and alternates the runs between
them (anchor first in even rounds, jobspawner first in odd ones) so that the load of a shared
machine falls on both alike.

Scenarios (``python benchmarks/run.py hub SCENARIO``; hold the cluster lock around it:
``flock /tmp/jobspawner-cluster.lock ./run bench hub notice``):

``notice``
    A running server's job ends behind the hub's back: ``scancel`` (SIGTERM, as an admin's
    cancel or the time limit does) and ``scancel --full -s KILL`` (no chance to say
    anything, as when the node is lost). Measured: seconds from the command until the hub's
    REST API shows the server stopped, and what the hub logged about it.
``walltime``
    Both spawners' servers run at once under a one-minute time limit; seconds from the
    scheduler ending the job until the hub's REST API shows the server stopped.
``lost``
    A running server's node is lost: every packet to the server's port is dropped
    (``iptables -I INPUT -i lo -p tcp --dport PORT -j DROP``, removed afterwards); the job
    runs on. Measured: seconds until the hub shows the server stopped and its job is gone
    (jobspawner's server watch, ``lost_server_timeout`` 10 s). The anchor never notices (its
    poll asks the scheduler, which still lists the job): its wait is capped at
    ``LOST_CAP`` seconds and reported as not noticed.
``failure``
    A job that dies before its server starts (its prologue exits 3) and one whose server is
    killed (SIGKILL) right after it reported its port: seconds from the start request until
    the spawn has failed.
``spawn``
    Request to ready and stop to job gone, with the breakdown from the hub's log and the
    queue, and the floor: the same server (``jupyterhub-singleuser``) started in a job
    without a hub (:mod:`hubless`), and a bare ``jupyter-server`` for comparison.
``burst``
    N users start at once; all must become ready; the hub's REST API latency during the
    burst (p50/p99).
"""

from __future__ import annotations

import contextlib
import random
import re
import statistics
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import bench_queues
import hubless
import real_hub
import requests
from bench_queues import SLURM, Queue
from real_hub import KINDS, Hub, hub_with, job_id

NOTICE_LIMIT = 10.0  # issue #14 item 5: an ended job is noticed within 10 s
SPAWN_RATIO = 0.75  # item 3: median spawn at most 0.75 of the anchor's
FLOOR_MARGIN = 0.3  # item 3: and within 0.3 s of the floor
BURST_SERVERS = 20  # item 6: servers started at once


def server_up(hub: Hub, user: str) -> bool:
    server = hub.server_model(user)
    return bool(server and (server.get("ready") or server.get("pending")))


def wait_for(predicate: Callable[[], bool], timeout: float, interval: float = 0.05) -> float:
    """Seconds until ``predicate()`` is true (raises TimeoutError after ``timeout``)."""
    began = time.monotonic()
    while not predicate():
        if time.monotonic() - began > timeout:
            raise TimeoutError(f"not within {timeout}s")
        time.sleep(interval)
    return time.monotonic() - began


_LOG_LINE = re.compile(r"^\[(\w) (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}) (\S+) ([^\]]*)\] (.*)$")


def log_lines_since(hub: Hub, since: float) -> list[tuple[float, str]]:
    """(wall time, text) of the hub's log lines stamped at or after ``since``."""
    out = []
    for line in hub.log_text().splitlines():
        m = _LOG_LINE.match(line)
        if not m:
            continue
        stamp = datetime.strptime(m.group(2), "%Y-%m-%d %H:%M:%S.%f").timestamp()
        if stamp >= since - 0.001:
            out.append((stamp, m.group(5)))
    return out


_REQUEST = re.compile(r"^\d{3} [A-Z]+ /")


def ended_words(hub: Hub, user: str, since: float) -> str:
    """What the hub logged about ``user``'s server ending after ``since``."""
    keys = ("stopped", "ended", "cancelled", "Your server")
    lines = [
        text
        for _, text in log_lines_since(hub, since)
        if user in text and any(k in text for k in keys) and not _REQUEST.match(text)
    ]
    return " | ".join(dict.fromkeys(lines))[:400]


@contextmanager
def both_hubs(
    workdir: Path, prologue: str = "", extra: str = "", queue: Queue = SLURM
) -> Iterator[dict[str, Hub]]:
    with ExitStack() as stack:
        hubs = {
            kind: stack.enter_context(hub_with(kind, workdir / kind, prologue, extra, queue))
            for kind in KINDS
        }
        yield hubs


def alternating(rounds: int) -> Iterator[tuple[int, str]]:
    for i in range(rounds):
        for kind in KINDS if i % 2 == 0 else tuple(reversed(KINDS)):
            yield i, kind


def stop_quietly(hub: Hub, user: str) -> None:
    try:
        if server_up(hub, user):
            hub.stop_server(user, timeout=60)
    except Exception as e:  # a later run starts clean anyway (cancel_all)
        print(f"  (stopping {user}: {e})")


# --- item 5: noticing an ended job ------------------------------------------------------------
@dataclass
class NoticeRun:
    kind: str
    how: str
    seconds: float
    words: str


SETTLE = (2.0, 17.0)  # seconds between ready and the job's end (uniform)


NOTICE_HOW: dict[str, Callable[[str], Any]] = {
    "scancel": lambda jid: subprocess.run(["scancel", jid], check=True),
    "kill": SLURM.kill_job_processes,
}


def notice(workdir: Path, rounds: int, cluster: Any, queue: Queue = SLURM) -> list[NoticeRun]:
    """Slurm: ``scancel`` and a silent SIGKILL. Grid Engine: an admin's ``qdel`` (which, with
    the queue's default ``terminate_method``, is itself a SIGKILL)."""
    runs: list[NoticeRun] = []
    rng = random.Random(14)
    hows = NOTICE_HOW if queue is SLURM else {"qdel": lambda jid: queue.run(["qdel", jid])}
    with both_hubs(workdir, queue=queue) as hubs:
        for how, end_job in hows.items():
            for i, kind in alternating(rounds):
                hub = hubs[kind]
                cluster.cancel_all()
                hub.start_server("alice", timeout=150)
                jid = job_id(hub, "alice")
                # the job ends at a random moment of the pollers' cycles, as it would
                time.sleep(rng.uniform(*SETTLE))
                since = time.time()
                began = time.monotonic()
                end_job(jid)
                wait_for(lambda hub=hub: not server_up(hub, "alice"), timeout=120, interval=0.1)
                seconds = time.monotonic() - began
                time.sleep(0.5)
                run = NoticeRun(kind, how, seconds, ended_words(hub, "alice", since))
                print(
                    f"  notice {how} #{i} {kind}: {seconds:.1f} s  [{run.words[:160]}]", flush=True
                )
                runs.append(run)
    return runs


WALLTIME = "00:01:00"  # the jobs' time limit in the walltime scenario


def walltime(workdir: Path, rounds: int, cluster: Any, queue: Queue = SLURM) -> list[NoticeRun]:
    """Both spawners' servers run under a one-minute time limit, at the same time; measured
    from the moment the scheduler ends the job (it leaves the running state, polled every
    0.1 s) until the hub's REST API shows the server stopped. Slurm sends SIGTERM at the
    limit (the server can say it is stopping); Grid Engine's ``h_rt`` is a SIGKILL."""
    runs: list[NoticeRun] = []
    extra = (
        f"c.JobSpawner.req_runtime = {WALLTIME!r}\nc.BatchSpawnerBase.req_runtime = {WALLTIME!r}\n"
    )
    with both_hubs(workdir, extra=extra, queue=queue) as hubs:
        for i in range(rounds):
            cluster.cancel_all()
            jobs: dict[str, str] = {}
            for kind in KINDS if i % 2 == 0 else tuple(reversed(KINDS)):
                hubs[kind].start_server("alice", timeout=150)
                jobs[kind] = job_id(hubs[kind], "alice")
            since = time.time()
            ended: dict[str, float] = {}
            noticed: dict[str, float] = {}
            deadline = time.monotonic() + 400
            while len(noticed) < len(jobs) and time.monotonic() < deadline:
                listed = queue.jobs("alice")
                now = time.monotonic()
                for kind, jid in jobs.items():
                    if kind not in ended and not listed.get(jid, False):
                        ended[kind] = now
                    if kind in ended and kind not in noticed and not server_up(hubs[kind], "alice"):
                        noticed[kind] = now
                time.sleep(0.1)
            for kind in jobs:
                seconds = noticed.get(kind, float("nan")) - ended.get(kind, float("nan"))
                words = ended_words(hubs[kind], "alice", since)
                run = NoticeRun(kind, "time limit", seconds, words)
                print(f"  walltime #{i} {kind}: {seconds:.1f} s  [{run.words[:160]}]", flush=True)
                runs.append(run)
    return runs


# --- item 5: a lost node ------------------------------------------------------------------
@dataclass
class LostRun:
    kind: str
    how: str
    seconds: float  # until the server showed stopped and its job was gone (or LOST_CAP)
    noticed: bool
    words: str


LOST_CAP = 60.0  # seconds a lost server is waited for before "not noticed"
LOST_LIMIT = 12.0  # lost_server_timeout (10 s from the last answered probe), then the cancel


def listening_ports(pids: list[int]) -> list[int]:
    """TCP ports the processes ``pids`` listen on (``ss -Htlnp``)."""
    out = subprocess.run(["ss", "-Htlnp"], capture_output=True, text=True, check=True).stdout
    wanted = {f"pid={p}," for p in pids}
    ports = []
    for line in out.splitlines():
        if any(w in line for w in wanted):
            ports.append(int(line.split()[3].rsplit(":", 1)[1]))
    return sorted(set(ports))


@contextmanager
def dropped(ports: list[int]) -> Iterator[None]:
    """Every packet to ``ports`` on the loopback interface is dropped (a lost node)."""
    rules = [["INPUT", "-i", "lo", "-p", "tcp", "--dport", str(p), "-j", "DROP"] for p in ports]
    added = []
    try:
        for rule in rules:
            subprocess.run(["iptables", "-I", *rule], check=True, capture_output=True)
            added.append(rule)
        yield
    finally:
        for rule in added:
            subprocess.run(["iptables", "-D", *rule], check=False, capture_output=True)


def lost(workdir: Path, rounds: int, cluster: Any, queue: Queue = SLURM) -> list[LostRun]:
    """The server's port dropped while its job runs on (Slurm and Grid Engine alike)."""
    runs: list[LostRun] = []
    rng = random.Random(14)
    with both_hubs(workdir, queue=queue) as hubs:
        for i, kind in alternating(rounds):
            hub = hubs[kind]
            cluster.cancel_all()
            hub.start_server("alice", timeout=150)
            jid = job_id(hub, "alice")
            ports = listening_ports(queue.job_pids(jid))
            if not ports:
                raise RuntimeError(f"job {jid}'s server listens on no port")
            time.sleep(rng.uniform(*SETTLE))
            since = time.time()
            began = time.monotonic()
            with dropped(ports):
                try:
                    wait_for(
                        lambda hub=hub, jid=jid: (
                            not server_up(hub, "alice") and jid not in queue.jobs("alice")
                        ),
                        timeout=LOST_CAP,
                        interval=0.1,
                    )
                    seconds, noticed = time.monotonic() - began, True
                except TimeoutError:
                    seconds, noticed = LOST_CAP, False
            time.sleep(0.5)
            run = LostRun(kind, "drop", seconds, noticed, ended_words(hub, "alice", since))
            shown = f"{seconds:.1f} s" if noticed else f"not noticed within {LOST_CAP:g} s"
            print(f"  lost #{i} {kind}: {shown}  [{run.words[:160]}]", flush=True)
            runs.append(run)
            stop_quietly(hub, "alice")
    return runs


# --- item 4: failure time ---------------------------------------------------------------------
@dataclass
class FailureRun:
    kind: str
    case: str
    seconds: float
    message: str


PORT_LINE = {
    "jobspawner": re.compile(r"^\d{3} POST /hub/api/jobspawner/port/alice\b"),
    "batchspawner": re.compile(r"^\d{3} POST /hub/api/batchspawner\b"),
}


def _spawn_until_failed(hub: Hub, user: str, timeout: float) -> str:
    """Start ``user``'s server and follow it until the spawn has failed; the failure text."""
    hub.begin_start(user)
    message = ""
    try:
        events = hub.progress(user, timeout=timeout)
        if events and events[-1].get("failed"):
            message = str(events[-1].get("message", ""))
    except Exception as e:  # the stream may end without a failed event
        message = f"(progress: {e})"
    wait_for(lambda: not server_up(hub, user), timeout=timeout, interval=0.1)
    return message


def _kill_after_port_report(
    hub: Hub, kind: str, since: float, stop: threading.Event, killed: list[float], queue: Queue
) -> None:
    """SIGKILL the job's processes as soon as the hub logged the server's port report."""
    while not stop.is_set():
        if any(PORT_LINE[kind].match(text) for _, text in log_lines_since(hub, since)):
            queue.kill_job_processes(queue.first_job("alice"))
            killed.append(time.monotonic())
            return
        time.sleep(0.05)


def failure(workdir: Path, rounds: int, cluster: Any, queue: Queue = SLURM) -> list[FailureRun]:
    """Before: start request until the spawn failed. After: the kill until the hub shows
    the server failed or stopped (a spawn that had already succeeded then ends as a
    running server does)."""
    runs: list[FailureRun] = []
    prologue = "echo 'prologue: cannot load module python' >&2; exit 3"
    with both_hubs(workdir / "before", prologue=prologue, queue=queue) as hubs:
        for i, kind in alternating(rounds):
            cluster.cancel_all()
            began = time.monotonic()
            message = _spawn_until_failed(hubs[kind], "alice", timeout=400)
            seconds = time.monotonic() - began
            runs.append(FailureRun(kind, "dies before its server", seconds, message))
            print(f"  failure before #{i} {kind}: {seconds:.1f} s [{message[:120]}]", flush=True)
    with both_hubs(workdir / "after", queue=queue) as hubs:
        for i, kind in alternating(rounds):
            cluster.cancel_all()
            stop = threading.Event()
            killed: list[float] = []
            args = (hubs[kind], kind, time.time(), stop, killed, queue)
            killer = threading.Thread(target=_kill_after_port_report, args=args)
            killer.start()
            try:
                message = _spawn_until_failed(hubs[kind], "alice", timeout=400)
            finally:
                stop.set()
                killer.join()
            seconds = time.monotonic() - killed[0] if killed else float("nan")
            message = message or ended_words(hubs[kind], "alice", time.time() - seconds - 1)
            runs.append(FailureRun(kind, "dies after its port report", seconds, message))
            print(f"  failure after #{i} {kind}: {seconds:.1f} s [{message[:120]}]", flush=True)
            stop_quietly(hubs[kind], "alice")
    return runs


# --- item 3: spawn time, its breakdown and the floor -----------------------------------------
@dataclass
class SpawnRun:
    kind: str
    seconds: float  # request to ready (the REST API shows the server ready)
    submit: float  # request until the job is in the queue
    queue: float  # in the queue until Slurm runs it
    server: float  # job running until the hub logged the port report
    hub: float  # port report until the REST API shows the server ready
    stop: float  # stop request until the job is gone from the queue


class QueueWatch:
    """When alice's job first shows up in the queue, and when it first runs (every 0.1 s)."""

    def __init__(self, queue: Queue) -> None:
        self.queue = queue
        self.seen = 0.0
        self.running = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._stop.is_set() and not self.running:
            jobs = self.queue.jobs("alice")
            now = time.time()
            if jobs and not self.seen:
                self.seen = now
            if any(jobs.values()):
                self.running = now
            time.sleep(0.1)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()


def _port_time(hub: Hub, kind: str, since: float) -> float:
    stamps = [t for t, text in log_lines_since(hub, since) if PORT_LINE[kind].match(text)]
    return stamps[0] if stamps else float("nan")


def spawn_once(hub: Hub, kind: str, queue: Queue) -> SpawnRun:
    watch = QueueWatch(queue)
    since = time.time()
    try:
        hub.begin_start("alice")
        seconds = wait_for(lambda: bool((hub.server_model("alice") or {}).get("ready")), 150)
        ready = since + seconds
    finally:
        watch.close()
    port = _port_time(hub, kind, since)
    jid = next(iter(queue.jobs("alice")), "")
    stop_began = time.monotonic()
    hub.api("DELETE", "/users/alice/server", timeout=90).raise_for_status()
    wait_for(lambda: jid not in queue.jobs("alice"), timeout=60, interval=0.05)
    stop = time.monotonic() - stop_began
    wait_for(lambda: not server_up(hub, "alice"), timeout=60)
    return SpawnRun(
        kind,
        seconds,
        submit=watch.seen - since,
        queue=watch.running - watch.seen,
        server=port - watch.running,
        hub=ready - port,
        stop=stop,
    )


def floor_once(jobenv: Path, queue: Queue, hub: hubless.StandInHub | None) -> float:
    """Submit a job (as alice) running the server without a hub, until it answers on its port:
    job start plus the server's own start-up.

    With ``hub`` (a :class:`hubless.StandInHub`), the server is ``jupyterhub-singleuser``,
    the program both spawners' jobs run, timed until ``GET {prefix}api`` answers: the floor.
    Without, it is a bare ``jupyter-server`` timed until ``GET /api/status`` answers (the
    earlier floor, without JupyterHub's extension and its imports)."""
    from harness.hub import free_port

    port = free_port()
    if hub is None:
        command, path = hubless.bare_server_command(jobenv, port), "/api/status"
    else:
        command = hubless.singleuser_command(jobenv, hub, "alice", port)
        path = hubless.probe_path("alice")
    began = time.monotonic()
    jid = queue.submit_as("alice", command)

    def answers() -> bool:
        try:
            return requests.get(f"http://127.0.0.1:{port}{path}", timeout=1).ok
        except requests.RequestException:
            return False

    try:
        wait_for(answers, timeout=120)
        return time.monotonic() - began
    finally:
        queue.cancel(jid)
        wait_for(lambda: jid not in queue.jobs("alice"), timeout=60)


def spawn(
    workdir: Path, rounds: int, cluster: Any, queue: Queue
) -> tuple[list[SpawnRun], list[float], list[float]]:
    """The spawn runs, the floors (``jupyterhub-singleuser`` without a hub) and the bare
    ``jupyter-server`` floors; one floor of each kind a round, between the two spawners."""
    runs: list[SpawnRun] = []
    floors: list[float] = []
    bare: list[float] = []
    jobenv = real_hub.bench_jobenv()
    with both_hubs(workdir, queue=queue) as hubs, hubless.stand_in_hub() as stand_in:
        for i, kind in alternating(rounds):
            cluster.cancel_all()
            if kind == KINDS[0]:  # once a round, between the two spawners (order alternates)
                for which in ("floor", "bare") if i % 2 == 0 else ("bare", "floor"):
                    if which == "floor":
                        floors.append(floor_once(jobenv, queue, stand_in))
                    else:
                        bare.append(floor_once(jobenv, queue, None))
                print(
                    f"  floor #{i}: {floors[-1]:.2f} s (bare jupyter-server {bare[-1]:.2f} s)",
                    flush=True,
                )
            run = spawn_once(hubs[kind], kind, queue)
            runs.append(run)
            print(
                f"  spawn #{i} {kind}: {run.seconds:.2f} s (submit {run.submit:.2f}, queue "
                f"{run.queue:.2f}, server {run.server:.2f}, hub {run.hub:.2f}); "
                f"stop {run.stop:.2f} s",
                flush=True,
            )
    return runs, floors, bare


# --- item 6: many users at once ---------------------------------------------------------------
@dataclass
class BurstRun:
    kind: str
    servers: int
    ready: int
    seconds: float  # the burst's start until the last server is ready
    api_p50_ms: float
    api_p99_ms: float
    api_max_ms: float
    api_samples: int


def burst_once(hub: Hub, kind: str, servers: int, queue: Queue = SLURM) -> BurstRun:
    """``servers`` named servers of alice and bob started at once; the hub's REST API latency
    (GET /hub/api/users/bob, every 0.1 s) until all are ready or failed."""
    names = [(("alice", "bob")[i % 2], f"b{i}") for i in range(servers)]
    for user in ("alice", "bob"):
        hub.create_user(user)
    latencies: list[float] = []
    done = threading.Event()

    def probe() -> None:
        while not done.is_set():
            t = time.monotonic()
            hub.api("GET", "/users/bob", timeout=60)
            latencies.append((time.monotonic() - t) * 1000)
            time.sleep(0.1)

    prober = threading.Thread(target=probe, daemon=True)
    began = time.monotonic()
    prober.start()
    starters = [
        threading.Thread(target=hub.begin_start, args=(user, name), daemon=True)
        for user, name in names
    ]
    for t in starters:
        t.start()
    for t in starters:
        t.join()

    def states() -> list[str]:
        out = []
        for user in ("alice", "bob"):
            servers_ = hub.user_model(user).get("servers", {})
            for user_, name in names:
                if user_ != user:
                    continue
                model = servers_.get(name) or {}
                out.append(
                    "ready" if model.get("ready") else "pending" if model.get("pending") else "gone"
                )
        return out

    try:
        wait_for(lambda: "pending" not in states(), timeout=600, interval=0.5)
    finally:
        seconds = time.monotonic() - began
        done.set()
        prober.join()
    ready = states().count("ready")
    ordered = sorted(latencies)
    for user, name in names:
        with contextlib.suppress(Exception):
            hub.api("DELETE", f"/users/{user}/servers/{name}", timeout=60)
    wait_for(lambda: not queue.jobs("alice") and not queue.jobs("bob"), timeout=120, interval=0.5)
    return BurstRun(
        kind,
        servers,
        ready,
        seconds,
        statistics.median(ordered),
        ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))],
        ordered[-1],
        len(ordered),
    )


def burst(
    workdir: Path, rounds: int, cluster: Any, servers: int, queue: Queue = SLURM
) -> list[BurstRun]:
    runs: list[BurstRun] = []
    for i, kind in alternating(rounds):
        cluster.cancel_all()
        # one hub at a time: its CPU
        with hub_with(kind, workdir / f"{kind}-{i}", queue=queue) as hub:
            run = burst_once(hub, kind, servers, queue)
        runs.append(run)
        print(
            f"  burst #{i} {kind}: {run.ready}/{servers} ready in {run.seconds:.1f} s; API p50 "
            f"{run.api_p50_ms:.0f} ms, p99 {run.api_p99_ms:.0f} ms ({run.api_samples} samples)"
        )
    return runs


# --- summaries --------------------------------------------------------------------------------
@dataclass
class Stat:
    runs: int
    median: float
    low: float
    high: float
    values: list[float] = field(default_factory=list)


def stat(values: list[float]) -> Stat:
    return Stat(len(values), statistics.median(values), min(values), max(values), values)


def group(runs: list[Any], key: str) -> dict[tuple[str, str], Stat]:
    keys = dict.fromkeys((getattr(r, key), r.kind) for r in runs)
    return {k: stat([r.seconds for r in runs if (getattr(r, key), r.kind) == k]) for k in keys}


def as_dicts(runs: list[Any]) -> list[dict[str, Any]]:
    return [asdict(r) for r in runs]


def run_scenario(
    name: str, workdir: Path, rounds: int, queue: Queue = SLURM, servers: int = BURST_SERVERS
) -> dict[str, Any]:
    """Start the test cluster, run one scenario, stop the cluster; the raw runs (on Grid
    Engine, their keys end in ``_sge``; a burst of other than ``BURST_SERVERS`` servers is
    kept under ``burst<N>``)."""
    real_hub.bench_jobenv()
    suffix = "" if queue is SLURM else f"_{queue.name}"
    cpus = servers + 2 if name == "burst" else 0  # one CPU for each server of a burst
    with bench_queues.cluster(queue, cpus) as cluster:
        if name == "notice":
            return {f"notice{suffix}": as_dicts(notice(workdir, rounds, cluster, queue))}
        if name == "walltime":
            return {f"walltime{suffix}": as_dicts(walltime(workdir, rounds, cluster, queue))}
        if name == "lost":
            return {f"lost{suffix}": as_dicts(lost(workdir, rounds, cluster, queue))}
        if name == "failure":
            return {f"failure{suffix}": as_dicts(failure(workdir, rounds, cluster, queue))}
        if name == "spawn":
            runs, floors, bare = spawn(workdir, rounds, cluster, queue)
            return {
                f"spawn{suffix}": as_dicts(runs),
                f"floor{suffix}": floors,
                f"floor_bare{suffix}": bare,
            }
        if name == "burst":
            runs_ = burst(workdir, rounds, cluster, servers, queue)
            size = "" if servers == BURST_SERVERS else str(servers)
            return {f"burst{size}{suffix}": as_dicts(runs_)}
        raise ValueError(f"unknown scenario {name!r}")
