"""A real single-node Slurm (Debian's slurm-wlm 22.05) for the tests, started and stopped here.

:func:`start` writes ``/etc/slurm/slurm.conf`` (and ``gres.conf``), starts ``munged`` (as user
``munge``), ``slurmctld`` and ``slurmd`` (as root, in the foreground under our own process
handles), and waits until the node is idle. :func:`stop` cancels every job and stops each
daemon it started, by PID. The node is this host (``hostname -s``, reached on 127.0.0.1)
with :data:`CPUS` over-declared CPUs, so several one-CPU notebook jobs run at once on a
2-core machine, and a fake GPU GRES so ``--gres``/``--gpus`` can be scheduled.

Partitions: ``debug`` (default, 2 h limit), ``long`` (2 days) and ``closed`` (state DOWN:
jobs queue there and stay pending with reason ``PartitionDown``).

JWT authentication is on when Slurm's auth/jwt plugin is installed (``AuthAltTypes=auth/jwt``,
a random key in the harness folder) for ``scontrol token`` and slurmrestd (tests/slurmrestd);
munge stays the main authentication.

Accounting is off (``accounting_storage/none``), as on many small sites: ``sacct`` fails and
finished jobs stay visible to ``squeue -t all`` for ``MinJobAge`` seconds.

Run by hand: ``python tests/slurm/cluster.py up|down|status``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

if __package__ in (None, ""):  # run as a script: python tests/slurm/cluster.py up|down
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from harness.daemons import alive, read_pid

HARNESS_DIR = Path(os.environ.get("JOBSPAWNER_SLURM_HARNESS", "/tmp/jobspawner-slurm"))
CONF_DIR = Path("/etc/slurm")
CPUS = 8
MEMORY_MB = 16000
GPUS = 2
MIN_JOB_AGE = 300
DAEMONS = ("slurmctld", "slurmd", "munged", "sbatch", "squeue", "scancel", "sinfo")

PARTITIONS = {
    "debug": "Default=YES MaxTime=02:00:00 DefaultTime=01:00:00 State=UP",
    "long": "Default=NO MaxTime=2-00:00:00 DefaultTime=04:00:00 State=UP",
    "closed": "Default=NO MaxTime=01:00:00 State=DOWN",
}


class ClusterError(RuntimeError):
    """The test cluster could not be started; the message says which daemon and its log."""


def missing_programs() -> list[str]:
    """The Slurm/munge programs that are not installed (empty when all are there)."""
    paths = os.environ.get("PATH", "") + ":/usr/sbin:/sbin"
    return [p for p in DAEMONS if shutil.which(p, path=paths) is None]


def _which(name: str) -> str:
    found = shutil.which(name, path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin")
    if found is None:
        raise ClusterError(f"{name} is not installed (run .ci/install-slurm.sh)")
    return found


def jwt_available() -> bool:
    """Whether Slurm's auth/jwt plugin is installed (Debian's slurm-wlm-jwt-plugin): only
    then does slurm.conf turn JWT authentication on (slurmctld refuses to start otherwise)."""
    return any(Path("/usr/lib").glob("*/slurm-wlm/auth_jwt.so")) or any(
        Path("/usr/lib64/slurm").glob("auth_jwt.so")
    )


def hostname() -> str:
    return socket.gethostname().split(".")[0]


def slurm_conf(host: str, harness: Path = HARNESS_DIR) -> str:
    """The slurm.conf text for a single-node cluster on ``host``."""
    gres = f"Gres=gpu:fake:{GPUS}"
    jwt = (
        f"AuthAltTypes=auth/jwt\nAuthAltParameters=jwt_key={harness}/jwt_hs256.key\n"
        if jwt_available()
        else ""
    )
    parts = "\n".join(f"PartitionName={n} Nodes={host} {p}" for n, p in PARTITIONS.items())
    return f"""\
