"""Status load: N running servers (+ queued spawns), each spawner polled on JupyterHub's own
schedule, batchspawner 1.3.0 (the anchor) and jobspawner in the same process, one after the
other, against the emulated ``squeue`` in ``benchmarks/fake_slurm`` (both run it as a
subprocess, through their own code paths).

Time is compressed by ``scale``: JupyterHub's poll_interval (30 s), jobspawner's
status_interval (15 s) and the window (one minute) are divided by it; rates are reported per
*virtual* minute. Startup polling (batchspawner 0.5 s, jobspawner 1 s, both shared by every
queued spawn in jobspawner) is not compressed. Measured per spawner kind: squeue commands per
virtual minute (from the emulator's log), the hub process's CPU seconds per virtual minute
(process time, without the commands' own CPU) and the event loop's worst stall (a 10 ms
ticker's largest lateness).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

FAKE_DIR = Path(__file__).resolve().parent / "fake_slurm"
POLL_INTERVAL = 30.0  # JupyterHub's default
STATUS_INTERVAL = 15.0  # JobSpawner.status_interval's default


@dataclass
class LoadResult:
    kind: str
    running: int
    queued: int
    scale: float
    commands_per_min: float
    cpu_s_per_min: float
    worst_stall_s: float


def _user(name: str) -> Any:
    return SimpleNamespace(name=name, url=f"/user/{name}/", escaped_name=name, id=1)


def _jobspawner(name: str, job_id: str, scale: float) -> Any:
    from jobspawner.spawner import JobSpawner
    from jupyterhub.objects import Hub

    spawner = JobSpawner(
        user=_user(name),
        hub=Hub(ip="127.0.0.1", port=8081, base_url="/hub/"),
        backend="slurm",
        backend_options={"squeue": str(FAKE_DIR / "squeue"), "sacct": ""},
        exec_prefix=["env"],  # a per-user prefix exists; status runs as the hub by default
        command_env_keep=["FAKE_SLURM_*"],
        status_interval=STATUS_INTERVAL / scale,
        start_timeout=10**6,
    )
    spawner.load_state({"job_id": job_id, "job_output": "/dev/null"})
    return spawner


def _batchspawner(name: str, job_id: str, scale: float) -> Any:
    import pwd

    from batchspawner import SlurmSpawner
    from jupyterhub.objects import Hub

    name = pwd.getpwuid(os.getuid()).pw_name  # batchspawner looks its user up in passwd
    spawner = SlurmSpawner(
        user=_user(name),
        hub=Hub(ip="127.0.0.1", port=8081, base_url="/hub/"),
        exec_prefix="",
        req_homedir="/tmp",
        req_username=name,
    )
    spawner.job_id = job_id
    return spawner


async def _queued_loop(kind: str, spawner: Any) -> None:
    """What a queued spawn does while its job waits: each spawner's own start loop."""
    if kind == "batchspawner":  # batchspawner.start(): query, sleep startup_poll_interval
        while True:
            await spawner.query_job_status()
            await asyncio.sleep(spawner.startup_poll_interval)
    spawner._port_future = asyncio.get_running_loop().create_future()
    spawner._watch_job(hurry=True)
    ctx = spawner.context()
    await spawner._wait_until_ready(ctx.backend, ctx, time.monotonic())


def _start_polling(spawner: Any, interval: float) -> None:
    """JupyterHub's Spawner.start_polling with a compressed interval (the trait is an int)."""
    from tornado.ioloop import PeriodicCallback

    spawner.stop_polling()
    spawner._poll_callback = PeriodicCallback(
        spawner.poll_and_notify, 1e3 * interval, jitter=spawner.poll_jitter
    )
    spawner._poll_callback.start()


async def _stall_meter(worst: list[float]) -> None:
    loop = asyncio.get_running_loop()
    while True:
        t0 = loop.time()
        await asyncio.sleep(0.01)
        worst[0] = max(worst[0], loop.time() - t0 - 0.01)


async def measure(
    kind: str, running: int, queued: int, scale: float, window: float | None = None
) -> LoadResult:
    """One window of JupyterHub polling ``running`` servers while ``queued`` spawns wait."""
    tmp = Path(tempfile.mkdtemp(prefix="jobspawner-load-"))
    jobs = {str(10_000 + i): ["RUNNING", f"node{i % 50}"] for i in range(running)}
    jobs |= {str(20_000 + i): ["PENDING", ""] for i in range(queued)}
    (tmp / "jobs.json").write_text(json.dumps(jobs))
    log = tmp / "calls.log"
    log.write_text("")
    os.environ.update(FAKE_SLURM_STATE=str(tmp / "jobs.json"), FAKE_SLURM_LOG=str(log))
    os.environ["PATH"] = f"{FAKE_DIR}:{os.environ['PATH']}"
    make = _jobspawner if kind == "jobspawner" else _batchspawner
    if kind == "jobspawner":
        from jobspawner.spawner import JobSpawner

        JobSpawner._pollers.clear()
    ids = list(jobs)
    spawners = [make(f"user{i}", job_id, scale) for i, job_id in enumerate(ids)]
    worst = [0.0]
    meter = asyncio.ensure_future(_stall_meter(worst))
    tasks = [asyncio.ensure_future(_queued_loop(kind, s)) for s in spawners[running:]]
    for spawner in spawners[:running]:
        _start_polling(spawner, POLL_INTERVAL / scale)
    window = 60.0 / scale if window is None else window
    await asyncio.sleep(0.2)  # let the first rounds start
    calls0, cpu0, t0 = len(log.read_text().splitlines()), time.process_time(), time.monotonic()
    await asyncio.sleep(window)
    elapsed = time.monotonic() - t0
    calls = len(log.read_text().splitlines()) - calls0
    cpu = time.process_time() - cpu0
    for spawner in spawners[:running]:
        spawner.stop_polling()
    for task in [*tasks, meter]:
        task.cancel()
    await asyncio.gather(*tasks, meter, return_exceptions=True)
    per_min = 60.0 / (elapsed * scale)  # one virtual minute is 60/scale real seconds
    return LoadResult(kind, running, queued, scale, calls * per_min, cpu * per_min, worst[0])


def run(points: list[tuple[int, int, float, float | None]]) -> list[LoadResult]:
    """Anchor then jobspawner for each (running, queued, scale, window in real seconds)."""

    async def all_points() -> list[LoadResult]:
        results = []
        for running, queued, scale, window in points:
            for kind in ("batchspawner", "jobspawner"):
                results.append(await measure(kind, running, queued, scale, window))
                print(json.dumps(asdict(results[-1])), file=sys.stderr)
                await asyncio.sleep(1.0)  # let the last commands of the window finish
        return results

    return asyncio.run(all_points())
