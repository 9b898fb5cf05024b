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

Accounting is on, as at most sites: ``slurmdbd`` on its own MariaDB server (a data folder
in the harness folder, kept between sessions; the server listens on loopback only, the
``slurm`` database user has a random password made at each start). Finished jobs leave
``squeue`` :data:`MIN_JOB_AGE` seconds after they end, at slurmctld's next purge (every
10 s with a MinJobAge under a minute); ``sacct`` tells how they ended from then on. Tests
read a job's end from accounting (:func:`slurm.accounting.accounted_state`), never race
the purge with ``squeue -t all``.

A second cluster, :data:`SECOND` (:func:`start_second`), registers with the same slurmdbd:
its own slurmctld and slurmd (configuration, ports, state and spool folders of its own in
``<harness>/<name>``) on this host, reached with ``-M``/``--clusters`` as at multi-cluster
sites. Its node has the same name as the first cluster's: each slurmd reads its own
configuration, and node names are per cluster.

Run by hand: ``python tests/slurm/cluster.py up|down|status``.
"""

from __future__ import annotations

import contextlib
import functools
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
from slurm import accounting

HARNESS_DIR = Path(os.environ.get("JOBSPAWNER_SLURM_HARNESS", "/tmp/jobspawner-slurm"))
#: Where slurm.conf and slurmdbd.conf go. Another folder (``JOBSPAWNER_SLURM_CONF_DIR``)
#: with another port base (``JOBSPAWNER_SLURM_PORT_BASE``) keeps a session apart from a
#: cluster someone else runs on the same machine: importing this module then sets
#: ``SLURM_CONF`` for this process and what it starts (the scheduler commands keep it,
#: the test sshd passes it on).
CONF_DIR = Path(os.environ.get("JOBSPAWNER_SLURM_CONF_DIR", "/etc/slurm"))
PORT_BASE = int(os.environ.get("JOBSPAWNER_SLURM_PORT_BASE", "6817"))
if Path("/etc/slurm") != CONF_DIR:  # at import: before any fixture starts an sshd or a hub
    os.environ["SLURM_CONF"] = str(CONF_DIR / "slurm.conf")
CPUS = 8
MEMORY_MB = 16000
GPUS = 2
MIN_JOB_AGE = 2
#: A munged of the cluster's own (:func:`munge_socket`, ``AuthInfo`` in slurm.conf and
#: slurmdbd.conf) instead of the host's shared one in /run/munge, which another session may
#: run and stop: set before :func:`start` by the real-Slurm benchmark, which measures
#: munged's CPU (benchmarks/status_load_real.py). Off by default.
OWN_MUNGE = False
DAEMONS = (
    "slurmctld", "slurmd", "slurmdbd", "munged", "sbatch", "squeue", "scancel", "sinfo",
    "sacct", "sacctmgr", "mariadbd", "mariadb-install-db", "mariadb",
)  # fmt: skip
NAME = "jobspawner"
SECOND = "jobspawner2"
#: slurmctld and slurmd ports of each cluster; slurmdbd's; the database's (loopback).
PORTS = {NAME: (PORT_BASE, PORT_BASE + 1), SECOND: (PORT_BASE + 10, PORT_BASE + 11)}
DBD_PORT = PORT_BASE + 2
DB_PORT = PORT_BASE + 20

PARTITIONS = {
    "debug": "Default=YES MaxTime=02:00:00 DefaultTime=01:00:00 State=UP",
    "long": "Default=NO MaxTime=2-00:00:00 DefaultTime=04:00:00 State=UP",
    "closed": "Default=NO MaxTime=01:00:00 State=DOWN",
}


def login_env() -> dict[str, str]:
    """What a login node's commands need to reach this cluster (``ssh_env``): its
    slurm.conf when it is not /etc/slurm's."""
    return {"SLURM_CONF": os.environ["SLURM_CONF"]} if Path("/etc/slurm") != CONF_DIR else {}


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


