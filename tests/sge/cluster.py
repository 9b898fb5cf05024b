"""A real single-host Son of Grid Engine (Debian's gridengine 8.1.9) for the sge tests.

:class:`SgeCluster` starts ``sge_qmaster`` and ``sge_execd`` as root on this machine,
configures them for fast tests and stops them again:

* host-name resolution: qmaster resolves itself through 127.0.0.1 to ``localhost`` while
  clients call the host ``vm``; a ``host_aliases`` file maps one onto the other (no change
  to ``/etc/hosts``), and ``act_qmaster`` names this host;
* ``min_uid``/``min_gid`` 0 (root may submit), accounting written at once
  (``accounting_flush_time=00:00:00``) so ``qacct`` knows a job as soon as it ends;
* scheduler every 2 s and on every submit/finish, with ``schedd_job_info true`` so
  ``qstat -j`` tells why a job waits;
* this host as admin, submit and exec host; queues ``all.q`` (seq_no 0) and ``long.q``
  (seq_no 10, ``h_rt`` limit 12 h), both with :attr:`SgeCluster.slots` slots and the
  parallel environment ``smp`` (``$pe_slots``).

Every object is configured from files (``qconf -A*``/``-M*``), never an editor. The daemons
are stopped by PID: first ``qdel -f`` of every job (a stopped execd leaves its jobs running),
then execd, then qmaster. Clients need ``SGE_ROOT``/``SGE_CELL`` (:attr:`SgeCluster.env`).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from harness.daemons import alive, read_pid
from harness.waiting import wait_for

SGE_ROOT = "/var/lib/gridengine"
SGE_CELL = "default"
SPOOL = Path("/var/spool/gridengine")
COMMON = Path(SGE_ROOT) / SGE_CELL / "common"
QMASTER_PIDFILE = SPOOL / "qmaster" / "qmaster.pid"
EXECD_PIDFILE = Path("/var/run/gridengine/execd.pid")
ADMIN = "sgeadmin"

PE_SMP = """\
pe_name            smp
slots              9999
user_lists         NONE
xuser_lists        NONE
start_proc_args    NONE
stop_proc_args     NONE
allocation_rule    $pe_slots
control_slaves     FALSE
job_is_first_task  TRUE
urgency_slots      min
accounting_summary FALSE
qsort_args         NONE
"""

EXEC_HOST = """\
hostname         {host}
load_scaling     NONE
complex_values   NONE
user_lists       NONE
xuser_lists      NONE
projects         NONE
xprojects        NONE
usage_scaling    NONE
report_variables NONE
"""

QUEUE = """\
qname                 {name}
hostlist              {host}
seq_no                {seq_no}
load_thresholds       NONE
suspend_thresholds    NONE
nsuspend              1
suspend_interval      00:05:00
priority              0
min_cpu_interval      00:05:00
processors            UNDEFINED
qtype                 BATCH INTERACTIVE
ckpt_list             NONE
pe_list               smp
rerun                 FALSE
slots                 {slots}
tmpdir                /tmp
shell                 /bin/bash
prolog                NONE
epilog                NONE
shell_start_mode      posix_compliant
starter_method        NONE
suspend_method        NONE
resume_method         NONE
terminate_method      NONE
notify                00:00:60
owner_list            NONE
user_lists            NONE
xuser_lists           NONE
subordinate_list      NONE
complex_values        NONE
projects              NONE
xprojects             NONE
calendar              NONE
initial_state         default
s_rt                  INFINITY
h_rt                  {h_rt}
s_cpu                 INFINITY
h_cpu                 INFINITY
s_fsize               INFINITY
h_fsize               INFINITY
s_data                INFINITY
h_data                INFINITY
s_stack               INFINITY
h_stack               INFINITY
s_core                INFINITY
h_core                INFINITY
s_rss                 INFINITY
h_rss                 INFINITY
s_vmem                INFINITY
h_vmem                INFINITY
"""


def installed() -> bool:
    """True when Debian's Grid Engine master, exec daemon and clients are installed."""
    return (
        all(
            shutil.which(p, path="/usr/sbin:/usr/bin") for p in ("sge_qmaster", "sge_execd", "qsub")
        )
        and (COMMON / "bootstrap").exists()
    )


