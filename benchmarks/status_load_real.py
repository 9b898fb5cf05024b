"""Status load against REAL Slurm: the phases and spawner code paths of :mod:`status_load`
(JupyterHub's poll timers for running servers, each spawner's own start loop for queued
spawns, batchspawner 1.3.0 and jobspawner one after the other in this process), with every
spawner's state pointing at a real job of the tests' single-node Slurm 22.05
(``tests/slurm/cluster.py``, CPUs over-declared).

The jobs: cheap ``sleep`` jobs submitted as the test users alice and bob (alternating), one
CPU and 1 MB each; as many running as the largest phase needs, and the queued ones held
(``sbatch --hold``: PENDING, reason ``JobHeldUser``). A phase of N servers uses the first N
running jobs; the others stay in the queue (the controller's idle baseline has them too).
Every job is cancelled at the end, also when the run fails.

Both spawners run ``squeue`` through a counting shim (``real_slurm/squeue_shim.c``, first on
PATH and the path both are configured with) that logs each call as the emulated squeue does
(time, phase tag, user id, arguments) and then execs ``/usr/bin/squeue``: calls are counted
by :mod:`status_load`'s own code.

Measured per phase and spawner, besides :class:`status_load.LoadResult`: slurmctld's CPU
(user and system time from ``/proc/<pid>/stat``) per (virtual) minute over the window, minus
an idle baseline measured with no spawner (the hub's idle window, the same cluster state),
and munged's the same way (every ``squeue`` call is a munge credential the controller
checks). The commands' own CPU (``command_cpu_s_per_min``) is now real ``squeue`` clients.

The full run: 10, 100 and 1000 running servers and 20 queued spawns, on 1000 running and 20
held jobs (the node declares 1004 CPUs; the jobs are submitted :data:`SUBMITTERS` at a time
and their start waited for, about a minute). The run's own figures (submission, memory of the
jobs' slurmstepd and processes, the host's load before and after) go to the JSON's "run".

Run it holding the cluster lock: ``flock /tmp/jobspawner-cluster.lock ./run bench load-real``
(as root; starts and stops the test cluster). A cluster set apart from another session's
(``JOBSPAWNER_SLURM_CONF_DIR``, ``JOBSPAWNER_SLURM_HARNESS``, ``JOBSPAWNER_SLURM_PORT_BASE``:
:mod:`slurm.cluster`) is the one started and measured, under a lock of its own. munged is the
cluster's own (``OWN_MUNGE``: its socket in the harness folder), not the host's shared one.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(ROOT / "tests"))

import status_load  # noqa: E402
from status_load import LoadResult, Phase  # noqa: E402

REAL_SQUEUE = "/usr/bin/squeue"
SHIM_SOURCE = BENCH / "real_slurm" / "squeue_shim.c"
USERS = ("alice", "bob")
JOB_COMMAND = "sleep 7200"
#: the idle baseline (hub and daemons): the daemons' CPU is counted in clock ticks (10 ms),
#: one tick in the baseline is 0.02 s a minute over 30 s (0.06 over 10 s)
IDLE_SECONDS = 30.0
#: (running, queued, time compression, real seconds measured): the phases of the full run
#: 1000 servers run in real time, as in the emulated run (compressed, batchspawner cannot
#: issue what it asks for), over a longer window (four of jobspawner's rounds)
PHASES = [
    Phase(10, 0, 10.0, 24.0),
    Phase(100, 0, 5.0, 24.0),
    Phase(1000, 0, 1.0, 60.0),
    Phase(0, 20, 1.0, 20.0),
]
TICK_S = 1.0 / os.sysconf("SC_CLK_TCK")  # /proc/<pid>/stat counts CPU time in these
SUBMITTERS = 8  # sbatch calls at once while submitting (each job its own sbatch)
OUT_JSON = ROOT / "docs" / "performance-real-slurm.json"
PAGE = ROOT / "docs" / "performance.md"
MARK_BEGIN = "<!-- real-slurm:begin"
MARK_END = "<!-- real-slurm:end -->"


@dataclass
class RealLoadResult(LoadResult):
    """A :class:`LoadResult` on real Slurm, with the cluster daemons' cost."""

    slurmctld_cpu_s_per_min: float = 0.0  # above its idle baseline, per (virtual) minute
    slurmctld_raw_s_per_min: float = 0.0  # including the baseline
    slurmctld_idle_s_per_min: float = 0.0  # the baseline subtracted
    munged_cpu_s_per_min: float = 0.0  # munged above its idle baseline
    slurmctld_ms_per_call: float = 0.0  # slurmctld CPU above idle per squeue call, ms
    loadavg: list[float] = field(default_factory=list)  # 1-minute load average: start, end
    jobs_in_queue: int = 0  # the cluster's jobs during the phase (all users)
    #: one clock tick in the window and one in the baseline, per (virtual) minute: a daemon
    #: figure above idle below this is within the method's resolution of zero
    daemon_resolution_s_per_min: float = 0.0


