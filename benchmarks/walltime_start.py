"""What the walltime notices cost a job's server at its start, side by side with and without.

``jobspawner-singleuser`` is started against the spawn floor's stand-in hub
(:mod:`hubless`: it answers every request, the port report and the walltime question
included) with a pinned port, and timed from its start until ``GET {prefix}api/status``
answers (the server serves; JupyterLab's server extension has read the installed lab
extensions by then): the wall-clock time, and the CPU time the server used until then (user
plus system, from ``/proc``: much less disturbed by other work on a shared machine). Two
setups alternate, ``rounds`` times each:

* **without**: the ``jobspawner-walltime`` lab extension moved out of the job environment,
  and no ``JOBSPAWNER_WALLTIME`` (``c.JobSpawner.walltime_notices = False``);
* **with**: the extension installed and ``JOBSPAWNER_WALLTIME=1`` (the default).

    python benchmarks/walltime_start.py JOBENV [ROUNDS]

Run as root it moves the extension folder of JOBENV (restored at the end); use an
environment of your own, not a shared one.
"""

from __future__ import annotations

import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).parent))
from hubless import PLACEHOLDER_TOKEN, PREFIX, stand_in_hub

USER = "bench"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds ``pid`` has used so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def one_start(jobenv: Path, api_url: str, walltime: bool) -> tuple[float, float]:
    """Seconds until the server answers ``api/status``: wall clock, and its CPU time."""
    port = free_port()
    prefix = PREFIX.format(user=USER)
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": "/tmp",
        "JUPYTERHUB_API_TOKEN": PLACEHOLDER_TOKEN,
        "JUPYTERHUB_API_URL": api_url,
        "JUPYTERHUB_BASE_URL": "/",
        "JUPYTERHUB_SERVICE_PREFIX": prefix,
        "JUPYTERHUB_SERVICE_URL": f"http://127.0.0.1:{port}{prefix}",
        "JUPYTERHUB_USER": USER,
        "JUPYTERHUB_CLIENT_ID": f"jupyterhub-user-{USER}",
        "JUPYTERHUB_OAUTH_CALLBACK_URL": f"{prefix}oauth_callback",
        "JOBSPAWNER_PORT": str(port),
        "JOBSPAWNER_SERVER_HOST": "127.0.0.1",
    }
    if walltime:
        env["JOBSPAWNER_WALLTIME"] = "1"
    began = time.monotonic()
    proc = subprocess.Popen(
        [str(jobenv / "bin" / "jobspawner-singleuser"), "--ServerApp.ip=127.0.0.1", "--allow-root"],
        env=env,
        cwd="/tmp",
        stdout=subprocess.DEVNULL,
        stderr=None if os.environ.get("BENCH_DEBUG") else subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}{prefix}"
    try:
        if not _until(lambda: requests.get(base + "api/status", timeout=2).status_code < 500):
            raise RuntimeError("the server did not start")
        return time.monotonic() - began, cpu_seconds(proc.pid)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:  # not what is measured here: end it
            proc.kill()
            proc.wait()


def _until(check: object, timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():  # type: ignore[operator]
                return True
        except requests.RequestException:
            pass
        time.sleep(0.02)
    return False


def main(argv: list[str]) -> int:
    jobenv = Path(argv[1])
    rounds = int(argv[2]) if len(argv) > 2 else 10
    ext = jobenv / "share" / "jupyter" / "labextensions" / "jobspawner-walltime"
    aside = jobenv / "jobspawner-walltime.aside"
    results: dict[str, list[tuple[float, float]]] = {"without": [], "with": []}
    with stand_in_hub() as hub:
        try:
            for _ in range(rounds):
                for setup in ("without", "with"):
                    if setup == "without" and ext.exists():
                        shutil.move(str(ext), str(aside))
                    if setup == "with" and aside.exists():
                        shutil.move(str(aside), str(ext))
                    results[setup].append(one_start(jobenv, hub.api_url, setup == "with"))
        finally:
            if aside.exists():
                shutil.move(str(aside), str(ext))
    for setup, runs in results.items():
        for what, values in (("wall", [r[0] for r in runs]), ("CPU", [r[1] for r in runs])):
            print(
                f"{setup:8} {what:4} median {statistics.median(values):.3f} s  "
                f"min {min(values):.3f} s  max {max(values):.3f} s  (n={len(values)})"
            )
    return 0


if __name__ == "__main__":
    os.umask(0o022)
    sys.exit(main(sys.argv))
