"""Record what the real FirecREST v2 server answers to every request in
:mod:`real_requests`, as fixtures under ``tests/fcrest/fixtures/real-v2/`` (one JSON file per
request, each with its provenance: server commit, date, Slurm version, the request).

Not part of CI. Run as root, with a checkout of eth-cscs/firecrest-v2 and a Python that has
its requirements (see :mod:`harness.firecrest_real`)::

    JOBSPAWNER_FIRECREST_SOURCE=/opt/firecrest-v2 \\
        .venv/bin/hatch run test:python tests/fcrest/record_real.py

It starts what it needs and stops what it started, twice (a Slurm without accounting, then
one with slurmdbd): a Slurm of its own (the test cluster's configuration on other ports,
:class:`PrivateSlurm`), an OpenSSH server for alice and bob, the emulator's token endpoint
and the real server. Without ``JOBSPAWNER_FIRECREST_SOURCE`` it says so and records nothing.
"""

from __future__ import annotations

import asyncio
import datetime
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from harness.firecrest_emulator import Emulator  # noqa: E402
from harness.firecrest_real import RealFirecrest, server_commit, source_from_env  # noqa: E402
from remote.sshd import SSHServer  # noqa: E402
from slurm import accounting as slurm_accounting  # noqa: E402
from slurm import cluster as slurm  # noqa: E402

from fcrest.real_requests import Exchange, play  # noqa: E402

FIXTURES = HERE / "fixtures"
#: what the server answers on a Slurm without accounting, and with slurmdbd
NO_ACCOUNTING = FIXTURES / "real-v2-no-accounting"
ACCOUNTING = FIXTURES / "real-v2-accounting"


#: a Slurm of the recorder's own beside any other test cluster: its own ports (slurmctld,
#: slurmd, MariaDB, slurmdbd), state folder and configuration folder (``SLURM_CONF``, which
#: the SSH sessions get through sshd's ``SetEnv``)
PORTS = {"ctld": 6917, "slurmd": 6918, "db": 6933, "dbd": 6919}
HARNESS = Path("/tmp/jobspawner-slurm-fcrest-record")


class PrivateSlurm:
    """slurmctld and slurmd (and with ``accounting`` MariaDB and slurmdbd) on :data:`PORTS`;
    munged is shared (any running one serves). :meth:`stop` stops what it started."""

    def __init__(self, accounting: bool) -> None:
        self.accounting = accounting
        self.procs: list[subprocess.Popen[bytes]] = []

    def _spawn(self, name: str, argv: list[str]) -> int:
        log = open(HARNESS / f"{name}.out", "ab")  # noqa: SIM115 - the daemon keeps it
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        self.procs.append(proc)
        return proc.pid

    def start(self) -> None:
        HARNESS.mkdir(mode=0o755, parents=True, exist_ok=True)
        for sub in ("state", "spool", "etc"):
            shutil.rmtree(HARNESS / sub, ignore_errors=True)
            (HARNESS / sub).mkdir()
        (HARNESS / "etc").chmod(0o755)
        conf = slurm.slurm_conf(slurm.hostname(), HARNESS)
        ctld_port, slurmd_port = slurm.PORTS[slurm.NAME]
        conf = conf.replace(f"SlurmctldPort={ctld_port}", f"SlurmctldPort={PORTS['ctld']}")
        conf = conf.replace(f"SlurmdPort={slurmd_port}", f"SlurmdPort={PORTS['slurmd']}")
        conf = conf.replace(f"ClusterName={slurm.NAME}", "ClusterName=fcrecord")
        # the test clusters' accounting lines: to the recorder's slurmdbd, or none
        dbd = f"AccountingStoragePort={slurm.DBD_PORT}"
        conf = conf.replace(dbd, f"AccountingStoragePort={PORTS['dbd']}")
        if not self.accounting:
            conf = conf.replace(
                "AccountingStorageType=accounting_storage/slurmdbd",
                "AccountingStorageType=accounting_storage/none",
            )
        conf = "\n".join(
            line for line in conf.splitlines() if not line.startswith(("Gres", "AuthAlt"))
        ).replace(f" Gres=gpu:fake:{slurm.GPUS}", "")
        path = HARNESS / "etc" / "slurm.conf"
        path.write_text(conf + "\n")
        path.chmod(0o644)
        os.environ["SLURM_CONF"] = str(path)  # slurmdbd reads slurmdbd.conf beside it
        slurm._start_munge(HARNESS, {})
        if self.accounting:  # the test clusters' own accounting, on the recorder's ports
            password = slurm_accounting.start_database(HARNESS, PORTS["db"], self._spawn)
            dbd_conf = slurm_accounting.slurmdbd_conf(
                HARNESS, PORTS["db"], PORTS["dbd"], password, ""
            )
            dbd_path = path.parent / "slurmdbd.conf"  # beside SLURM_CONF, where slurmdbd looks
            slurm_accounting.start_slurmdbd(HARNESS, dbd_path, dbd_conf, ("fcrecord",), self._spawn)
        self._spawn("slurmctld", ["slurmctld", "-D", "-i", "-c", "-f", str(path)])
        self._wait(lambda out: bool(out))
        self._spawn("slurmd", ["slurmd", "-D", "-f", str(path)])
        self._wait(lambda out: out.startswith(("idle", "mix")))

    def _wait(self, ready: Callable[[str], bool]) -> None:
        for _ in range(150):
            argv = ["sinfo", "-h", "-N", "-o", "%T"]
            if ready(subprocess.run(argv, capture_output=True, text=True).stdout):
                return
            time.sleep(0.2)
        raise RuntimeError(f"the recorder's Slurm did not come up; see {HARNESS}/*.out")

    def stop(self) -> None:
        for proc in reversed(self.procs):
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
        self.procs.clear()