def proc_cpu(pid: int) -> float:
    """A process's CPU seconds so far (user plus system time, ``/proc/<pid>/stat``)."""
    text = Path(f"/proc/{pid}/stat").read_text()
    fields = text[text.rindex(")") + 2 :].split()  # the name may hold spaces and parentheses
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # utime, stime (fields 14, 15)


def loadavg() -> float:
    """The host's 1-minute load average."""
    return float(Path("/proc/loadavg").read_text().split()[0])


class DaemonMeter:
    """CPU of the cluster's daemons (by pid) between :meth:`open` and :meth:`close`."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids
        self.start: dict[str, float] = {}
        self.spent: dict[str, float] = {}
        self.t0 = 0.0
        self.elapsed = 0.0

    def open(self) -> None:
        self.start = {name: proc_cpu(pid) for name, pid in self.pids.items()}
        self.t0 = time.monotonic()

    def close(self) -> None:
        self.elapsed = time.monotonic() - self.t0
        self.spent = {name: proc_cpu(pid) - self.start[name] for name, pid in self.pids.items()}

    def window(self, opened: bool) -> None:
        """The callback :func:`status_load.measure` calls when its window opens/closes."""
        self.open() if opened else self.close()

    def per_s(self, name: str) -> float:
        return self.spent.get(name, 0.0) / max(self.elapsed, 1e-9)


def build_shim(folder: Path, target: str = REAL_SQUEUE) -> Path:
    """Compile the counting shim into ``folder/squeue`` (execs ``target``)."""
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        raise RuntimeError("the squeue shim needs a C compiler: install gcc (.ci/install-cpu.sh)")
    folder.mkdir(parents=True, exist_ok=True)
    binary = folder / "squeue"
    built = subprocess.run(
        [cc, "-O2", f'-DREAL_SQUEUE="{target}"', "-o", str(binary), str(SHIM_SOURCE)],
        capture_output=True,
        text=True,
        check=False,
    )
    if built.returncode:
        raise RuntimeError(f"building the squeue shim failed: {built.stderr.strip()}")
    return binary


def _run(argv: list[str], timeout: float = 30.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, cwd="/")


def submit(user: str, held: bool) -> str:
    """One cheap job as ``user`` (one CPU, 1 MB, output discarded); its id."""
    argv = ["sbatch", "--parsable", "-o", "/dev/null", f"--chdir=/home/{user}"]
    argv += ["-c", "1", "--mem=1", "-t", "120", "-J", "loadbench"]
    argv += ["--hold"] if held else []
    proc = _run(["runuser", "-u", user, "--", *argv, "--wrap", JOB_COMMAND])
    if proc.returncode:
        raise RuntimeError(f"sbatch as {user} failed: {proc.stderr.strip()}")
    return proc.stdout.strip().split(";")[0]


def states(ids: list[str]) -> dict[str, str]:
    """The Slurm state of each of ``ids`` (one squeue call)."""
    out = _run([REAL_SQUEUE, "-h", "-t", "all", "-o", "%i %T", "-j", ",".join(ids)]).stdout
    return {p[0]: p[1] for p in (line.split() for line in out.splitlines()) if len(p) == 2}


def node_cpus() -> int:
    """The CPUs the cluster's node declares (over-declared: the host has fewer)."""
    out = _run(["sinfo", "-h", "-o", "%c"]).stdout.split()
    return int(out[0].rstrip("+")) if out else 0


