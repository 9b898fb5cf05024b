"""Slurm accounting for the test clusters: a MariaDB server and ``slurmdbd``, started and
stopped by :mod:`slurm.cluster`, and reading a job's end from accounting.

The database server runs as ``mysql`` on loopback (:data:`cluster.DB_PORT`) with its data
folder in the harness folder, made once (``mariadb-install-db``) and kept between sessions,
so a session's start costs a server start, not a new server. The accounting database is
dropped at each start: the controllers start clean too (job ids from 1 again), and an old
session's job 1 must not answer for this one's. The ``slurm`` database user
gets a new random password at each start; only root reads it (``slurmdbd.conf``, 0600).
slurmdbd runs as root (``SlurmUser=root``, as slurmctld) and both test clusters are
registered with it (``sacctmgr add cluster``) before their controllers start.
"""

from __future__ import annotations

import secrets
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from harness.daemons import alive

#: Starts a daemon under the harness's handles and records its pid: (name, argv) -> pid.
Spawn = Callable[[str, list[str]], int]


class AccountingError(RuntimeError):
    """MariaDB or slurmdbd did not come up; the message says which, with its log's tail."""


def _run(argv: list[str], timeout: float = 15) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout)


def _tail(path: Path, lines: int = 20) -> str:
    if not path.exists():
        return f"({path} is missing)"
    return f"--- {path}\n" + "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def _wait(
    ready: Callable[[], bool], running: Callable[[], bool], what: str, log: Path, timeout: float
) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if not running() or time.monotonic() > deadline:
            raise AccountingError(f"{what} did not come up in {timeout:g} s\n{_tail(log)}")
        time.sleep(0.1)


def database_folder(harness: Path) -> Path:
    """MariaDB's data folder: made on first use (a few seconds), then kept."""
    data = harness / "mariadb"
    if not (data / "mysql").is_dir():
        shutil.rmtree(data, ignore_errors=True)
        data.mkdir(parents=True)
        shutil.chown(data, "mysql", "mysql")
        made = _run(
            ["mariadb-install-db", "--no-defaults", "--user=mysql", f"--datadir={data}",
             "--skip-test-db", "--auth-root-authentication-method=socket"],
            timeout=120,
        )  # fmt: skip
        if made.returncode != 0:
            shutil.rmtree(data, ignore_errors=True)
            raise AccountingError(f"mariadb-install-db failed:\n{made.stdout}{made.stderr}")
    return data


def start_database(harness: Path, port: int, spawn: Spawn) -> str:
    """Start MariaDB on 127.0.0.1:``port`` (``spawn(name, argv)`` starts and records the
    daemon); returns the ``slurm`` user's new password."""
    data = database_folder(harness)
    run = harness / "mariadb-run"  # the server (user mysql) writes its socket and log here
    run.mkdir(exist_ok=True)
    shutil.chown(run, "mysql", "mysql")
    sock = run / "mariadb.sock"
    argv = [
        shutil.which("mariadbd", path="/usr/sbin:/usr/bin") or "mariadbd",
        "--no-defaults", "--user=mysql", f"--datadir={data}", f"--socket={sock}",
        f"--port={port}", "--bind-address=127.0.0.1", f"--pid-file={run}/mariadb.pid",
        f"--log-error={run}/mariadb.log", "--skip-name-resolve", "--skip-log-bin",
        "--innodb-buffer-pool-size=32M", "--innodb-log-file-size=16M",
        "--innodb-flush-log-at-trx-commit=0", "--innodb-doublewrite=0",
    ]  # fmt: skip
    pid = spawn("mariadbd", argv)
    client = ["mariadb", "--no-defaults", f"--socket={sock}", "-u", "root", "-N", "-e"]
    _wait(
        lambda: _run([*client, "SELECT 1"], timeout=5).returncode == 0,
        lambda: alive(pid),
        "MariaDB",
        run / "mariadb.log",
        timeout=60,
    )
    password = secrets.token_hex(16)
    sql = (
        # each session's controllers start clean (job ids from 1 again): so do their records
        "DROP DATABASE IF EXISTS slurm_acct_db;"
        f"CREATE USER IF NOT EXISTS 'slurm'@'127.0.0.1' IDENTIFIED BY '{password}';"
        f"ALTER USER 'slurm'@'127.0.0.1' IDENTIFIED BY '{password}';"
        "GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';"
    )
    granted = _run([*client, sql])
    if granted.returncode != 0:
        raise AccountingError(f"could not make the slurm database user: {granted.stderr}")
    return password


def slurmdbd_conf(harness: Path, db_port: int, dbd_port: int, password: str, jwt: str) -> str:
    """slurmdbd.conf: the database on loopback, slurmdbd as root, logs in ``harness``."""
    return f"""\
# Written by jobspawner tests/slurm/accounting.py: accounting for the test clusters.
AuthType=auth/munge
{jwt}DbdHost=localhost
DbdAddr=127.0.0.1
DbdPort={dbd_port}
SlurmUser=root
LogFile={harness}/slurmdbd.log
PidFile={harness}/slurmdbd.daemon.pid
DebugLevel=info
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort={db_port}
StorageUser=slurm
StoragePass={password}
StorageLoc=slurm_acct_db
"""


def start_slurmdbd(
    harness: Path,
    path: Path,
    conf: str,
    clusters: tuple[str, ...],
    spawn: Spawn,
    timeout: float = 60,
) -> None:
    """Write slurmdbd.conf at ``path`` (0600; beside slurm.conf, where slurmdbd looks),
    start slurmdbd and register ``clusters`` with it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.chmod(0o600)
    path.write_text(conf)
    dbd = shutil.which("slurmdbd", path="/usr/sbin:/usr/bin") or "slurmdbd"
    pid = spawn("slurmdbd", [dbd, "-D"])
    _wait(
        lambda: _run(["sacctmgr", "-n", "-P", "show", "cluster", "format=cluster"]).returncode == 0,
        lambda: alive(pid),
        "slurmdbd",
        harness / "slurmdbd.log",
        timeout,
    )
    known = _run(["sacctmgr", "-n", "-P", "show", "cluster", "format=cluster"]).stdout.split()
    missing = [c for c in clusters if c not in known]
    if missing:
        added = _run(["sacctmgr", "-i", "add", "cluster", *missing])
        if added.returncode != 0:
            raise AccountingError(f"sacctmgr add cluster {missing} failed: {added.stderr}")


def accounted_state(job_id: str, timeout: float = 15.0) -> str:
    """How accounting says the job ended (``CANCELLED``, ``COMPLETED``, ``FAILED``...; the
    ``by <uid>`` of a cancel left out), once slurmdbd has the end: the way to read a job's
    end that does not race slurmctld's purge of finished jobs (``MinJobAge``). An id with a
    cluster (``123;jobspawner2``) is looked up on that cluster. "" if it has no end yet."""
    base, _, cluster = job_id.partition(";")
    argv = ["sacct", "-n", "-X", "-P", "-o", "State", "-j", base]
    if cluster:
        argv.append(f"--clusters={cluster}")
    deadline = time.monotonic() + timeout
    state = ""
    while True:
        lines = _run(argv).stdout.split("\n")
        state = lines[0].split(" by ")[0].strip() if lines else ""
        ended = state not in ("", "PENDING", "RUNNING", "REQUEUED", "SUSPENDED", "COMPLETING")
        if ended or time.monotonic() > deadline:
            return state if ended else ""
        time.sleep(0.2)