# Written by jobspawner tests/slurm/cluster.py: single-node test cluster.
ClusterName=jobspawner
SlurmctldHost={host}(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
{jwt}CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
ReturnToService=2
SlurmctldPidFile={harness}/slurmctld.daemon.pid
SlurmdPidFile={harness}/slurmd.daemon.pid
SlurmctldPort=6817
SlurmdPort=6818
StateSaveLocation={harness}/state
SlurmdSpoolDir={harness}/spool
SlurmctldLogFile={harness}/slurmctld.log
SlurmdLogFile={harness}/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=2,bf_interval=2
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=256
GresTypes=gpu
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MinJobAge={MIN_JOB_AGE}
InactiveLimit=0
KillWait=5
SlurmctldTimeout=60
SlurmdTimeout=120
SlurmdParameters=config_overrides
NodeName={host} NodeAddr=127.0.0.1 CPUs={CPUS} RealMemory={MEMORY_MB} {gres} State=UNKNOWN
{parts}
"""


def gres_conf(host: str, harness: Path = HARNESS_DIR) -> str:
    """Fake GPUs: slurmd counts GRES by their device files, plain files will do."""
    return f"NodeName={host} Name=gpu Type=fake File={harness}/fakegpu[0-{GPUS - 1}]\n"


_alive = alive
_read_pid = read_pid


def _run(argv: list[str], timeout: float = 15, **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, **kw)  # type: ignore[call-overload,no-any-return]


def _stop_pid(pid: int | None, name: str, wait: float = 10.0) -> None:
    if not _alive(pid):
        return
    assert pid is not None
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if not _alive(pid):
            return
        time.sleep(0.1)
    os.kill(pid, signal.SIGKILL)


@dataclass
class Cluster:
    """A running test cluster: what it is and which daemons this process started."""

    host: str
    harness: Path
    started: dict[str, int] = field(default_factory=dict)
    partitions: tuple[str, ...] = tuple(PARTITIONS)
    cpus: int = CPUS
    memory_mb: int = MEMORY_MB
    gpus: int = GPUS

    def squeue_ids(self) -> list[str]:
        out = _run(["squeue", "-h", "-o", "%i"]).stdout
        return out.split()

    def cancel_all(self, timeout: float = 20.0) -> None:
        """Cancel every job and wait until none is active (pending/running/completing)."""
        ids = self.squeue_ids()
        if ids:
            _run(["scancel", *ids])
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not _run(["squeue", "-h", "-t", "PD,R,CG,S,ST,CF", "-o", "%i"]).stdout.strip():
                return
            time.sleep(0.2)

    def log_tail(self, lines: int = 30) -> str:
        out = []
        for name in ("slurmctld.log", "slurmd.log"):
            path = self.harness / name
            if path.exists():
                out.append(f"--- {path}\n" + "\n".join(path.read_text().splitlines()[-lines:]))
        return "\n".join(out)


def _start_munge(harness: Path, started: dict[str, int]) -> None:
    key = Path("/etc/munge/munge.key")
    if not key.exists() or key.stat().st_size == 0:
        _run([_which("mungekey"), "--create", f"--keyfile={key}"])
    shutil.chown(key, "munge", "munge")
    key.chmod(0o400)
    run_dir = Path("/run/munge")
    run_dir.mkdir(parents=True, exist_ok=True)
    shutil.chown(run_dir, "munge", "munge")
    run_dir.chmod(0o755)
    if _alive(_read_pid(run_dir / "munged.pid")) and _run(["munge", "-n"]).returncode == 0:
        return  # someone else's munged works: use it, leave it running
    (run_dir / "munged.pid").unlink(missing_ok=True)
    log_dir = harness / "munge"
    log_dir.mkdir(exist_ok=True)
    shutil.chown(log_dir, "munge", "munge")
    res = _run(
        [
            "runuser",
            "-u",
            "munge",
            "--",
            _which("munged"),
            "--force",
            f"--log-file={log_dir}/munged.log",
            f"--pid-file={run_dir}/munged.pid",
        ]
    )
    if res.returncode != 0:
        raise ClusterError(f"munged failed to start: {res.stderr.strip()}")
    for _ in range(50):
        pid = _read_pid(run_dir / "munged.pid")
        if pid:
            started["munged"] = pid
            (harness / "munged.pid").write_text(f"{pid}\n")
            break
        time.sleep(0.1)
    check = subprocess.run("munge -n | unmunge", shell=True, capture_output=True, text=True)
    if check.returncode != 0:
        raise ClusterError(f"munge does not work: {check.stderr.strip()}")


def _jwt_key(harness: Path) -> None:
    """The HS256 key slurmctld signs and checks JWTs with (``scontrol token``, slurmrestd):
    random, 0600, read only by slurmctld (SlurmUser root). Kept across restarts."""
    key = harness / "jwt_hs256.key"
    if not key.exists() or key.stat().st_size < 32:
        key.touch(mode=0o600)
        key.write_bytes(os.urandom(64))
    key.chmod(0o600)


def _spawn(harness: Path, name: str, argv: list[str], started: dict[str, int]) -> None:
    out = open(harness / f"{name}.out", "ab")  # noqa: SIM115 - the daemon keeps it open
    proc = subprocess.Popen(
        argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
    )
    out.close()
    started[name] = proc.pid
    (harness / f"{name}.pid").write_text(f"{proc.pid}\n")


def stop_stale(harness: Path = HARNESS_DIR) -> None:
    """Stop daemons left running by an earlier, interrupted test session (our pidfiles)."""
    for name in ("slurmd", "slurmctld"):
        pid = _read_pid(harness / f"{name}.pid")
        if _alive(pid):
            if name == "slurmd" and _alive(_read_pid(harness / "slurmctld.pid")):
                ids = _run(["squeue", "-h", "-o", "%i"], timeout=5).stdout.split()
                if ids:
                    _run(["scancel", *ids], timeout=5)
            _stop_pid(pid, name)
        (harness / f"{name}.pid").unlink(missing_ok=True)


def start(harness: Path = HARNESS_DIR, timeout: float = 60.0) -> Cluster:
    """Write the configuration, start the daemons and wait until the node is idle."""
    for prog in ("slurmctld", "slurmd", "munged"):
        _which(prog)
    host = hostname()
    harness.mkdir(parents=True, exist_ok=True)
    harness.chmod(0o755)
    for sub in ("state", "spool"):
        (harness / sub).mkdir(exist_ok=True)
    stop_stale(harness)
    started: dict[str, int] = {}
    _start_munge(harness, started)

    _jwt_key(harness)
    CONF_DIR.mkdir(parents=True, exist_ok=True)
    (CONF_DIR / "slurm.conf").write_text(slurm_conf(host, harness))
    for i in range(GPUS):
        (harness / f"fakegpu{i}").touch()
    (CONF_DIR / "gres.conf").write_text(gres_conf(host, harness))
    for f in ("slurm.conf", "gres.conf"):
        (CONF_DIR / f).chmod(0o644)

    cluster = Cluster(host=host, harness=harness, started=started)
    _spawn(harness, "slurmctld", [_which("slurmctld"), "-D", "-i", "-c"], started)
    deadline = time.monotonic() + timeout
    while "UP" not in _run(["scontrol", "ping"], timeout=10).stdout:
        if not _alive(started["slurmctld"]) or time.monotonic() > deadline:
            stop(cluster)
            raise ClusterError(f"slurmctld did not come up\n{cluster.log_tail()}")
        time.sleep(0.2)
    _spawn(harness, "slurmd", [_which("slurmd"), "-D"], started)
    state = ""
    while True:
        state = _run(["sinfo", "-h", "-N", "-n", host, "-o", "%T"]).stdout.strip()
        state = state.splitlines()[0] if state else ""
        if state in ("idle", "mixed", "allocated"):
            return cluster
        if state.startswith("inval"):
            stop(cluster)
            raise ClusterError(f"node {host} is INVAL (bad config)\n{cluster.log_tail()}")
        if state.startswith(("down", "drain")):
            _run(["scontrol", "update", f"nodename={host}", "state=resume"])
        if not _alive(started["slurmd"]) or time.monotonic() > deadline:
            stop(cluster)
            raise ClusterError(
                f"node {host} never became idle (state {state!r})\n{cluster.log_tail()}"
            )
        time.sleep(0.2)


def stop(cluster: Cluster) -> None:
    """Cancel every job, then stop the daemons this process started (slurmd first)."""
    if _alive(cluster.started.get("slurmctld")):
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            cluster.cancel_all(timeout=15)
    for name in ("slurmd", "slurmctld", "munged"):
        pid = cluster.started.pop(name, None)
        if pid is None:
            continue  # not ours (e.g. a munged that was already running): leave it
        _stop_pid(pid, name)
        (cluster.harness / f"{name}.pid").unlink(missing_ok=True)


def main(argv: list[str]) -> int:
    cmd = argv[1] if len(argv) > 1 else "status"
    if cmd == "up":
        c = start()
        print(f"slurm up on {c.host}: pids {c.started}")
        print(_run(["sinfo"]).stdout)
    elif cmd == "down":
        stop_stale()
        munged = _read_pid(HARNESS_DIR / "munged.pid")
        _stop_pid(munged, "munged")
        (HARNESS_DIR / "munged.pid").unlink(missing_ok=True)
    else:
        print(_run(["sinfo"]).stdout or "slurm is down")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