def slurm_conf(host: str, harness: Path = HARNESS_DIR, name: str = NAME) -> str:
    """The slurm.conf text for the single-node cluster ``name`` on ``host`` (its files in
    ``harness``: the first cluster's own, the second's ``harness/<name>``)."""
    ctld_port, slurmd_port = PORTS[name]
    gres = f"Gres=gpu:fake:{GPUS}"
    first = harness.parent if name != NAME else harness
    jwt = _auth_info(first) + _jwt(first)
    parts = "\n".join(f"PartitionName={n} Nodes={host} {p}" for n, p in PARTITIONS.items())
    return f"""\
# Written by jobspawner tests/slurm/cluster.py: single-node test cluster.
ClusterName={name}
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
SlurmctldPort={ctld_port}
SlurmdPort={slurmd_port}
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
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=127.0.0.1
AccountingStoragePort={DBD_PORT}
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


def _run(
    argv: list[str], timeout: float = 15, conf: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a Slurm client (of the cluster whose slurm.conf is ``conf``, default the first)."""
    env = {**os.environ, "SLURM_CONF": str(conf)} if conf else None
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env)


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
    name: str = NAME
    conf: Path = CONF_DIR / "slurm.conf"
    partitions: tuple[str, ...] = tuple(PARTITIONS)
    cpus: int = CPUS
    memory_mb: int = MEMORY_MB
    gpus: int = GPUS

    def squeue_ids(self) -> list[str]:
        out = _run(["squeue", "-h", "-o", "%i"], conf=self.conf).stdout
        return out.split()

    def cancel_all(self, timeout: float = 20.0) -> None:
        """Cancel every job and wait until none is active (pending/running/completing)."""
        ids = self.squeue_ids()
        if ids:
            _run(["scancel", *ids], conf=self.conf)
        deadline = time.monotonic() + timeout
        active = ["squeue", "-h", "-t", "PD,R,CG,S,ST,CF", "-o", "%i"]
        while time.monotonic() < deadline:
            if not _run(active, conf=self.conf).stdout.strip():
                return
            time.sleep(0.2)

    def log_tail(self, lines: int = 30) -> str:
        out = []
        for name in ("slurmctld.log", "slurmd.log", "slurmdbd.log", "mariadb-run/mariadb.log"):
            path = self.harness / name
            if path.exists():
                out.append(f"--- {path}\n" + "\n".join(path.read_text().splitlines()[-lines:]))
        return "\n".join(out)


def munge_socket(harness: Path = HARNESS_DIR) -> Path:
    """The socket of the cluster's own munged (:data:`OWN_MUNGE`)."""
    return harness / "munge" / "munge.socket"


def _auth_info(harness: Path) -> str:
    """The slurm.conf/slurmdbd.conf line that points munge clients at the cluster's own
    munged (:data:`OWN_MUNGE`), else nothing."""
    return f"AuthInfo=socket={munge_socket(harness)}\n" if OWN_MUNGE else ""


def _launch_munged(
    harness: Path, started: dict[str, int], pid_file: Path, options: list[str], socket: Path | None
) -> None:
    """Start munged as user ``munge`` with ``options`` (its log in ``harness/munge``), record
    its pid, and check that a credential made on ``socket`` (default: the system's) decodes."""
    folder = harness / "munge"
    folder.mkdir(exist_ok=True)
    shutil.chown(folder, "munge", "munge")
    folder.chmod(0o755)
    argv = ["runuser", "-u", "munge", "--", _which("munged"), "--force",
            f"--pid-file={pid_file}", f"--log-file={folder}/munged.log", *options]  # fmt: skip
    res = _run(argv)
    if res.returncode != 0:
        raise ClusterError(f"munged failed to start: {res.stderr.strip()}")
    for _ in range(50):
        pid = _read_pid(pid_file)
        if pid:
            started["munged"] = pid
            (harness / "munged.pid").write_text(f"{pid}\n")
            break
        time.sleep(0.1)
    on = ["-S", str(socket)] if socket else []
    check = subprocess.run(
        ["sh", "-c", 'munge -n "$@" | unmunge "$@"', "sh", *on], capture_output=True, text=True
    )
    if check.returncode != 0:
        where = f" on {socket}" if socket else ""
        raise ClusterError(f"munge{where} does not work: {check.stderr.strip()}")