def queue_size() -> int:
    return len(_run([REAL_SQUEUE, "-h", "-o", "%i"]).stdout.split())


def submit_jobs(
    running: int, queued: int, timeout: float | None = None
) -> tuple[list[str], list[str]]:
    """``running`` jobs that run and ``queued`` held ones, alice and bob alternating, each its
    own ``sbatch`` (:data:`SUBMITTERS` at once); waits (bounded: by default 4 minutes and
    0.3 s a job) until every one of the first kind runs."""
    with ThreadPoolExecutor(SUBMITTERS) as pool:
        run_ids = list(pool.map(lambda i: submit(USERS[i % 2], held=False), range(running)))
        held_ids = list(pool.map(lambda i: submit(USERS[i % 2], held=True), range(queued)))
    timeout = 240.0 + 0.3 * running if timeout is None else timeout
    deadline = time.monotonic() + timeout
    while True:
        now = states(run_ids + held_ids) if run_ids or held_ids else {}
        if all(now.get(j) == "RUNNING" for j in run_ids):
            break
        if time.monotonic() > deadline:
            late = [j for j in run_ids if now.get(j) != "RUNNING"]
            raise RuntimeError(f"{len(late)} of {running} jobs not running after {timeout:.0f} s")
        time.sleep(1.0)
    wrong = [j for j in held_ids if now.get(j) != "PENDING"]
    if wrong:
        raise RuntimeError(f"held jobs not pending: {wrong}")
    return run_ids, held_ids


def cancel_all_jobs(timeout: float = 60.0) -> None:
    """Cancel every job of the test users (also the jobs of a failed run) and wait (bounded)
    until none is pending, running or completing (a thousand take slurmd a while: give
    ``timeout`` for as many)."""
    for user in USERS:
        _run(["scancel", "-u", user])
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        argv = [REAL_SQUEUE, "-h", "-u", ",".join(USERS), "-t", "PD,R,CG,S,ST,CF", "-o", "%i"]
        if not _run(argv).stdout.strip():
            return
        time.sleep(0.5)


@contextmanager
def shim_on_path(folder: Path) -> Iterator[None]:
    """The shim first on PATH and the squeue both spawners are configured with."""
    saved_path, saved = os.environ.get("PATH", ""), dict(status_load.SQUEUE)
    os.environ["PATH"] = f"{folder}:{saved_path}"
    status_load.SQUEUE.update(path=folder / "squeue", kind="real")
    try:
        yield
    finally:
        os.environ["PATH"] = saved_path
        status_load.SQUEUE.clear()
        status_load.SQUEUE.update(saved)


async def check_answers(run_ids: list[str], held_ids: list[str], gone: str) -> None:
    """Both spawners, through the shim, see a sample of the jobs alive (``poll()`` is None)
    and a job id Slurm does not know as ended: their figures come from real answers."""
    from jobspawner.spawner import JobSpawner

    sample = run_ids[:3] + held_ids[:2]
    for make in (status_load._batchspawner, status_load._jobspawner):
        for job_id in sample:
            got = await make("alice", job_id, 1.0).poll()
            if got is not None:
                raise RuntimeError(f"{make.__name__}: job {job_id} polled as ended ({got})")
        ended = await make("alice", gone, 1.0).poll()
        if ended is None:
            raise RuntimeError(f"{make.__name__}: unknown job {gone} polled as alive")
        for poller in list(JobSpawner._pollers.values()):
            await poller.close()
        JobSpawner._pollers.clear()


