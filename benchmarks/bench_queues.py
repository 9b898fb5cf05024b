"""The schedulers the real-hub benchmarks run on: start the test cluster, read a user's jobs,
submit the hub-less floor job, and the hub configuration each spawner needs there.

Slurm is the tests' single-node Slurm (``tests/slurm/cluster.py``); Grid Engine is the tests'
single-host Son of Grid Engine cell (``tests/sge/cluster.py``). Both are started and stopped
by the benchmark (hold ``/tmp/jobspawner-cluster.lock`` around it).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SGE_ENV = {"SGE_ROOT": "/var/lib/gridengine", "SGE_CELL": "default"}


@dataclass(frozen=True)
class Queue:
    """One scheduler as the benchmarks see it."""

    name: str  # "slurm" or "sge"
    backend: str  # jobspawner's backend
    anchor_class: str  # batchspawner's spawner class

    @property
    def env(self) -> dict[str, str]:
        return dict(SGE_ENV) if self.name == "sge" else {}

    def run(self, argv: list[str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            argv,
            input=stdin,
            capture_output=True,
            text=True,
            env={**os.environ, **self.env},
            cwd="/",
        )

    def jobs(self, user: str) -> dict[str, bool]:
        """The user's jobs in the queue: id -> running."""
        if self.name == "slurm":
            out = self.run(["squeue", "-h", "-u", user, "-o", "%i %T"]).stdout
            return {p[0]: p[1] == "RUNNING" for p in (ln.split() for ln in out.splitlines()) if p}
        out = self.run(["qstat", "-u", user]).stdout
        rows = [ln.split() for ln in out.splitlines()[2:] if ln.split()]
        return {r[0]: len(r) > 4 and r[4] == "r" for r in rows}

    def submit_as(self, user: str, command: str) -> str:
        """Submit ``command`` as ``user`` (output discarded); the job id."""
        if self.name == "slurm":
            argv = ["sbatch", "--parsable", "-o", "/dev/null", "--chdir", f"/home/{user}"]
            proc = self.run(["runuser", "-u", user, "--", *argv, "--wrap", command])
        else:
            argv = ["qsub", "-terse", "-o", "/dev/null", "-j", "y", "-S", "/bin/bash"]
            proc = self.run(["runuser", "-u", user, "--", *argv], stdin=f"exec {command}\n")
        if proc.returncode:
            raise RuntimeError(f"submitting as {user} failed: {proc.stderr.strip()}")
        return proc.stdout.strip().split(";")[0].split(".")[0]

    def first_job(self, user: str) -> str:
        """The user's first job in the queue ("" when none; runs start from an empty queue)."""
        return next(iter(self.jobs(user)), "")

    def job_pids(self, job_id: str) -> list[int]:
        """The processes of a running job (its batch shell and everything it started), not
        the scheduler's own (Slurm's slurmstepd, Grid Engine's shepherd)."""
        if self.name == "slurm":
            out = self.run(["scontrol", "listpids", job_id]).stdout
            rows = (line.split() for line in out.splitlines()[1:])
            return [int(r[0]) for r in rows if r and r[0].isdigit()]
        # Grid Engine: the descendants of the job's shepherd. Its command line does not name
        # the job (``sge_shepherd -bg``), but it runs in the job's folder of the execd's spool
        # (``.../active_jobs/<id>.<task>``).
        out = self.run(["ps", "-e", "-o", "pid=,ppid=,args="]).stdout
        rows = [line.split(None, 2) for line in out.splitlines() if line.strip()]
        children: dict[int, list[int]] = {}
        roots: list[int] = []
        for row in rows:
            pid, ppid = int(row[0]), int(row[1])
            children.setdefault(ppid, []).append(pid)
            program = row[2].split()[0] if len(row) > 2 else ""
            if os.path.basename(program).startswith("sge_shepherd"):
                with contextlib.suppress(OSError):
                    folder = os.readlink(f"/proc/{pid}/cwd")
                    if os.path.basename(folder).split(".")[0] == job_id:
                        roots.append(pid)
        found: list[int] = []
        todo = [c for root in roots for c in children.get(root, [])]
        while todo:
            pid = todo.pop()
            found.append(pid)
            todo += children.get(pid, [])
        return found

    def kill_job_processes(self, job_id: str) -> None:
        """SIGKILL every process of the job at once (batch shell, launcher, server): the
        server says nothing, as when the OOM killer or a node's crash ends it."""
        pids = [str(p) for p in self.job_pids(job_id)]
        if pids:
            subprocess.run(["kill", "-KILL", *pids], check=False, capture_output=True)

    def cancel(self, job_id: str) -> None:
        self.run(["scancel", job_id] if self.name == "slurm" else ["qdel", "-f", job_id])

    def hub_options(self) -> dict[str, Any]:
        """What the hub needs: jobspawner's backend options, the hub's extra environment."""
        if self.name == "slurm":
            return {"backend_options": {}, "env": {}}
        return {
            "backend_options": {"sge_root": SGE_ENV["SGE_ROOT"], "sge_cell": SGE_ENV["SGE_CELL"]},
            "env": dict(SGE_ENV),
        }

    def anchor_extra(self) -> str:
        """Config lines batchspawner needs on this scheduler (besides the shared ones)."""
        if self.name == "slurm":
            return ""
        # batchspawner runs qsub with its own get_env() only: the cell's variables must be in
        # env_keep (they then also reach the job, through its `#$ -v` line)
        keep = ["PATH", "LANG", "LC_ALL", "JUPYTERHUB_SINGLEUSER_APP", *SGE_ENV]
        return f"c.GridengineSpawner.env_keep = {keep!r}\n"


SLURM = Queue("slurm", "slurm", "batchspawner.SlurmSpawner")
SGE = Queue("sge", "sge", "batchspawner.GridengineSpawner")
QUEUES = {"slurm": SLURM, "sge": SGE}


@contextmanager
def cluster(queue: Queue, cpus: int = 0) -> Iterator[Any]:
    """The test cluster of ``queue``, started here and stopped afterwards; yields an object
    with ``cancel_all()``."""
    if queue.name == "slurm":
        from slurm import cluster as slurm_cluster

        if cpus:
            slurm_cluster.CPUS = max(slurm_cluster.CPUS, cpus)
        running = slurm_cluster.start()
        try:
            yield running
        finally:
            slurm_cluster.stop(running)
        return
    from sge.cluster import SgeCluster

    with tempfile.TemporaryDirectory(prefix="hubbench-sge-") as tmp:
        cell = SgeCluster(Path(tmp), slots=max(cpus, 4))
        cell.start()
        cell.cancel_all = cell.delete_all  # type: ignore[attr-defined]
        try:
            yield cell
        finally:
            cell.stop()