class SgeError(RuntimeError):
    """The cluster could not be started or configured; the message says which step."""


_alive = alive
_read_pid = read_pid


class SgeCluster:
    """One single-host Grid Engine cell, started and configured for tests."""

    def __init__(self, workdir: Path, slots: int = 4) -> None:
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.host = socket.gethostname()
        self.slots = slots
        self.qmaster_pid: int | None = None
        self.execd_pid: int | None = None
        self.started_qmaster = False
        self.started_execd = False

    # --- environment and commands ------------------------------------------------------
    @property
    def env(self) -> dict[str, str]:
        """What every client command needs (besides PATH)."""
        return {"SGE_ROOT": SGE_ROOT, "SGE_CELL": SGE_CELL}

    def run(
        self, *argv: str, check: bool = True, stdin: str | None = None, timeout: float = 30
    ) -> subprocess.CompletedProcess[str]:
        """Run a Grid Engine client (as root) with the cell's environment."""
        proc = subprocess.run(
            list(argv),
            input=stdin,
            capture_output=True,
            text=True,
            env={**os.environ, **self.env},
            timeout=timeout,
            cwd="/",
        )
        if check and proc.returncode != 0:
            raise SgeError(
                f"`{' '.join(argv)}` exited {proc.returncode}: {proc.stdout.strip()} "
                f"{proc.stderr.strip()}"
            )
        return proc

    def as_user(
        self, user: str, *argv: str, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run a client as ``user`` through runuser (the environment is passed on)."""
        return self.run("runuser", "-u", user, "--", *argv, check=False, stdin=stdin)

    def _apply(self, name: str, text: str, add: str, modify: str | None, exists: bool) -> None:
        path = self.workdir / name
        path.write_text(text)
        if exists and modify:
            self.run("qconf", modify, str(path))
        elif not exists:
            self.run("qconf", add, str(path))

    def _list(self, flag: str) -> list[str]:
        out = self.run("qconf", flag, check=False)
        return out.stdout.split() if out.returncode == 0 else []

    # --- lifecycle -----------------------------------------------------------------------
    def start(self) -> SgeCluster:
        self._init_cell()
        self._fix_host_names()
        self._start_qmaster()
        self._configure()
        self._start_execd()
        self._wait_ready()
        return self

    def _init_cell(self) -> None:
        """Create the cell when the package's postinst did not (debconf said no, or the
        spool was removed): what gridengine-master's postinst runs."""
        spooldb = SPOOL / "spooldb"
        if (COMMON / "bootstrap").exists() and spooldb.is_dir() and any(spooldb.iterdir()):
            return
        for folder in (
            Path(SGE_ROOT),
            Path(SGE_ROOT) / SGE_CELL,
            COMMON,
            SPOOL / "qmaster",
            SPOOL / "qmaster" / "job_scripts",
            spooldb,
            SPOOL / "execd",
        ):
            folder.mkdir(parents=True, exist_ok=True)
            shutil.chown(folder, ADMIN, ADMIN)
        if not (COMMON / "bootstrap").exists():
            shutil.copy("/usr/share/gridengine/default-bootstrap", COMMON / "bootstrap")
            shutil.chown(COMMON / "bootstrap", ADMIN, ADMIN)
        init = f"/usr/share/gridengine/scripts/init_cluster {SGE_ROOT} {SGE_CELL} {spooldb} {ADMIN}"
        proc = subprocess.run(
            ["su", "-s", "/bin/sh", "-c", init, ADMIN], capture_output=True, text=True, check=False
        )
        if proc.returncode != 0:
            raise SgeError(f"init_cluster failed: {proc.stdout} {proc.stderr}")

    def _fix_host_names(self) -> None:
        """host_aliases: the name 127.0.0.1 resolves to (``localhost``) is this host."""
        try:
            ip = socket.gethostbyname(self.host)
            reverse = socket.gethostbyaddr(ip)[0]
        except OSError:
            reverse = self.host
        aliases = COMMON / "host_aliases"
        if reverse and reverse != self.host:
            aliases.write_text(f"{self.host} {reverse}\n")
            shutil.chown(aliases, ADMIN, ADMIN)
        (COMMON / "act_qmaster").write_text(f"{self.host}\n")
        shutil.chown(COMMON / "act_qmaster", ADMIN, ADMIN)
        Path("/var/run/gridengine").mkdir(parents=True, exist_ok=True)
        shutil.chown("/var/run/gridengine", ADMIN, ADMIN)

    def _start_qmaster(self) -> None:
        pid = _read_pid(QMASTER_PIDFILE)
        if not _alive(pid):
            QMASTER_PIDFILE.unlink(missing_ok=True)
            self.run("/usr/sbin/sge_qmaster")  # daemonizes
            self.started_qmaster = True
            pid = self._wait_pidfile(QMASTER_PIDFILE, "sge_qmaster")
        self.qmaster_pid = pid
        deadline = time.monotonic() + 30
        while self.run("qconf", "-sh", check=False).returncode != 0:
            if time.monotonic() > deadline:
                raise SgeError(f"sge_qmaster does not answer; see {SPOOL}/qmaster/messages")
            time.sleep(0.2)

    def _start_execd(self) -> None:
        pid = _read_pid(EXECD_PIDFILE)
        if not _alive(pid):
            EXECD_PIDFILE.unlink(missing_ok=True)
            subprocess.run(
                ["/usr/sbin/sge_execd"],
                env={**os.environ, **self.env, "SGE_EXECD_PIDFILE": str(EXECD_PIDFILE)},
                cwd="/",
                check=True,
                capture_output=True,
                timeout=30,
            )
            self.started_execd = True
            pid = self._wait_pidfile(EXECD_PIDFILE, "sge_execd")
        self.execd_pid = pid

    @staticmethod
    def _wait_pidfile(path: Path, name: str) -> int:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            pid = _read_pid(path)
            if pid:
                return pid
            time.sleep(0.1)
        raise SgeError(f"{name} wrote no pid file {path}; see {SPOOL}/*/messages")

    def _configure(self) -> None:
        host = self.host
        if host not in self._list("-sh"):
            self.run("qconf", "-ah", host)
        # global configuration: root may submit; accounting written at once
        conf = self.run("qconf", "-sconf", "global").stdout
        new = _set_keys(
            conf,
            {
                "min_uid": "0",
                "min_gid": "0",
                "reporting_params": "accounting=true reporting=false flush_time=00:00:01 "
                "joblog=false sharelog=00:00:00 accounting_flush_time=00:00:00",
            },
        )
        if new != conf:
            # qconf takes the configuration's name from the file name: it must be "global"
            self._apply("global", new, "-Mconf", "-Mconf", True)
        # scheduler: every 2 s, at once on submit/finish, and keep the reasons for qstat -j
        sched = self.run("qconf", "-ssconf").stdout
        new = _set_keys(
            sched,
            {
                "schedule_interval": "0:0:2",
                "flush_submit_sec": "1",
                "flush_finish_sec": "1",
                "schedd_job_info": "true",
            },
        )
        if new != sched:
            self._apply("sched.conf", new, "-Msconf", "-Msconf", True)
        self._apply(
            "exechost.txt",
            EXEC_HOST.format(host=host),
            "-Ae",
            "-Me",
            host in self._list("-sel"),
        )
        if host not in self._list("-ss"):
            self.run("qconf", "-as", host)
        self._apply("pe-smp.txt", PE_SMP, "-Ap", "-Mp", "smp" in self._list("-spl"))
        queues = self._list("-sql")
        for name, seq_no, h_rt in (("all.q", 0, "INFINITY"), ("long.q", 10, "12:00:00")):
            text = QUEUE.format(name=name, host=host, seq_no=seq_no, slots=self.slots, h_rt=h_rt)
            self._apply(f"queue-{name}.txt", text, "-Aq", "-Mq", name in queues)

    def _wait_ready(self, timeout: float = 30) -> None:
        """Until ``all.q@host`` is usable (no unknown/alarm/disabled state)."""
        deadline = time.monotonic() + timeout
        state = "?"
        while time.monotonic() < deadline:
            out = self.run("qstat", "-f", "-q", f"all.q@{self.host}", check=False).stdout
            for line in out.splitlines():
                parts = line.split()
                if parts and parts[0] == f"all.q@{self.host}":
                    state = parts[5] if len(parts) > 5 else ""
                    if not state:
                        return
            time.sleep(0.2)
        raise SgeError(f"queue all.q@{self.host} not ready (state {state!r}); see {SPOOL}")

    def jobs(self) -> list[str]:
        """The ids of every job qstat lists (any user)."""
        out = self.run("qstat", "-u", "*", check=False).stdout
        return [ln.split()[0] for ln in out.splitlines()[2:] if ln.split()]

    def delete_all(self, timeout: float = 15) -> None:
        """``qdel -f`` every job and wait until qstat lists none."""
        if not self.jobs():
            return
        self.run("qdel", "-f", "-u", "*", check=False)
        deadline = time.monotonic() + timeout
        while self.jobs() and time.monotonic() < deadline:
            time.sleep(0.2)

    def stop(self) -> None:
        """Delete every job, then stop execd (and leftover shepherds) and qmaster by PID."""
        if _alive(self.qmaster_pid):
            with contextlib.suppress(Exception):
                self.delete_all()
        if self.execd_pid and _alive(self.execd_pid):
            for child in _children(self.execd_pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(child, signal.SIGTERM)
            _stop_pid(self.execd_pid)
        if self.qmaster_pid and _alive(self.qmaster_pid):
            _stop_pid(self.qmaster_pid)
        self.execd_pid = self.qmaster_pid = None


def _children(pid: int) -> list[int]:
    out = subprocess.run(
        ["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True, check=False
    ).stdout
    return [int(p) for p in out.split() if p.isdigit()]


def _stop_pid(pid: int, timeout: float = 15) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if _alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _set_keys(text: str, values: dict[str, str]) -> str:
    """Set ``key value`` entries of a qconf dump (keys missing from the dump are appended).

    Continuation lines (a trailing backslash) are joined first, so a multi-line value such
    as ``reporting_params`` is replaced as a whole.
    """
    logical: list[str] = []
    for line in text.replace("\\\n", " ").splitlines():
        # (a key with "=" is debris of an earlier broken edit: drop it)
        if line.strip() and not line.startswith("#") and "=" not in line.split()[0]:
            logical.append(line)
    out = []
    seen = set()
    for line in logical:
        parts = line.split(None, 1)
        if parts[0] in values:
            out.append(f"{parts[0]} {values[parts[0]]}")
            seen.add(parts[0])
        else:
            out.append(line)
    out += [f"{k} {v}" for k, v in values.items() if k not in seen]
    return "\n".join(out) + "\n"


@contextlib.contextmanager
def running_cluster(workdir: Path, slots: int = 4) -> Iterator[SgeCluster]:
    """Start (or reuse) the cell, yield it, stop whatever runs afterwards."""
    cluster = SgeCluster(workdir, slots=slots)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


__all__: Sequence[str] = ("SgeCluster", "installed", "running_cluster", "wait_for")