async def run_phases(
    phases: list[Phase],
    pids: dict[str, int],
    run_ids: list[str],
    held_ids: list[str],
    idle_seconds: float = IDLE_SECONDS,
    report: Callable[[RealLoadResult], None] | None = None,
) -> list[RealLoadResult]:
    """Each phase: an idle baseline (hub and daemons), then batchspawner, then jobspawner."""
    from jobspawner.spawner import JobSpawner

    JobSpawner._pollers.clear()
    tmp = Path(tempfile.mkdtemp(prefix="jobspawner-load-real-"))
    results: list[RealLoadResult] = []
    for phase in phases:
        ids = run_ids[: phase.running] + held_ids[: phase.queued]
        if len(ids) != phase.running + phase.queued:
            raise ValueError(f"{phase}: only {len(run_ids)} running, {len(held_ids)} held jobs")
        idle_meter = DaemonMeter(pids)
        idle_meter.open()
        idle = await status_load.idle_cpu_per_s(idle_seconds, phase.running + phase.queued)
        idle_meter.close()
        for kind in status_load.KINDS:
            meter = DaemonMeter(pids)
            load0, jobs = loadavg(), queue_size()
            limit = phase.window + 120.0 + phase.running * 0.1
            base = await asyncio.wait_for(
                status_load.measure(kind, phase, idle, tmp, meter.window, job_ids=ids), limit
            )
            per_min = 60.0 / (meter.elapsed * phase.scale)
            # one subtraction of the same two figures, so that raw >= above-idle >= 0 holds
            # exactly (a product of differences can round past the raw figure)
            ctld_raw = meter.spent.get("slurmctld", 0.0) * per_min
            ctld_idle = idle_meter.per_s("slurmctld") * meter.elapsed * per_min
            extra: dict[str, Any] = {
                "slurmctld_cpu_s_per_min": min(ctld_raw, max(0.0, ctld_raw - ctld_idle)),
                "slurmctld_raw_s_per_min": ctld_raw,
                "slurmctld_idle_s_per_min": ctld_idle,
                "munged_cpu_s_per_min": max(0.0, meter.per_s("munged") - idle_meter.per_s("munged"))
                * meter.elapsed
                * per_min,
                "slurmctld_ms_per_call": 1e3
                * max(
                    0.0,
                    meter.spent.get("slurmctld", 0.0)
                    - idle_meter.per_s("slurmctld") * meter.elapsed,
                )
                / max(base.commands, 1),
                "loadavg": [load0, loadavg()],
                "daemon_resolution_s_per_min": TICK_S
                * (1.0 / max(meter.elapsed, 1e-9) + 1.0 / max(idle_meter.elapsed, 1e-9))
                * 60.0
                / phase.scale,
                "jobs_in_queue": jobs,
            }
            result = RealLoadResult(**asdict(base), **extra)
            results.append(result)
            if report is not None:
                report(result)
    return results


def daemon_pids(cluster: Any) -> dict[str, int]:
    """slurmctld's pid (started by the cluster) and munged's (the cluster's own, else the
    host's pid file)."""
    pids = {"slurmctld": int(cluster.started["slurmctld"])}
    munged = Path("/run/munge/munged.pid")
    if "munged" in cluster.started:
        pids["munged"] = int(cluster.started["munged"])
    elif munged.exists():
        pids["munged"] = int(munged.read_text().split()[0])
    return pids