def slurm_version() -> str:
    return subprocess.run(["sbatch", "--version"], capture_output=True, text=True).stdout.strip()


def record(source: Path, python: Path, accounting: bool) -> list[Exchange]:
    """Bring everything up, play the sequence, bring it down again."""
    cluster = PrivateSlurm(accounting)
    exchanges: list[Exchange] = []
    emu = Emulator()
    sshd = real = None
    try:
        cluster.start()
        sshd = SSHServer(extra=f"SetEnv SLURM_CONF={os.environ['SLURM_CONF']}")
        sshd.start()
        emu.start()
        real = RealFirecrest(
            source,
            python,
            emu.state,
            emu.token_url,
            sshd.port,
            {u: sshd.key(u) for u in sshd.users},
            Path(tempfile.mkdtemp(prefix="fcrest-real-")),
        )
        real.start()
        asyncio.run(play(real.url, emu.state.mint, exchanges))
    except BaseException:
        for ex in exchanges:
            print(ex.name, ex.status, json.dumps(ex.body)[:300], file=sys.stderr)
        raise
    finally:
        if real is not None:
            real.stop()
        emu.stop()
        if sshd is not None:
            sshd.stop()
        cluster.stop()
    return exchanges


def main() -> int:
    configured = source_from_env()
    if configured is None:
        print(
            "record_real: no real FirecREST server configured: set JOBSPAWNER_FIRECREST_SOURCE "
            "to a checkout of eth-cscs/firecrest-v2 (see tests/harness/firecrest_real.py); "
            "nothing recorded"
        )
        return 0
    source, python = configured
    for accounting, folder in ((False, NO_ACCOUNTING), (True, ACCOUNTING)):
        exchanges = record(source, python, accounting)
        provenance = {
            "server": "eth-cscs/firecrest-v2",
            "commit": server_commit(source),
            "recorded": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "slurm": slurm_version(),
            "setup": "SSHStaticKeys over OpenSSH to a Slurm with tests/slurm/cluster.py's "
            "configuration, "
            + ("accounting by slurmdbd" if accounting else "no accounting")
            + "; tokens from tests/harness/firecrest_emulator.py (an oct key in a JWKS file)",
        }
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("*.json"):
            old.unlink()
        for i, ex in enumerate(exchanges):
            record_ = {
                "provenance": provenance,
                "name": ex.name,
                "request": ex.request,
                "response": {"status": ex.status, "headers": ex.headers, "body": ex.body},
                "observed": ex.observed,
            }
            path = folder / f"{i:02d}-{ex.name}.json"
            path.write_text(json.dumps(record_, indent=1, sort_keys=True) + "\n")
        print(f"record_real: {len(exchanges)} fixtures in {os.path.relpath(folder)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