def _start_own_munge(harness: Path, started: dict[str, int]) -> None:
    """munged (as user ``munge``) on :func:`munge_socket`, its pid, seed and log files in
    ``harness/munge``; one left by an interrupted session of this harness is stopped first."""
    folder = harness / "munge"
    pid_file = folder / "munged.pid"
    _stop_pid(_read_pid(pid_file), "munged")
    socket_path = munge_socket(harness)
    options = [f"--socket={socket_path}", f"--seed-file={folder}/munged.seed"]
    _launch_munged(harness, started, pid_file, options, socket_path)


def _start_munge(harness: Path, started: dict[str, int]) -> None:
    key = Path("/etc/munge/munge.key")
    if not key.exists() or key.stat().st_size == 0:
        _run([_which("mungekey"), "--create", f"--keyfile={key}"])
    shutil.chown(key, "munge", "munge")
    key.chmod(0o400)
    if OWN_MUNGE:
        _start_own_munge(harness, started)
        return
    run_dir = Path("/run/munge")
    run_dir.mkdir(parents=True, exist_ok=True)
    shutil.chown(run_dir, "munge", "munge")
    run_dir.chmod(0o755)
    if _alive(_read_pid(run_dir / "munged.pid")) and _run(["munge", "-n"]).returncode == 0:
        return  # someone else's munged works: use it, leave it running
    (run_dir / "munged.pid").unlink(missing_ok=True)
    _launch_munged(harness, started, run_dir / "munged.pid", [], None)


def _jwt(harness: Path) -> str:
    """The slurm.conf/slurmdbd.conf lines that turn JWT authentication on (when installed)."""
    if not jwt_available():
        return ""
    return f"AuthAltTypes=auth/jwt\nAuthAltParameters=jwt_key={harness}/jwt_hs256.key\n"


def _jwt_key(harness: Path) -> None:
    """The HS256 key slurmctld signs and checks JWTs with (``scontrol token``, slurmrestd):
    random, 0600, read only by slurmctld (SlurmUser root). Kept across restarts."""
    key = harness / "jwt_hs256.key"
    if not key.exists() or key.stat().st_size < 32:
        key.touch(mode=0o600)
        key.write_bytes(os.urandom(64))
    key.chmod(0o600)


def _spawn(harness: Path, name: str, argv: list[str], started: dict[str, int]) -> int:
    out = open(harness / f"{name}.out", "ab")  # noqa: SIM115 - the daemon keeps it open
    proc = subprocess.Popen(
        argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
    )
    out.close()
    started[name] = proc.pid
    (harness / f"{name}.pid").write_text(f"{proc.pid}\n")
    return proc.pid


#: The daemons a cluster's session starts, in the order they stop.
STOP_ORDER = ("slurmd", "slurmctld", "slurmdbd", "mariadbd", "munged")


def stop_stale(harness: Path = HARNESS_DIR) -> None:
    """Stop daemons left running by an earlier, interrupted test session (our pidfiles:
    the second cluster's first, then the first's and the accounting daemons)."""
    for folder, conf in ((harness / SECOND, harness / SECOND / "slurm.conf"), (harness, None)):
        for name in STOP_ORDER[:-1]:
            pid = _read_pid(folder / f"{name}.pid")
            if _alive(pid):
                if name == "slurmd" and _alive(_read_pid(folder / "slurmctld.pid")):
                    ids = _run(["squeue", "-h", "-o", "%i"], timeout=5, conf=conf).stdout.split()
                    if ids:
                        _run(["scancel", *ids], timeout=5, conf=conf)
                _stop_pid(pid, name)
            (folder / f"{name}.pid").unlink(missing_ok=True)