def run_real(
    phases: list[Phase],
    cluster: Any = None,
    idle_seconds: float = IDLE_SECONDS,
    info: dict[str, Any] | None = None,
) -> list[RealLoadResult]:
    """Start the test cluster (unless ``cluster`` is a running one), submit the jobs, run the
    phases through the shim, cancel every job (also on failure). Needs root.

    ``info`` (when given) receives the run's figures besides the phases': the jobs, how long
    submitting them and their start took, what they take in memory (:mod:`job_memory`,
    before submitting and once all run), whether munged was this cluster's own, and the
    host's load averages (1, 5, 15 min) before the jobs and after their cancellation."""
    if os.geteuid() != 0:
        raise RuntimeError("the real-Slurm benchmark needs root (cluster, jobs as alice/bob)")
    from harness.users import ensure_users

    ensure_users(USERS)
    if cluster is None:
        import bench_queues
        from slurm import cluster as slurm_cluster

        cpus = max(p.running for p in phases) + 4
        slurm_cluster.OWN_MUNGE = True  # munged's CPU is this cluster's alone
        try:
            with bench_queues.cluster(bench_queues.SLURM, cpus) as started:
                return run_real(phases, started, idle_seconds, info)
        finally:
            slurm_cluster.OWN_MUNGE = False
    import job_memory

    info = {} if info is None else info
    running = max(p.running for p in phases)
    queued = max(p.queued for p in phases)
    folder = Path(tempfile.mkdtemp(prefix="jobspawner-shim-"))
    folder.chmod(0o755)
    shim_dir = folder / "bin"
    build_shim(shim_dir)
    pids = daemon_pids(cluster)
    daemons = {"slurmctld": pids["slurmctld"]}
    if "slurmd" in cluster.started:
        daemons["slurmd"] = int(cluster.started["slurmd"])
    info.update(
        running_jobs=running,
        held_jobs=queued,
        node_cpus=node_cpus(),
        munged_own="munged" in cluster.started,
        uptime_before=list(os.getloadavg()),
        memory_before=job_memory.snapshot((), daemons),
    )
    try:
        print(f"status_load_real: submitting {running} running, {queued} held jobs", flush=True)
        t0 = time.monotonic()
        run_ids, held_ids = submit_jobs(running, queued)
        info["submit_and_start_s"] = time.monotonic() - t0
        # each running job: its slurmstepd, the batch script's shell and its sleep
        info["memory_running"] = job_memory.when_started(
            run_ids + held_ids, daemons, running, 2 * running
        )
        with shim_on_path(shim_dir):

            async def main() -> list[RealLoadResult]:
                gone = str(max(int(j) for j in run_ids + held_ids) + 100_000)
                await check_answers(run_ids, held_ids, gone)
                return await run_phases(
                    phases,
                    pids,
                    run_ids,
                    held_ids,
                    idle_seconds,
                    lambda r: print(json.dumps(asdict(r)), file=sys.stderr, flush=True),
                )

            return asyncio.run(main())
    finally:
        t0 = time.monotonic()
        cancel_all_jobs(60.0 + 0.2 * (running + queued))
        info["cancel_s"] = time.monotonic() - t0
        info["uptime_after"] = list(os.getloadavg())
        shutil.rmtree(folder, ignore_errors=True)


def summarize(results: list[RealLoadResult], info: dict[str, Any] | None = None) -> dict[str, Any]:
    """Rows with both spawners side by side (:func:`run.side_by_side`) and the controller's
    and munged's ratios; the run's own figures (:func:`run_real`'s ``info``) under "run"."""
    import run

    rows = run.side_by_side(results)
    for row in rows:
        ours, anchor = row["jobspawner"], row["anchor"]
        for daemon in ("slurmctld", "munged"):
            row[f"{daemon}_ratio"] = ours[f"{daemon}_cpu_s_per_min"] / max(
                anchor[f"{daemon}_cpu_s_per_min"], 1e-9
            )
    loads = [x for r in results for x in r.loadavg]
    summary = {
        "rows": rows,
        "loadavg": {"min": min(loads, default=0.0), "max": max(loads, default=0.0)},
        "machine": {"cpus": os.cpu_count()},
    }
    if info:
        summary["run"] = info
    return summary


