"""Accounting for the recorder's own Slurm (``record_real.py``): a MariaDB server and
``slurmdbd`` on ports of its own, so FirecREST's ``sacct`` queries are answered as at a site.

MariaDB runs as ``mysql`` on loopback with its data in the harness folder (made once with
``mariadb-install-db``); the accounting database is dropped at each start (the controller
starts clean, job ids from 1 again). ``slurmdbd.conf`` (0600) is written beside the
``slurm.conf`` that ``SLURM_CONF`` names, where slurmdbd and the commands look for it.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

Spawn = Callable[[str, list[str]], int]


def _run(argv: list[str], timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout)


def _until(ready: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not come up in {timeout:g} s")
        time.sleep(0.2)


def start_accounting(
    harness: Path, db_port: int, dbd_port: int, cluster: str, spawn: Spawn
) -> None:
    """Start MariaDB on ``db_port`` and slurmdbd on ``dbd_port``; register ``cluster``."""
    data = harness / "mariadb"
    if not (data / "mysql").is_dir():
        shutil.rmtree(data, ignore_errors=True)
        data.mkdir(parents=True)
        shutil.chown(data, "mysql", "mysql")
        made = _run(
            ["mariadb-install-db", "--no-defaults", "--user=mysql", f"--datadir={data}",
             "--skip-test-db", "--auth-root-authentication-method=socket"],
            timeout=180,
        )  # fmt: skip
        if made.returncode != 0:
            raise RuntimeError(f"mariadb-install-db failed:\n{made.stdout}{made.stderr}")
    run = harness / "mariadb-run"
    run.mkdir(exist_ok=True)
    shutil.chown(run, "mysql", "mysql")
    sock = run / "mariadb.sock"
    spawn("mariadbd", [
        "/usr/sbin/mariadbd", "--no-defaults", "--user=mysql", f"--datadir={data}",
        f"--socket={sock}", f"--port={db_port}", "--bind-address=127.0.0.1",
        f"--pid-file={run}/mariadb.pid", f"--log-error={run}/mariadb.log", "--skip-log-bin",
        "--innodb-buffer-pool-size=32M",
    ])  # fmt: skip
    client = ["mariadb", "--no-defaults", f"--socket={sock}", "-u", "root", "-N", "-e"]
    _until(lambda: _run([*client, "SELECT 1"], timeout=5).returncode == 0, "MariaDB")
    password = secrets.token_hex(16)
    sql = (
        "DROP DATABASE IF EXISTS slurm_acct_db;"
        f"CREATE USER IF NOT EXISTS 'slurm'@'127.0.0.1' IDENTIFIED BY '{password}';"
        f"ALTER USER 'slurm'@'127.0.0.1' IDENTIFIED BY '{password}';"
        "GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';"
    )
    if _run([*client, sql]).returncode != 0:
        raise RuntimeError("could not make the slurm database user")
    conf = Path(os.environ["SLURM_CONF"]).parent / "slurmdbd.conf"
    conf.touch(mode=0o600)
    conf.write_text(
        f"AuthType=auth/munge\nDbdHost=localhost\nDbdAddr=127.0.0.1\nDbdPort={dbd_port}\n"
        f"SlurmUser=root\nLogFile={harness}/slurmdbd.log\n"
        f"PidFile={harness}/slurmdbd.daemon.pid\nStorageType=accounting_storage/mysql\n"
        f"StorageHost=127.0.0.1\nStoragePort={db_port}\nStorageUser=slurm\n"
        f"StoragePass={password}\nStorageLoc=slurm_acct_db\n"
    )
    spawn("slurmdbd", ["/usr/sbin/slurmdbd", "-D"])
    show = ["sacctmgr", "-n", "-P", "show", "cluster", "format=cluster"]
    _until(lambda: _run(show).returncode == 0, "slurmdbd")
    if cluster not in _run(show).stdout.split():
        _run(["sacctmgr", "-i", "add", "cluster", cluster])