def start(harness: Path = HARNESS_DIR, timeout: float = 60.0) -> Cluster:
    """Write the configuration, start munge, the accounting (MariaDB, slurmdbd) and the
    first cluster's daemons, and wait until its node is idle."""
    for prog in ("slurmctld", "slurmd", "slurmdbd", "munged", "mariadbd"):
        _which(prog)
    host = hostname()
    harness.mkdir(parents=True, exist_ok=True)
    harness.chmod(0o755)
    stop_stale(harness)
    started: dict[str, int] = {}
    cluster = Cluster(host=host, harness=harness, started=started)
    _start_munge(harness, started)
    _jwt_key(harness)
    _write_conf(cluster)  # sacctmgr finds slurmdbd through it
    try:
        spawn = functools.partial(_spawn, harness, started=started)
        password = accounting.start_database(harness, DB_PORT, spawn)
        dbd_conf = accounting.slurmdbd_conf(
            harness, DB_PORT, DBD_PORT, password, _auth_info(harness) + _jwt(harness)
        )
        accounting.start_slurmdbd(
            harness, CONF_DIR / "slurmdbd.conf", dbd_conf, (NAME, SECOND), spawn
        )
    except accounting.AccountingError:
        stop(cluster)
        raise
    _start_daemons(cluster, timeout)
    return cluster


def start_second(first: Cluster, timeout: float = 60.0) -> Cluster:
    """Start the second cluster (:data:`SECOND`) on the first one's slurmdbd and munge."""
    harness = first.harness / SECOND
    harness.mkdir(parents=True, exist_ok=True)
    harness.chmod(0o755)
    cluster = Cluster(host=first.host, harness=harness, name=SECOND, conf=harness / "slurm.conf")
    _start_daemons(cluster, timeout)
    return cluster


def _write_conf(cluster: Cluster) -> None:
    """The cluster's slurm.conf and gres.conf, its state and spool folders, its fake GPUs."""
    harness = cluster.harness
    for sub in ("state", "spool"):
        (harness / sub).mkdir(exist_ok=True)
    cluster.conf.parent.mkdir(parents=True, exist_ok=True)
    cluster.conf.write_text(slurm_conf(cluster.host, harness, cluster.name))
    for i in range(GPUS):
        (harness / f"fakegpu{i}").touch()
    gres = cluster.conf.parent / "gres.conf"
    gres.write_text(gres_conf(cluster.host, harness))
    for f in (cluster.conf, gres):
        f.chmod(0o644)


def _start_daemons(cluster: Cluster, timeout: float) -> None:
    """Write the cluster's slurm.conf and gres.conf, start its slurmctld and slurmd (with
    that configuration) and wait until its node is idle."""
    harness, host, started = cluster.harness, cluster.host, cluster.started
    _write_conf(cluster)
    conf = ["-f", str(cluster.conf)]
    _spawn(harness, "slurmctld", [_which("slurmctld"), "-D", "-i", "-c", *conf], started)
    deadline = time.monotonic() + timeout
    while "UP" not in _run(["scontrol", "ping"], timeout=10, conf=cluster.conf).stdout:
        if not _alive(started["slurmctld"]) or time.monotonic() > deadline:
            stop(cluster)
            raise ClusterError(f"slurmctld did not come up\n{cluster.log_tail()}")
        time.sleep(0.2)
    _spawn(harness, "slurmd", [_which("slurmd"), "-D", *conf], started)
    state = ""
    while True:
        out = _run(["sinfo", "-h", "-N", "-n", host, "-o", "%T"], conf=cluster.conf).stdout
        state = out.strip().splitlines()[0] if out.strip() else ""
        if state in ("idle", "mixed", "allocated"):
            return
        if state.startswith("inval"):
            stop(cluster)
            raise ClusterError(f"node {host} is INVAL (bad config)\n{cluster.log_tail()}")
        if state.startswith(("down", "drain")):
            _run(["scontrol", "update", f"nodename={host}", "state=resume"], conf=cluster.conf)
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
    for name in STOP_ORDER:
        pid = cluster.started.pop(name, None)
        if pid is None:
            continue  # not ours (e.g. a munged that was already running): leave it
        _stop_pid(pid, name)
        (cluster.harness / f"{name}.pid").unlink(missing_ok=True)


def main(argv: list[str]) -> int:
    cmd = argv[1] if len(argv) > 1 else "status"
    if cmd == "up":
        c = start()
        second = start_second(c)
        print(f"slurm up on {c.host}: pids {c.started}, {SECOND}: {second.started}")
        print(_run(["sinfo", f"--clusters={NAME},{SECOND}"]).stdout)
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