def markdown(summary: dict[str, Any]) -> str:
    """The table of the "Against real Slurm" section."""
    lines = [
        "| running | queued | scale | squeue/min batchspawner (asked) / jobspawner "
        "| hub CPU s/min batchspawner / jobspawner | CPU ratio "
        "| worst stall s batchspawner / jobspawner "
        "| slurmctld CPU s/min batchspawner / jobspawner "
        "| munged CPU s/min batchspawner / jobspawner | squeue client CPU s/min "
        "batchspawner / jobspawner |",
        "|---:|---:|---:|---|---|---:|---|---|---|---|",
    ]
    for r in summary["rows"]:
        a, o = r["anchor"], r["jobspawner"]
        lines.append(
            f"| {r['running']} | {r['queued']} | {r['scale']:g} "
            f"| {a['commands_per_min']:.1f} ({a['commands_asked_per_min']:.0f}) / "
            f"{o['commands_per_min']:.1f} "
            f"| {a['cpu_s_per_min']:.3f} / {o['cpu_s_per_min']:.3f} | {r['cpu_ratio']:.3f} "
            f"| {a['worst_stall_s']:.3f} / {o['worst_stall_s']:.3f} "
            f"| {a['slurmctld_cpu_s_per_min']:.3f} / {o['slurmctld_cpu_s_per_min']:.3f} "
            f"| {a['munged_cpu_s_per_min']:.3f} / {o['munged_cpu_s_per_min']:.3f} "
            f"| {a['command_cpu_s_per_min']:.3f} / {o['command_cpu_s_per_min']:.3f} |"
        )
    load = summary["loadavg"]
    lines += [
        "",
        f"Load average (1 min) during the run: {load['min']:.2f} to {load['max']:.2f} "
        f"on {summary['machine']['cpus']} CPUs.",
    ]
    running = [r for r in summary["rows"] if not r["queued"]]
    if running:
        lines += ["", _largest_words(max(running, key=lambda r: r["running"]))]
    if "run" in summary:
        lines += ["", _run_words(summary["run"])]
    return "\n".join(lines) + "\n"


def _fraction(ratio: float) -> str:
    """A ratio as "1/N" (rounded), or "N times" when jobspawner's figure is the larger."""
    if ratio <= 0:
        return "0"
    return f"1/{1 / ratio:.0f}" if ratio < 1 else f"{ratio:.1f} times"


def _daemon_words(row: dict[str, Any], daemon: str) -> str:
    """A daemon's CPU above idle, jobspawner against the anchor: a ratio, or a bound when
    jobspawner's figure is within the meter's resolution of zero (at most one tick)."""
    a, o = row["anchor"], row["jobspawner"]
    ours, anchor = o[f"{daemon}_cpu_s_per_min"], a[f"{daemon}_cpu_s_per_min"]
    figures = f"{ours:.3f} against {anchor:.3f} s/min"
    resolution = o.get("daemon_resolution_s_per_min", 0.0)
    if resolution > 0 and ours <= resolution + 1e-9 < anchor:
        return (
            f"within the meter's resolution ({resolution:.3f} s/min: {figures}), "
            f"under 1/{anchor / resolution:.0f} of the anchor's"
        )
    return f"{_fraction(row[f'{daemon}_ratio'])} ({figures})"


def _largest_words(row: dict[str, Any]) -> str:
    """jobspawner against the anchor at the largest running phase, in ratios."""
    a, o = row["anchor"], row["jobspawner"]
    return (
        f"At {row['running']} running servers jobspawner ran {_fraction(row['commands_ratio'])} "
        f"of the anchor's `squeue` calls ({o['commands_per_min']:.1f} against "
        f"{a['commands_per_min']:.1f} a minute); its hub CPU was {_fraction(row['cpu_ratio'])} "
        f"of the anchor's, the hub and its commands together {_fraction(row['host_cpu_ratio'])}, "
        f"slurmctld's CPU above idle {_daemon_words(row, 'slurmctld')} "
        f"and munged's {_daemon_words(row, 'munged')}."
    )


