"""One real JupyterHub 6 with either spawner against the real test Slurm cluster (or the
Grid Engine cell: :mod:`bench_queues`; batchspawner's ``GridengineSpawner`` there).

The hub is the tests' real-hub harness (``tests/harness/hub.py``: root hub, dummy
authenticator, configurable-http-proxy, jobs as the test users through ``runuser``). Two
spawners are configured on top of it:

``jobspawner``
    ``jobspawner.JobSpawner`` with the Slurm backend and the product's own defaults (status
    rounds every 15 s, ``poll_interval`` 300 s), running ``jobspawner-singleuser``.
``batchspawner``
    batchspawner 1.3.0's ``SlurmSpawner`` (the anchor) with its own defaults (its batch
    script with ``srun``, ``startup_poll_interval`` 0.5 s, JupyterHub's ``poll_interval``
    30 s), running ``batchspawner-singleuser jupyterhub-singleuser``.

Both get the same ``start_timeout`` and ``http_timeout`` (:data:`START_TIMEOUT`,
:data:`HTTP_TIMEOUT`) so failure times compare like with like.

batchspawner 1.3.0 on JupyterHub 6.1.1: it works unchanged. Two things are set here and
nowhere else: ``exec_prefix`` is ``runuser -u {username} --`` (its default ``sudo -E -u``
needs sudo, which these machines lack), and the hub config imports ``batchspawner`` first so
that its API handler (``/hub/api/batchspawner``, where ``batchspawner-singleuser`` reports its
port) is in JupyterHub's handler list before the app builds it. It still reads
``Spawner.db``, which JupyterHub 6 deprecates (a warning in the hub log, no failure).

The jobs' environment is the tests' (``harness.jobenv``) plus batchspawner 1.3.0 (only the
anchor's jobs use it).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from bench_queues import SLURM, Queue  # noqa: E402
from harness.hub import Hub, running_hub  # noqa: E402
from harness.jobenv import ensure_jobenv  # noqa: E402

ANCHOR_PIN = "batchspawner==1.3.0"
KINDS = ("batchspawner", "jobspawner")
START_TIMEOUT = 120
HTTP_TIMEOUT = 30


def bench_jobenv() -> Path:
    """The tests' job environment with batchspawner 1.3.0 added (readable by the users)."""
    env = ensure_jobenv()
    stamp = env / ".bench-anchor"
    if not stamp.exists() or stamp.read_text() != ANCHOR_PIN:
        subprocess.run(
            [str(env / "bin" / "python"), "-m", "pip", "install", "-q", ANCHOR_PIN],
            check=True,
            capture_output=True,
        )
        subprocess.run(["chmod", "-R", "a+rX", str(env)], check=True)
        stamp.write_text(ANCHOR_PIN)
    return env


def spawner_config(kind: str, jobenv: Path, prologue: str = "", queue: Queue = SLURM) -> str:
    """Hub configuration lines for ``kind`` (added after the harness's base config)."""
    if kind == "jobspawner":
        lines = [
            f"c.JobSpawner.start_timeout = {START_TIMEOUT}",
            f"c.JobSpawner.http_timeout = {HTTP_TIMEOUT}",
            # the product's defaults, not the test harness's faster ones
            "c.JobSpawner.startup_poll_interval = 1.0",
        ]
        if prologue:
            lines.append(f"c.JobSpawner.prologue = {prologue!r}")
        return "\n".join(lines) + "\n"
    bin_ = jobenv / "bin"
    if kind != "batchspawner":
        raise ValueError(f"unknown spawner {kind!r}: one of {', '.join(KINDS)}")
    lines = [
        "import batchspawner  # noqa: F401 - registers /hub/api/batchspawner before init",
        f"c.JupyterHub.spawner_class = {queue.anchor_class!r}",
        'c.BatchSpawnerBase.exec_prefix = "runuser -u {username} --"',
        "c.BatchSpawnerBase.batchspawner_singleuser_cmd = "
        + repr(str(bin_ / "batchspawner-singleuser")),
        f"c.BatchSpawnerBase.cmd = [{str(bin_ / 'jupyterhub-singleuser')!r}]",
        f"c.BatchSpawnerBase.start_timeout = {START_TIMEOUT}",
        f"c.BatchSpawnerBase.http_timeout = {HTTP_TIMEOUT}",
    ]
    if prologue:
        lines.append(f"c.BatchSpawnerBase.req_prologue = {prologue!r}")
    return "\n".join(lines) + "\n" + queue.anchor_extra()


@contextmanager
def hub_with(
    kind: str, workdir: Path, prologue: str = "", extra: str = "", queue: Queue = SLURM
) -> Iterator[Hub]:
    """A running hub with ``kind``'s spawner on ``queue``'s test cluster (already started)."""
    jobenv = bench_jobenv()
    workdir.mkdir(parents=True, exist_ok=True)
    config = spawner_config(kind, jobenv, prologue, queue) + extra
    options = queue.hub_options()
    env = {"PATH": os.environ.get("PATH", "") + ":/usr/sbin:/sbin", **options["env"]}
    with running_hub(
        workdir,
        backend=queue.backend,
        config=config,
        env=env,
        backend_options=options["backend_options"],
    ) as hub:
        yield hub


def job_id(hub: Hub, user: str) -> str:
    """The Slurm job id of ``user``'s default server (both spawners keep it in their state)."""
    return str(hub.spawner_state(user).get("job_id") or "")