def _run_words(run: dict[str, Any]) -> str:
    """The jobs, their memory, the host's load and the run's duration."""
    before, during = run["memory_before"], run["memory_running"]
    up0, up1 = run["uptime_before"], run["uptime_after"]
    munged = "its own munged" if run["munged_own"] else "a munged shared with other clusters"
    return (
        f"The cluster: one node declaring {run['node_cpus']} CPUs on this host, "
        f"{run['running_jobs']} running and {run['held_jobs']} held jobs (each its own "
        f"`sbatch`), submitted and all running after {run['submit_and_start_s']:.0f} s, "
        f"cancelled in {run['cancel_s']:.0f} s; {munged}. With every job running: "
        f"{during['steps']:.0f} slurmstepd processes of {during['steps_pss_mb']:.0f} MB "
        f"(proportional set size; {during['steps_rss_mb']:.0f} MB resident counted apart), "
        f"{during['job_processes']:.0f} job processes of {during['job_processes_pss_mb']:.0f} MB "
        f"(all there {during.get('started_after_s', 0.0):.0f} s after Slurm said running), "
        f"slurmctld {before['slurmctld_rss_mb']:.0f} MB before the jobs and "
        f"{during['slurmctld_rss_mb']:.0f} MB with them, slurmd "
        f"{before.get('slurmd_rss_mb', 0.0):.0f} and {during.get('slurmd_rss_mb', 0.0):.0f} MB; "
        f"the host's available memory fell by "
        f"{before['available_mb'] - during['available_mb']:.0f} MB. Load average "
        f"(1, 5, 15 min, `uptime`) before the jobs: {', '.join(f'{x:.2f}' for x in up0)}; after "
        f"their cancellation: {', '.join(f'{x:.2f}' for x in up1)}. The run took "
        f"{run['duration_s'] / 60:.1f} minutes."
    )


def write_table(page: Path, table: str) -> None:
    """Put the table between the real-Slurm markers of docs/performance.md."""
    text = page.read_text()
    begin = text.index("\n", text.index(MARK_BEGIN)) + 1
    end = text.index(MARK_END)
    page.write_text(text[:begin] + "\n" + table + "\n" + text[end:])


def parse_phases(running: str, queued: int, window: float) -> list[Phase]:
    """Phases from ``--running 10,100`` and ``--queued 20`` (the full run's scales)."""
    scales = {p.running: p.scale for p in PHASES if p.running}
    phases = []
    for n in (int(x) for x in running.split(",") if x):
        scale = scales.get(n, 10.0 if n <= 10 else 5.0 if n <= 100 else 2.0 if n <= 200 else 1.0)
        phases.append(Phase(n, 0, scale, window))
    if queued:
        phases.append(Phase(0, queued, 1.0, min(window, 20.0)))
    return phases


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="./run bench load-real")
    parser.add_argument("--running", default="10,100,1000", help="running servers per phase")
    parser.add_argument("--queued", type=int, default=20, help="queued spawns (0: no phase)")
    parser.add_argument("--window", type=float, default=0.0, help="seconds per phase")
    parser.add_argument("--idle", type=float, default=IDLE_SECONDS, help="idle baseline, s")
    parser.add_argument("--out", default=None, help="folder for the JSON (default: docs/)")
    parser.add_argument(
        "--table-from",
        default=None,
        help="no run: write the table of this results JSON into docs/performance.md",
    )
    args = parser.parse_args(argv)
    if args.table_from:  # a run kept with --out, put in the page as it was measured
        table = markdown(json.loads(Path(args.table_from).read_text()))
        write_table(PAGE, table)
        print(table)
        return 0
    if args.running == "10,100,1000" and args.queued == 20 and not args.window:
        phases = PHASES
    else:
        phases = parse_phases(args.running, args.queued, args.window or 24.0)
    t0 = time.monotonic()
    info: dict[str, Any] = {}
    results = run_real(phases, idle_seconds=args.idle, info=info)
    info["duration_s"] = time.monotonic() - t0
    summary = summarize(results, info)
    table = markdown(summary)
    print(table)
    out = Path(args.out) / OUT_JSON.name if args.out else OUT_JSON
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(summary, indent=2) + "\n")
    if out == OUT_JSON:
        write_table(PAGE, table)
    else:
        (out.parent / "performance-real-slurm.md").write_text(table)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
