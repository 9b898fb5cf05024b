# ruff: noqa: E501, SIM115  (the emulator prints the real tools' long fixed-format lines)
"""A CLI-faithful emulator of Torque, PBS Pro/OpenPBS and Moab for tests.

One implementation behind the executables in ``bin-torque/``, ``bin-pbspro/`` and
``bin-moab/`` (``qsub qstat qdel qhold qrls pbsnodes``; ``msub showq checkjob mdiag mjobctl``).
There is no daemon: the queue is a JSON file in a spool folder, changed under a lock by
every command, and scheduling happens lazily at each call and when a job ends. Jobs really
run: a "shepherd" process (as the job's owner) runs the script with its output file,
enforces the walltime, and records the exit status. The spool, starting jobs as their owners,
the job supervisor, the job record with its states, scheduling on the nodes (with backfill),
holds, deletion and the history are the emulators' shared kernel (tests/harness/
emulator_kernel.py and emulator_queue.py); :func:`view` names its records in the server's
words (state letters, ``owner``, ``stime`` ...).

The printed formats, error messages and exit statuses follow the real tools (see
``/work/shared/samples/torque`` and ``.../pbspro`` and ``tests/torque/fixtures``); the
tests compare both.

Configuration: ``$PBSEMU_SPOOL`` (default ``/tmp/pbsemu-<flavour>``) holds ``config.json``::

    {"server": "vm", "nodes": {"vm": 2}, "keep_completed": 0, "job_history_enable": true,
     "moab_purge_time": 300, "down": false,
     "queues": {"batch": {"resources_max.walltime": "24:00:00",
                          "resources_default.walltime": "01:00:00"}},
     "default_queue": "batch"}

Standard library only; runs under Debian's /usr/bin/python3 as any user.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import pwd
import re
import shlex
import signal
import socket
import sys
import time
from contextlib import contextmanager
from xml.sax.saxutils import escape, quoteattr

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.join(HERE, "..", "..", "harness")]  # installed copy, checkout
import emulator_kernel as kernel  # noqa: E402
import emulator_queue as jobq  # noqa: E402

PYTHON = "/usr/bin/python3"
PBSPRO_VERSION = "23.06.06"
KILL_DELAY = 2.0

UNKNOWN = 153  # PBSE_UNKJOBID 15001 % 256
HISTJOB = 35  # PBSE_HISTJOBID 15139 % 256
BADSTATE = 168  # PBSE_BADSTATE 15016 % 256
PERM = 159  # PBSE_PERM 15007 % 256
EXCEEDS = 190  # PBSE_RESCUNAV / queue limits
# PBS Pro / OpenPBS qsub refusals (fixtures/openpbs): PBSE_UNKQUE 15018, PBSE_UNKRESC 15035,
# PBSE_EXCQRESC 15036, as exit statuses (% 256)
PBSPRO_UNKNOWN_QUEUE = 170
PBSPRO_UNKNOWN_RESOURCE = 187
PBSPRO_EXCEEDS = 188
#: Resources an OpenPBS server knows without site definitions (``config.json`` may add
#: ``custom_resources``); any other name in ``-l`` or a ``select`` chunk is refused.
PBSPRO_RESOURCES = frozenset(
    [
        "accelerator",
        "accelerator_memory",
        "accelerator_model",
        "aoe",
        "arch",
        "cput",
        "file",
        "hbmem",
        "host",
        "mem",
        "mpiprocs",
        "naccelerators",
        "ncpus",
        "nodect",
        "nodes",
        "ompthreads",
        "pcput",
        "pmem",
        "pvmem",
        "select",
        "place",
        "software",
        "vmem",
        "vnode",
        "walltime",
        "ngpus",
        "max_walltime",
        "min_walltime",
        "preempt_targets",
    ]
)
#: ``substate`` of a PBS Pro job by state (finished: 92; failed 93 and deleted 91 are set
#: when it ends).
PBSPRO_SUBSTATES = {"Q": 10, "H": 20, "R": 42, "E": 50, "F": 92}

DEFAULT_CONFIG = {
    "nodes": None,  # filled with {hostname: 2}
    "keep_completed": 0,
    "job_history_enable": True,
    "moab_purge_time": 300,
    "down": False,
    "queues": {
        "batch": {
            "resources_max.walltime": "24:00:00",
            "resources_default.walltime": "01:00:00",
        }
    },
    "default_queue": "batch",
    "custom_resources": [],
}


# --- spool, lock, state ---------------------------------------------------------------------


def load_config(spool: str) -> dict:
    cfg = json.loads(json.dumps(DEFAULT_CONFIG))
    try:
        with open(os.path.join(spool, "config.json")) as f:
            cfg.update(json.load(f))
    except FileNotFoundError:
        pass
    cfg.setdefault("server", socket.gethostname())
    if not cfg.get("server"):
        cfg["server"] = socket.gethostname()
    if not cfg.get("nodes"):
        cfg["nodes"] = {socket.gethostname(): 2}
    return cfg


class Spool:
    """The locked queue state of one emulated server."""

    def __init__(self, flavour: str) -> None:
        self.flavour = flavour
        self.path = kernel.spool_folder("PBSEMU_SPOOL", f"/tmp/pbsemu-{flavour}", "jobs")
        self.config = load_config(self.path)
        self.server = self.config["server"]
        self.state: dict = {}
        self.queue = jobq.Queue(self.state, time.time())

    @contextmanager
    def locked(self):
        with kernel.locked_state(self.path) as held:
            self.state = held.state
            self.queue = jobq.Queue(self.state, time.time())
            yield self.state

    def job_dir(self, seq: str) -> str:
        return os.path.join(self.path, "jobs", seq)


# --- users and processes --------------------------------------------------------------------


def me() -> pwd.struct_passwd:
    return pwd.getpwuid(os.getuid())


# --- time and size formats ------------------------------------------------------------------


def hms(seconds: float | None) -> str:
    s = int(seconds or 0)
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


def parse_duration(text: str | None) -> int | None:
    if not text:
        return None
    text = text.strip()
    if text.isdigit():
        return int(text)
    parts = [int(p) for p in text.split(":")]
    total = 0
    for p in parts:
        total = total * 60 + p
    if len(parts) == 4:  # D:HH:MM:SS
        d, h, m, s = parts
        total = ((d * 24 + h) * 60 + m) * 60 + s
    return total


def ctime_text(t: float) -> str:
    return time.strftime("%a %b %e %H:%M:%S %Y", time.localtime(t))


# --- qsub -----------------------------------------------------------------------------------

_OPTS_WITH_ARG = set("ANoeqlWvjkaCSMmrPpcuz") - {"z"}
_OPTS_FLAG = set("hVIXfz")


def parse_qsub_args(args: list[str]) -> tuple[list[tuple[str, str | None]], list[str]]:
    """``-x value`` / ``-xvalue`` options and the remaining operands."""
    opts: list[tuple[str, str | None]] = []
    rest: list[str] = []
    i = 0
    while i < len(args):
        a = args[i]
        if a == "--":
            rest.extend(args[i + 1 :])
            break
        if a.startswith("-") and len(a) >= 2:
            letter = a[1]
            if letter in _OPTS_FLAG and len(a) == 2:
                opts.append((letter, None))
            elif letter in _OPTS_WITH_ARG:
                if len(a) > 2:
                    opts.append((letter, a[2:]))
                elif i + 1 < len(args):
                    opts.append((letter, args[i + 1]))
                    i += 1
                else:
                    raise UsageError(f"option requires an argument -- '{letter}'")
            else:
                raise UsageError(f"invalid option -- '{letter}'")
        else:
            rest.append(a)
        i += 1
    return opts, rest


class UsageError(Exception):
    pass


def directive_args(script: str, prefix: str = "#PBS") -> list[str]:
    """The arguments of the ``#PBS`` lines before the first command (like qsub)."""
    args: list[str] = []
    for line in script.splitlines()[1:] if script.startswith("#!") else script.splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith(prefix):
            body = stripped[len(prefix) :]
            try:
                args.extend(shlex.split(body, comments=True))
            except ValueError:
                args.extend(body.split())
            continue
        if stripped.startswith("#"):
            continue
        break
    return args


def parse_resource_list(values: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for value in values:
        # nodes=2:ppn=4+1:ppn=2 and select=1:ncpus=2:mem=1gb keep their colons
        for item in re.split(r",(?=[A-Za-z_]+=)", value):
            if "=" in item:
                k, v = item.split("=", 1)
                out[k.strip()] = v.strip()
    return out


def requested_slots(flavour: str, res: dict[str, str]) -> tuple[int, int]:
    """(chunks/nodes, cpus per chunk)."""
    if "select" in res:
        spec = res["select"].split("+")[0]
        parts = spec.split(":")
        n = int(parts[0]) if parts[0].isdigit() else 1
        cpus = 1
        for p in parts[1 if parts[0].isdigit() else 0 :]:
            if p.startswith("ncpus="):
                cpus = int(p.split("=", 1)[1])
        return n, cpus
    if "nodes" in res:
        spec = res["nodes"].split("+")[0]
        parts = spec.split(":")
        n = int(parts[0]) if parts[0].isdigit() else 1
        ppn = 1
        for p in parts[1:]:
            if p.startswith("ppn="):
                ppn = int(p.split("=", 1)[1])
        return n, ppn
    if "ncpus" in res:
        return 1, int(res["ncpus"])
    if "procs" in res:
        return 1, int(res["procs"])
    return 1, 1


def unknown_pbspro_resource(res: dict[str, str], custom: list[str]) -> str | None:
    """The first resource name of ``-l`` or of a ``select`` chunk the server does not know."""
    known = PBSPRO_RESOURCES | set(custom)
    names = list(res)
    for chunk in res.get("select", "").split("+"):
        names += [p.split("=", 1)[0] for p in chunk.split(":") if "=" in p]
    return next((n for n in names if n not in known), None)


def cmd_qsub(sp: Spool, prog: str, args: list[str]) -> int:
    try:
        opts, rest = parse_qsub_args(args)
    except UsageError as e:
        sys.stderr.write(f"{prog}: {e}\nusage: {prog} [-a date_time] [-A account_string] ...\n")
        return 2
    if rest:
        try:
            with open(rest[0]) as f:
                script = f.read()
        except OSError as e:
            sys.stderr.write(f"{prog}: script file:: {e.strerror}\n")
            return 1
        script_name = os.path.basename(rest[0])
    else:
        script = sys.stdin.read()
        script_name = "STDIN"
    try:
        dir_opts, _ = parse_qsub_args(directive_args(script))
    except UsageError as e:
        sys.stderr.write(f"{prog}: directive error: {e}\n")
        return 1
    merged: dict[str, object] = {}
    resources: list[str] = []
    for letter, value in [*dir_opts, *opts]:  # command line wins over directives
        if letter == "l":
            resources.append(value or "")
        elif letter == "v":
            merged.setdefault("v", [])
            merged["v"].append(value)  # type: ignore[union-attr]
        else:
            merged[letter] = value
    res = parse_resource_list(resources)
    user = me()
    cfg = sp.config
    queue_arg = str(merged.get("q") or "")
    queue = queue_arg.partition("@")[0]
    queue = queue or cfg["default_queue"]
    if queue not in cfg["queues"]:
        if sp.flavour == "pbspro":
            sys.stderr.write(f"{prog}: Unknown queue\n")
            return PBSPRO_UNKNOWN_QUEUE
        sys.stderr.write(f"{prog}: Unknown queue MSG=cannot locate queue\n")
        return 170
    if sp.flavour == "pbspro":
        unknown = unknown_pbspro_resource(res, cfg.get("custom_resources") or [])
        if unknown:
            sys.stderr.write(f"{prog}: Unknown resource: {unknown}\n")
            return PBSPRO_UNKNOWN_RESOURCE
    qdef = cfg["queues"][queue]
    if "walltime" not in res and qdef.get("resources_default.walltime"):
        res["walltime"] = qdef["resources_default.walltime"]
    wall = parse_duration(res.get("walltime"))
    wmax = parse_duration(qdef.get("resources_max.walltime"))
    if wall is not None and wmax is not None and wall > wmax and sp.flavour == "pbspro":
        sys.stderr.write(f"{prog}: Job violates queue and/or server resource limits\n")
        return PBSPRO_EXCEEDS
    if wall is not None and wmax is not None and wall > wmax:
        sys.stderr.write(
            f"{prog}: Job exceeds queue resource limits MSG=cannot satisfy queue max walltime requirement\n"
        )
        return EXCEEDS
    nchunks, per = requested_slots(sp.flavour, res)
    nodes = cfg["nodes"]
    feasible = sum(1 for np in nodes.values() if np >= per) >= nchunks
    if not feasible and sp.flavour != "pbspro":
        # verbatim Torque rejection (samples/torque/qsub-error-exceeds-queue-limits.txt)
        sys.stderr.write(
            f"{prog}: Job exceeds queue resource limits MSG=cannot locate feasible nodes\n"
        )
        return EXCEEDS
    name = str(merged.get("N") or script_name)
    now = time.time()
    cwd = os.getcwd()
    env_o = {
        "PBS_O_HOME": user.pw_dir,
        "PBS_O_LANG": os.environ.get("LANG", "C"),
        "PBS_O_LOGNAME": user.pw_name,
        "PBS_O_PATH": os.environ.get("PATH", ""),
        "PBS_O_MAIL": f"/var/mail/{user.pw_name}",
        "PBS_O_SHELL": user.pw_shell or "/bin/sh",
        "PBS_O_WORKDIR": cwd,
        "PBS_O_HOST": socket.gethostname(),
        "PBS_O_SERVER": sp.server,
        "PBS_O_QUEUE": queue,
    }
    variables = dict(env_o)
    if "V" in merged:
        variables = {**dict(os.environ), **variables}
    for v in merged.get("v") or []:  # type: ignore[union-attr]
        for item in str(v).split(","):
            k, _, val = item.partition("=")
            variables[k] = val if _ else os.environ.get(k, "")
    with sp.locked() as state:
        join = str(merged.get("j") or "n")
        job = sp.queue.submit(
            user.pw_uid,
            name=name,
            queue=queue,
            chunks=nchunks,
            per_chunk=per,
            limit=wall,
            held="h" in merged,
            group=_group_name(user.pw_gid),
            home=user.pw_dir,
            account=merged.get("A"),
            resources=res,
            join=join,
            keep=merged.get("k"),
            ctime=now,
            qtime=now,
            mtime=now,
            etime=now,
            submit_args=" ".join(shlex.quote(a) for a in args) or script_name,
            given_args=bool(args),
            variables=variables,
            workdir=cwd,
            comment=None,
            never=not feasible,
            events=[],
        )
        seq = job["id"]
        job_id = seq if sp.flavour == "moab" else f"{seq}.{sp.server}"
        jdir = sp.job_dir(seq)
        os.makedirs(jdir, mode=0o700, exist_ok=True)
        script_path = os.path.join(jdir, "script")
        with open(script_path, "w") as f:
            f.write(script)
        default_out = os.path.join(cwd, f"{name}.o{seq}")
        job["pbs_id"] = job_id
        job["script"] = script_path
        job["output"] = _path_part(str(merged.get("o") or default_out))
        job["error"] = _path_part(str(merged.get("e") or os.path.join(cwd, f"{name}.e{seq}")))
        owner = owner_host(view(sp, job))
        log_event(job, f"enqueuing into {queue}, state 1 hop 1")
        log_event(
            job,
            f"Job Queued at request of {owner}, owner = {owner}, job name = {name}, queue = {queue}",
        )
        schedule(sp, state)
    if sp.flavour == "moab":
        sys.stdout.write(f"\n{seq}\n")  # msub: a blank line, then the id
    else:
        sys.stdout.write(f"{job_id}\n")
    return 0


def _path_part(value: str) -> str:
    """``host:/path`` -> ``/path``."""
    if ":" in value and not value.startswith("/"):
        return value.split(":", 1)[1]
    return value


def _group_name(gid: int) -> str:
    try:
        import grp

        return grp.getgrgid(gid).gr_name
    except (KeyError, ImportError):
        return str(gid)


# --- scheduling -----------------------------------------------------------------------------


def chunk_mem(job: dict) -> str:
    """``:mem=<kb>kb`` of a PBS Pro chunk that asks for memory (``exec_vnode``), else ``""``."""
    m = re.search(r"(?:^|:)mem=(\d+)([kmgt]?)b?(?::|$)", job["resources"].get("select", ""), re.I)
    if not m:
        return ""
    scale = {"": 1 / 1024, "k": 1, "m": 1024, "g": 1024**2, "t": 1024**3}[m.group(2).lower()]
    return f":mem={int(int(m.group(1)) * scale)}kb"


def log_event(job: dict, text: str) -> None:
    """A server log line, as ``tracejob`` shows it."""
    job.setdefault("events", []).append([time.time(), text])


def view(sp: Spool, job: dict) -> dict:
    """A kernel job record in Torque's (PBS Pro's, Moab's) words: what the formatters read."""
    state = job["state"]
    if state == jobq.ENDED:
        letter = "F" if sp.flavour == "pbspro" else "C"
    elif state == jobq.RUNNING:
        letter = "E" if job.get("deleted") else "R"
    else:
        letter = {jobq.QUEUED: "Q", jobq.HELD: "H", jobq.SUSPENDED: "S"}[state]
    return {
        **job,
        "id": job["pbs_id"],
        "seq": job["id"],
        "state": letter,
        "hold_types": "u" if state == jobq.HELD else "n",
        "owner": job["user"],
        "stime": job["start_time"],
        "comp_time": job["end_time"],
        "exit_status": job["exit_code"],
        "walltime_s": job["limit"],
        "start_count": job["starts"],
        "shepherd_pid": job["supervisor_pid"],
    }


def views(sp: Spool) -> list[dict]:
    """Every job in the queue, oldest first, in Torque's words."""
    return [view(sp, j) for j in sp.queue.jobs()]


def not_running_comment(sp: Spool, job: dict) -> str:
    total = sum(sp.config["nodes"].values())
    free = total - sum(sp.queue.used().values())
    want = job["chunks"] * job["per_chunk"]
    if sp.flavour == "pbspro":
        if job.get("never"):  # measured against what the nodes have, not what is free
            return f"Can Never Run: Insufficient amount of resource: ncpus (R: {want} A: {total} T: {total})"
        return (
            f"Not Running: Insufficient amount of resource: ncpus (R: {want} A: {free} T: {total})"
        )
    return "Not Running: Not enough of the right type of nodes are available"


#: Why a job waits for which the server writes a comment.


def schedule(sp: Spool, state: dict | None = None) -> None:
    """Reap ended jobs, purge old ones, start queued jobs that fit (with backfill)."""
    for job in sp.queue.reap(grace=0):
        job["exit_code"] = read_exit(sp, job)  # written by its shepherd, if it got so far
        finished(sp, job)
    if sp.flavour == "pbspro":
        after = float("inf") if sp.config.get("job_history_enable") else 0.0
    elif sp.flavour == "moab":
        after = float(sp.config.get("moab_purge_time", 300))
    else:
        after = float(sp.config.get("keep_completed", 0))
    sp.queue.purge(after, keep=200)
    sp.queue.schedule(sp.config["nodes"], lambda job: start(sp, job))
    for job in sp.queue.jobs():
        if job["state"] == jobq.QUEUED and job["reason"] in jobq.NO_ROOM:
            job["comment"] = not_running_comment(sp, job)


def read_exit(sp: Spool, job: dict) -> int:
    try:
        with open(os.path.join(sp.job_dir(job["id"]), "exit")) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return 271 if job.get("deleted") else -1


def finished(sp: Spool, job: dict) -> None:
    """The server's records of a job the kernel has ended."""
    code = job["exit_code"]
    if code is not None:
        used = hms(job["end_time"] - (job["start_time"] or job["end_time"]))
        log_event(
            job,
            f"Exit_status={code} resources_used.cput=00:00:00 resources_used.mem=0kb "
            f"resources_used.vmem=0kb resources_used.walltime={used}",
        )
    log_event(job, f"dequeuing from {job['queue']}, state COMPLETE")
    job["mtime"] = job["end_time"]
    if sp.flavour == "pbspro":
        pbspro_finished(sp, job)


def pbspro_finished(sp: Spool, job: dict) -> None:
    """The comment and substate OpenPBS gives an ended job (fixtures/openpbs): ``... and
    finished`` (92), ``... and failed`` (93, a non-zero exit; ``... and exceeded resource
    walltime`` when killed at its walltime), deleted: ``... and terminated by <user>@<server>``
    when it ran, ``<comment> and terminated`` when it did not (91)."""
    code = job["exit_code"]
    if job.get("deleted"):
        job["substate"] = 91
        if job["start_time"]:
            by = job.get("deleted_by") or me().pw_name
            job["comment"] = (
                f"{job.get('run_comment') or 'Job run'} and terminated by {by}@{sp.server}"
            )
        else:
            job["comment"] = f"{job.get('comment') or 'Job'} and terminated"
    elif job["start_time"]:
        failed = code is not None and code != 0
        job["substate"] = 93 if failed else 92
        how = "failed" if failed else "finished"
        if code == -29:  # JOB_EXEC_KILL_WALLTIME
            how = "exceeded resource walltime"
        job["comment"] = f"{job.get('run_comment') or 'Job run'} and {how}"
    job["history_timestamp"] = int(job["end_time"] or time.time())


def start(sp: Spool, job: dict) -> None:
    now = job["start_time"]
    alloc = job["alloc"]
    job.update(mtime=now, comment=None)
    log_event(job, f"Job Run at request of root@{sp.server}")
    job["run_comment"] = time.strftime(
        "Job run at %a %b %d at %H:%M on ", time.localtime(now)
    ) + "+".join(f"({n}:ncpus={c}{chunk_mem(job)})" for n, _f, c in alloc)
    argv = [PYTHON, os.path.join(HERE, "pbsemu.py"), "__shepherd__", sp.flavour, sp.path, job["id"]]
    jobq.spawn_supervisor(job, argv, PBSEMU_SPOOL=sp.path)


# --- the shepherd: runs one job as its owner ------------------------------------------------


def shepherd(flavour: str, spool: str, seq: str) -> int:
    os.environ["PBSEMU_SPOOL"] = spool
    sp = Spool(flavour)
    with sp.locked():
        record = sp.queue.get(seq)
        if record is None or record["state"] != jobq.RUNNING or record.get("deleted"):
            return 0  # deleted meanwhile: the server ends it when it sees this process gone
        job = view(sp, record)
    user = me()
    host = job["alloc"][0][0]
    env = {
        "HOME": user.pw_dir,
        "USER": user.pw_name,
        "LOGNAME": user.pw_name,
        "SHELL": user.pw_shell or "/bin/bash",
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": job["variables"].get("PBS_O_LANG", "C"),
        "PBS_JOBID": job["id"],
        "PBS_JOBNAME": job["name"],
        "PBS_QUEUE": job["queue"],
        "PBS_ENVIRONMENT": "PBS_BATCH",
        "PBS_O_WORKDIR": job["workdir"],
        "PBS_O_HOME": job["variables"].get("PBS_O_HOME", user.pw_dir),
        "PBS_O_HOST": job["variables"].get("PBS_O_HOST", host),
        "PBS_O_PATH": job["variables"].get("PBS_O_PATH", ""),
        "PBS_NODENAME": host,
    }
    for k, v in job["variables"].items():
        if not k.startswith("PBS_O_"):
            env.setdefault(k, v)
    out_path = job["output"]
    try:
        out = open(out_path, "w")
    except OSError:
        out = open(os.path.join(user.pw_dir, f"{job['name']}.o{seq}"), "w")
    if job["join"].startswith("oe") or job["join"] == "eo":
        err = out
    else:
        try:
            err = open(job["error"], "w")
        except OSError:
            err = open(os.devnull, "w")
    limit = job.get("walltime_s") or None

    def on_limit(elapsed: float) -> None:
        out.write(f"=>> PBS: job killed: walltime {int(elapsed)} exceeded limit {limit}\n")
        out.flush()

    start = functools.partial(
        kernel.start_job, ["/bin/bash", job["script"]], cwd=user.pw_dir, env=env, stdout=out,
        stderr=err, limit=limit, grace=KILL_DELAY, on_limit=on_limit,
    )  # fmt: skip
    # qdel: SIGUSR1, or while it was starting: at once
    noted = lambda live: live.update(session_id=live["pgid"])  # noqa: E731
    job_run = jobq.start_recorded(start, sp.locked, seq, noted, queue=lambda _: sp.queue)
    outcome = job_run.wait()  # the job's leftovers go with it, like the MOM ends its session
    rc = outcome.returncode
    code = rc if rc >= 0 else 256 - rc
    if outcome.stopped == kernel.supervisor.LIMIT and flavour == "pbspro":
        code = -29  # JOB_EXEC_KILL_WALLTIME
    out.close()
    path = os.path.join(sp.job_dir(seq), "exit")
    with open(path + ".tmp", "w") as f:
        f.write(str(code))
    os.replace(path + ".tmp", path)
    with sp.locked():
        live = sp.queue.get(seq)
        if live is not None and sp.queue.ended(live, outcome, code):
            finished(sp, live)
        schedule(sp)
    return 0


# --- qstat (Torque XML, PBS Pro JSON, text, table) ------------------------------------------


def _resolve(sp: Spool, state: dict, job_id: str) -> dict | None:
    seq = job_id.split(".", 1)[0]
    job = sp.queue.get(seq)
    if job is None:
        return None
    if "." in job_id and sp.flavour != "moab" and job_id != job["pbs_id"]:
        server = job_id.split(".", 1)[1]
        if not job["pbs_id"].split(".", 1)[1].startswith(server.split(".")[0]):
            return None
    return job


def owner_host(job: dict) -> str:
    return f"{job['owner']}@{job['variables'].get('PBS_O_HOST', 'localhost')}"


def exec_host(sp: Spool, job: dict) -> str | None:
    if not job["alloc"]:
        return None
    parts = []
    for node, first, count in job["alloc"]:
        if sp.flavour == "pbspro":
            parts.append(f"{node}/{first // max(count, 1)}" + (f"*{count}" if count > 1 else ""))
        else:
            last = first + count - 1
            parts.append(f"{node}/{first}" + (f"-{last}" if count > 1 else ""))
    return "+".join(parts)


def resource_list(sp: Spool, job: dict) -> dict[str, object]:
    res: dict[str, object] = {}
    for k, v in sorted(job["resources"].items()):
        res[k] = int(v) if v.isdigit() else v
    if sp.flavour == "pbspro":
        mem = re.search(r"(?:^|:)mem=(\d+)(\w*)", str(res.get("select", "")))
        if mem:
            res.setdefault("mem", f"{int(mem.group(1)) * job['chunks']}{mem.group(2)}")
        res.setdefault("ncpus", job["chunks"] * job["per_chunk"])
        res.setdefault("nodect", job["chunks"])
        res.setdefault("select", f"{job['chunks']}:ncpus={job['per_chunk']}")
        res.setdefault("place", "free")
    else:
        res.setdefault("nodect", job["chunks"])
    return dict(sorted(res.items()))


def torque_fields(sp: Spool, job: dict) -> list[tuple[str, object]]:
    """Attributes in the order Torque prints them (as in the samples)."""
    now = time.time()
    fields: list[tuple[str, object]] = [
        ("Job_Id", job["id"]),
        ("Job_Name", job["name"]),
        ("Job_Owner", owner_host(job)),
    ]
    if job.get("stime"):
        end = job.get("comp_time") or now
        fields.append(
            (
                "resources_used",
                {
                    "cput": hms(0),
                    "energy_used": "0",
                    "mem": "0kb",
                    "vmem": "0kb",
                    "walltime": hms(end - job["stime"]),
                },
            )
        )
    fields += [
        ("job_state", job["state"]),
        ("queue", job["queue"]),
        ("server", sp.server),
    ]
    if job.get("account"):
        fields.append(("Account_Name", job["account"]))
    fields += [
        ("Checkpoint", "u"),
        ("ctime", int(job["ctime"])),
        ("Error_Path", f"{job['variables']['PBS_O_HOST']}:{job['error']}"),
    ]
    if exec_host(sp, job):
        fields.append(("exec_host", exec_host(sp, job)))
    fields += [
        ("Hold_Types", job["hold_types"]),
        ("Join_Path", job["join"]),
        ("Keep_Files", job.get("keep") or "n"),
        ("Mail_Points", "a"),
        ("mtime", int(job["mtime"])),
        ("Output_Path", f"{job['variables']['PBS_O_HOST']}:{job['output']}"),
        ("Priority", 0),
        ("qtime", int(job["qtime"])),
        ("Rerunable", "True"),
        ("Resource_List", resource_list(sp, job)),
    ]
    if job.get("session_id"):
        fields.append(("session_id", job["session_id"]))
    fields += [
        ("Shell_Path_List", "/bin/bash"),
        ("Variable_List", ",".join(f"{k}={v}" for k, v in job["variables"].items())),
        ("euser", job["owner"]),
        ("egroup", job["group"]),
        ("queue_type", "E"),
    ]
    if job.get("comment"):
        fields.append(("comment", job["comment"]))
    fields.append(("etime", int(job["etime"])))
    if job["state"] == "C" and job.get("exit_status") is not None:
        fields.append(("exit_status", job["exit_status"]))
    fields.append(("submit_args", job["submit_args"]))
    if job["state"] in ("Q", "H") and job.get("walltime_s"):
        fields.append(("Walltime", {"Remaining": job["walltime_s"]}))
    if job.get("stime"):
        fields += [("start_time", int(job["stime"])), ("start_count", job["start_count"])]
    fields.append(("fault_tolerant", "False"))
    if job.get("comp_time"):
        fields.append(("comp_time", int(job["comp_time"])))
    fields.append(("job_radix", 0))
    if job.get("comp_time") and job.get("stime"):
        fields.append(("total_runtime", f"{job['comp_time'] - job['stime']:.6f}"))
    fields += [("submit_host", job["variables"]["PBS_O_HOST"]), ("request_version", 1)]
    return fields


def _xml(value: object) -> str:
    # Like Torque: &, < and > are escaped; control characters are printed as they are.
    return escape(str(value))


def torque_xml(fields: list[tuple[str, object]]) -> str:
    out = ["<Job>"]
    for key, value in fields:
        if isinstance(value, dict):
            inner = "".join(f"<{k}>{_xml(v)}</{k}>" for k, v in value.items())
            out.append(f"<{key}>{inner}</{key}>")
        else:
            out.append(f"<{key}>{_xml(value)}</{key}>")
    out.append("</Job>")
    return "".join(out)


def pbspro_fields(sp: Spool, job: dict) -> list[tuple[str, object]]:
    """A job's attributes in the order and forms OpenPBS 23 prints them (fixtures/openpbs)."""
    now = time.time()
    user = pwd.getpwnam(job["owner"]) if _known_user(job["owner"]) else None
    fields: list[tuple[str, object]] = [
        ("Job_Name", job["name"]),
        ("Job_Owner", owner_host(job)),
    ]
    if job.get("stime"):
        end = job.get("comp_time") or now
        fields.append(
            (
                "resources_used",
                {
                    "cpupercent": 0,
                    "cput": hms(0),
                    "mem": "0kb",
                    "ncpus": job["chunks"] * job["per_chunk"],
                    "vmem": "0kb",
                    "walltime": hms(end - job["stime"]),
                },
            )
        )
    fields += [
        ("job_state", job["state"]),
        ("queue", job["queue"]),
        ("server", sp.server),
    ]
    if job.get("account"):
        fields.append(("Account_Name", job["account"]))
    fields += [
        ("Checkpoint", "u"),
        ("ctime", ctime_text(job["ctime"])),
        ("Error_Path", f"{job['variables']['PBS_O_HOST']}:{job['error']}"),
    ]
    eh = exec_host(sp, job)
    if eh:
        fields += [
            ("exec_host", eh),
            (
                "exec_vnode",
                "+".join(f"({n}:ncpus={c}{chunk_mem(job)})" for n, _f, c in job["alloc"]),
            ),
        ]
    fields += [
        ("Hold_Types", job["hold_types"]),
        ("Join_Path", job["join"]),
        ("Keep_Files", job.get("keep") or "n"),
        ("Mail_Points", "a"),
        ("mtime", ctime_text(job["mtime"])),
        ("Output_Path", f"{job['variables']['PBS_O_HOST']}:{job['output']}"),
        ("Priority", 0),
        ("qtime", ctime_text(job["qtime"])),
        ("Rerunable", "True"),
        ("Resource_List", resource_list(sp, job)),
        ("schedselect", resource_list(sp, job)["select"]),
    ]
    if job.get("stime"):
        fields.append(("stime", ctime_text(job["stime"])))
    if job["state"] == "F" and job.get("stime"):
        fields.append(("obittime", ctime_text(job.get("comp_time") or now)))
    if job.get("session_id") and (job["state"] != "F" or job.get("deleted")):
        fields.append(("session_id", job["session_id"]))
    if job.get("stime"):
        fields.append(("jobdir", user.pw_dir if user else job["home"]))
    fields += [
        ("substate", job.get("substate") or PBSPRO_SUBSTATES.get(job["state"], 10)),
        ("Variable_List", dict(job["variables"])),
        ("euser", job["owner"]),
        ("egroup", job.get("group") or job["owner"]),
    ]
    if job.get("stime"):
        fields.append(("hashname", job["id"]))
    fields += [
        ("queue_rank", int(job["qtime"] * 1_000_000)),
        ("queue_type", "E"),
    ]
    comment = job.get("comment") or (job.get("run_comment") if job["state"] == "R" else None)
    if comment:
        fields.append(("comment", comment))
    if job["state"] != "H":  # a held job is not eligible: no etime
        fields.append(("etime", ctime_text(job["etime"])))
    if job.get("stime"):
        fields.append(("run_count", job["start_count"]))
    if job["state"] == "F" and job.get("stime"):
        fields.append(("Stageout_status", 1))
    if job["state"] == "F" and job.get("exit_status") is not None:
        fields.append(("Exit_status", job["exit_status"]))
    if job["state"] == "F":
        fields.append(("history_timestamp", job.get("history_timestamp") or int(now)))
    if job.get("given_args"):
        fields.append(("Submit_arguments", job["submit_args"]))
    fields.append(("project", "_pbs_project_default"))
    if job.get("stime"):
        fields.append(("run_version", 1))
    fields.append(("Submit_Host", job["variables"]["PBS_O_HOST"]))
    return fields


def _known_user(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def pbspro_dumps(value: object, level: int = 0) -> str:
    """JSON as OpenPBS's qstat writes it: tab indentation, a tab after each ``"key":``."""
    if not isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    inner = "\t" * (level + 1)
    items = [f"{inner}{json.dumps(k)}:\t{pbspro_dumps(v, level + 1)}" for k, v in value.items()]
    return "{\n" + ",\n".join(items) + "\n" + "\t" * level + "}"


def pbspro_json(sp: Spool, jobs: list[dict] | None) -> str:
    doc: dict[str, object] = {
        "timestamp": int(time.time()),
        "pbs_version": PBSPRO_VERSION,
        "pbs_server": sp.server,
    }
    if jobs:
        doc["Jobs"] = {j["id"]: dict(pbspro_fields(sp, j)) for j in jobs}
    return pbspro_dumps(doc) + "\n"


def text_block(header: str, fields: list[tuple[str, object]], width: int = 78) -> str:
    """``qstat -f`` text: ``key = value`` lines wrapped with tab-indented continuations."""
    lines = [header]
    for key, value in fields:
        if key in ("Job_Id", "Walltime"):
            continue
        if isinstance(value, dict):
            if key == "Variable_List":
                items = [(key, ",".join(f"{k}={v}" for k, v in value.items()))]
            else:
                items = [(f"{key}.{k}", v) for k, v in value.items()]
        else:
            items = [(key, value)]
        for k, v in items:
            line = f"    {k} = {v}"
            lines.append(line[:width])
            rest = line[width:]
            while rest:
                lines.append("\t" + rest[: width - 8])
                rest = rest[width - 8 :]
    return "\n".join(lines) + "\n"


def table_row(job: dict) -> str:
    used = hms(time.time() - job["stime"]) if job.get("stime") and job["state"] == "R" else "0"
    return f"{job['id']:<19.19} {job['name']:<16.16} {job['owner']:<15.15} {used:>8.8} {job['state']} {job['queue']:<5}"


def server_down(sp: Spool, prog: str, json_out: bool) -> int:
    if sp.flavour == "pbspro":
        if json_out:
            doc = {
                "timestamp": int(time.time()),
                "pbs_version": PBSPRO_VERSION,
                "pbs_server": sp.server,
            }
            sys.stdout.write(pbspro_dumps(doc) + "\n")
        sys.stderr.write(
            f"Connection refused\n{prog}: cannot connect to server {sp.server} (errno=15010)\n"
        )
        return 255
    sys.stderr.write(
        f"Cannot connect to specified server host '{sp.server}'.\n"
        f"{prog}: cannot connect to server {sp.server} (errno=111) Connection refused\n"
    )
    return 111


def cmd_qstat(sp: Spool, prog: str, args: list[str]) -> int:
    flags: set[str] = set()
    fmt = None
    ids: list[str] = []
    i = 0
    while i < len(args):
        a = args[i]
        if a == "-F" and i + 1 < len(args):
            fmt = args[i + 1].lower()
            i += 2
            continue
        if a.startswith("-") and len(a) > 1:
            flags.update(a[1:])
        else:
            ids.append(a)
        i += 1
    torque = sp.flavour != "pbspro"
    if torque and fmt:
        sys.stderr.write(f"{prog}: invalid option -- 'F'\n")
        return 2
    if sp.config.get("down"):
        return server_down(sp, prog, fmt == "json")
    if "Q" in flags:
        return print_queues(sp, flags)
    if "B" in flags:
        return print_server(sp)
    with sp.locked() as state:
        schedule(sp, state)
        found: list[dict] = []
        errors: list[str] = []
        code = 0
        selected = ids or [j["pbs_id"] for j in sp.queue.jobs()]
        history = "x" in flags and not torque
        for job_id in selected:
            job = _resolve(sp, state, job_id)
            if job is None and not torque and "E" in flags:
                # -E: one request for all; OpenPBS leaves unknown ids out silently and
                # names only the first when it found none (fixtures/openpbs)
                if not errors:
                    errors.append(f"{prog}: Unknown Job Id {job_id}")
                continue
            if job is None:
                word = "Unknown Job Id Error" if torque and "x" in flags else "Unknown Job Id"
                errors.append(f"{prog}: {word} {job_id}")
                code = UNKNOWN
                continue
            job = view(sp, job)
            if not torque and job["state"] == "F" and not history:
                if ids:
                    errors.append(
                        f"{prog}: {job['id']} Job has finished, use -x or -H to obtain historical job information"
                    )
                    code = HISTJOB
                continue
            found.append(job)
    if not torque and "E" in flags and errors:
        if found:
            errors = []
        else:
            code = UNKNOWN
    if torque and "x" in flags:
        if found:
            sys.stdout.write(
                "<Data>" + "".join(torque_xml(torque_fields(sp, j)) for j in found) + "</Data>\n"
            )
    elif not torque and fmt == "json":
        if "f" in flags and "E" not in flags and len(ids) > 1:
            found = found[:1]  # OpenPBS main: one JSON job per request without -E (#2672)
        sys.stdout.write(pbspro_json(sp, found))
    elif "f" in flags:
        fields = torque_fields if torque else pbspro_fields
        sys.stdout.write(
            "\n".join(text_block(f"Job Id: {j['id']}", fields(sp, j)) for j in found)
            + ("\n" if found else "")
        )
    elif found:
        head = "Job ID                    Name             User            Time Use S Queue\n"
        head += "------------------------- ---------------- --------------- -------- - -----\n"
        sys.stdout.write(head + "".join(table_row(j) + "\n" for j in found))
    if errors:
        sys.stderr.write("\n".join(errors) + "\n")
    return code


def print_queues(sp: Spool, flags: set[str]) -> int:
    with sp.locked() as state:
        schedule(sp, state)
        jobs = views(sp)
    blocks = []
    for name, attrs in sp.config["queues"].items():
        mine = [j for j in jobs if j["queue"] == name]
        count = {s: sum(1 for j in mine if j["state"] == s) for s in "TQHWREC"}
        last = "Begun:0" if sp.flavour == "pbspro" else f"Complete:{count['C']}"
        state_count = (
            f"Transit:{count['T']} Queued:{count['Q']} Held:{count['H']} Waiting:{count['W']} "
            f"Running:{count['R']} Exiting:{count['E']} {last} "
        )
        fields = [
            ("queue_type", "Execution"),
            ("total_jobs", len(mine)),
            ("state_count", state_count),
            *sorted(attrs.items()),
            ("enabled", "True"),
            ("started", "True"),
        ]
        blocks.append(text_block(f"Queue: {name}", fields))
    sys.stdout.write("\n".join(blocks) + "\n")
    return 0


def print_server(sp: Spool) -> int:
    fields = [
        ("server_state", "Active"),
        ("server_host", sp.server),
        ("scheduling", "True"),
        ("default_queue", sp.config["default_queue"]),
        ("log_events", 511),
        (
            "keep_completed" if sp.flavour != "pbspro" else "job_history_enable",
            sp.config["keep_completed"]
            if sp.flavour != "pbspro"
            else str(bool(sp.config["job_history_enable"])),
        ),
    ]
    if sp.flavour == "pbspro":  # OpenPBS prints the version before the history setting
        fields.insert(-1, ("pbs_version", PBSPRO_VERSION))
    sys.stdout.write(text_block(f"Server: {sp.server}", fields) + "\n")
    return 0


def cmd_pbsnodes(sp: Spool, prog: str, args: list[str]) -> int:
    with sp.locked() as state:
        schedule(sp, state)
        used = sp.queue.used()
        jobs = [j for j in views(sp) if j["state"] in ("R", "E")]
    blocks = []
    for node, np in sp.config["nodes"].items():
        busy = used.get(node, 0)
        node_state = "free" if busy < np else "job-exclusive"
        on_node = [j for j in jobs if any(a[0] == node for a in j["alloc"])]
        if sp.flavour == "pbspro":
            lines = [
                node,
                f"     Mom = {node}",
                "     Port = 15002",
                f"     pbs_version = {PBSPRO_VERSION}",
                "     ntype = PBS",
                f"     state = {node_state}",
                f"     pcpus = {np}",
            ]
            if on_node:
                lines.append("     jobs = " + ", ".join(f"{j['id']}/0" for j in on_node))
            lines += [
                "     resources_available.arch = linux",
                f"     resources_available.host = {node}",
                "     resources_available.mem = 4194304kb",
                f"     resources_available.ncpus = {np}",
                f"     resources_available.vnode = {node}",
                "     resources_assigned.mem = 0kb",
                f"     resources_assigned.ncpus = {busy}",
                "     resv_enable = True",
                "     sharing = default_shared",
            ]
        else:
            lines = [
                node,
                f"     state = {node_state}",
                "     power_state = Running",
                f"     np = {np}",
                "     ntype = cluster",
            ]
            if on_node:
                lines.append(
                    "     jobs = "
                    + ",".join(
                        f"{a[1]}/{j['id']}" for j in on_node for a in j["alloc"] if a[0] == node
                    )
                )
            lines += [
                f"     status = opsys=linux,uname=Linux {node},sessions=0,nsessions=0,nusers=0,idletime=0,totmem=4194304kb,availmem=4194304kb,physmem=4194304kb,ncpus={np},loadave=0.00,netload=0,state=free,varattr= ,cpuclock=Fixed,rectime={int(time.time())}",
                "     mom_service_port = 15002",
                "     mom_manager_port = 15003",
                "     gpus = 0",
            ]
        blocks.append("\n".join(lines) + "\n")
    sys.stdout.write("\n".join(blocks) + "\n")
    return 0


# --- qdel / qrls / mjobctl ------------------------------------------------------------------


def delete_job(sp: Spool, state: dict, job: dict) -> None:
    log_event(job, f"Job deleted at request of {me().pw_name}@{sp.server}")
    job["deleted"] = True
    job["deleted_by"] = me().pw_name
    sp.queue.cancel(job)  # a running job: its shepherd ends it (SIGTERM, SIGKILL later)
    if job["state"] == jobq.ENDED:
        if job["end"] != jobq.END_CANCELLED:  # its shepherd was gone
            job["exit_code"] = read_exit(sp, job)
        finished(sp, job)


def cmd_qdel(sp: Spool, prog: str, args: list[str]) -> int:
    ids = [a for a in args if not a.startswith("-")]
    if not ids:
        sys.stderr.write(
            f"usage: {prog} [{{ -a | -c | -p | -t | -W delay | -m message}}] <JOBID>[ <JOBID>]|'all'|'ALL'...\n"
        )
        return 2
    code = 0
    errors = []
    with sp.locked() as state:
        schedule(sp, state)
        for job_id in ids:
            job = _resolve(sp, state, job_id)
            if job is None:
                errors.append(f"{prog}: Unknown Job Id {job_id}")
                code = UNKNOWN
            elif not jobq.may_change(job) and sp.flavour == "pbspro":
                errors.append(f"{prog}: Unauthorized Request  {job_id}")
                code = PERM
            elif not jobq.may_change(job):
                errors.append(f"{prog}: Unauthorized Request  MSG=operation not permitted {job_id}")
                code = PERM
            elif view(sp, job)["state"] == "F":
                errors.append(f"{prog}: Job has finished {job_id}")
                code = HISTJOB
            elif view(sp, job)["state"] == "C":
                errors.append(
                    f"{prog}: Request invalid for state of job MSG=invalid state for job - COMPLETE {job_id}"
                )
                code = BADSTATE
            else:
                delete_job(sp, state, job)
        schedule(sp, state)
    if errors:
        sys.stderr.write("\n".join(errors) + "\n")
    return code


def cmd_qrls(sp: Spool, prog: str, args: list[str]) -> int:
    code = 0
    with sp.locked() as state:
        for job_id in [a for a in args if not a.startswith("-")]:
            job = _resolve(sp, state, job_id)
            if job is None:
                sys.stderr.write(f"{prog}: Unknown Job Id {job_id}\n")
                code = UNKNOWN
            elif job["state"] == jobq.HELD:
                sp.queue.release(job)
        schedule(sp, state)
    return code


def hold_running(sp: Spool, job: dict) -> None:
    """qhold of a running job on a server with checkpoint/restart (as this one acts): the
    job gives its slots back and waits held; its shepherd stops it (SIGUSR1) and leaves the
    record alone, and a release starts it again from the top (the "checkpoint" is empty)."""
    shepherd_pid = job.get("supervisor_pid")
    sp.queue.vacate(job, held=True)
    job["cancel"] = True  # a shepherd still starting it stops it when it records the start
    if shepherd_pid:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(shepherd_pid, signal.SIGUSR1)


def cmd_qhold(sp: Spool, prog: str, args: list[str]) -> int:
    """A USER hold (the only one here, owner or root): a queued job is held; a running one
    is checkpointed, requeued and held (:func:`hold_running`)."""
    ids = [a for a in args if not a.startswith("-")]
    code = 0
    with sp.locked() as state:
        schedule(sp, state)
        for job_id in ids:
            job = _resolve(sp, state, job_id)
            if job is None:
                sys.stderr.write(f"{prog}: Unknown Job Id {job_id}\n")
                code = UNKNOWN
            elif not jobq.may_change(job):
                sys.stderr.write(
                    f"{prog}: Unauthorized Request  MSG=operation not permitted {job_id}\n"
                )
                code = PERM
            elif job["state"] == jobq.QUEUED:
                sp.queue.hold(job)
                log_event(job, f"Holds u set at request of {me().pw_name}@{sp.server}")
            elif job["state"] == jobq.RUNNING and not job.get("deleted"):
                hold_running(sp, job)
                log_event(job, f"Holds u set at request of {me().pw_name}@{sp.server}")
            elif job["state"] == jobq.ENDED:
                sys.stderr.write(
                    f"{prog}: Request invalid for state of job MSG=invalid state for job - COMPLETE {job_id}\n"
                )
                code = BADSTATE
        schedule(sp, state)
    return code


def cmd_mjobctl(sp: Spool, prog: str, args: list[str]) -> int:
    if not args or args[0] not in ("-c", "-u", "-h"):
        sys.stderr.write("ERROR:    invalid action specified\n")
        return 1
    action, ids = args[0], args[1:]
    code = 0
    with sp.locked() as state:
        schedule(sp, state)
        for job_id in ids:
            job = _resolve(sp, state, job_id)
            if job is None or job["state"] == jobq.ENDED:
                sys.stderr.write(f"ERROR:  invalid job specified ({job_id})\n\n")
                code = 1
                continue
            if not jobq.may_change(job):
                sys.stderr.write(
                    f"ERROR:  user {me().pw_name} is not authorized to cancel job '{job_id}'\n"
                )
                code = 1
                continue
            if action == "-c":
                delete_job(sp, state, job)
                sys.stdout.write(f"\n\njob '{job_id}' cancelled\n\n")
            elif action == "-u" and job["state"] == jobq.HELD:
                sp.queue.release(job)
                sys.stdout.write(f"\n\nholds modified for job {job_id}\n\n")
            elif action == "-h" and job["state"] == jobq.QUEUED:
                sp.queue.hold(job)
                sys.stdout.write(f"\n\nholds modified for job {job_id}\n\n")
        schedule(sp, state)
    return code


# --- Moab: showq / checkjob / mdiag -j -------------------------------------------------------


def moab_state(job: dict) -> str:
    if job["state"] == "H":
        return "UserHold"
    if job["state"] == "Q":
        return "Idle"
    if job["state"] == "R":
        return "Running"
    if job["state"] == "E":
        return "Canceling" if job.get("deleted") else "Running"
    if job["state"] == "C":
        return "Removed" if job.get("deleted") else "Completed"
    return "Idle"


def moab_attrs(sp: Spool, job: dict) -> dict[str, str]:
    now = time.time()
    attrs = {
        "Account": job.get("account") or "",
        "Class": job["queue"],
        "DRMJID": f"{job['seq']}.{sp.server}",
        "EEDuration": str(int(now - job["etime"])),
        "GJID": job["seq"],
        "Group": job["group"],
        "JobID": job["seq"],
        "JobName": job["name"],
        "ReqAWDuration": str(job.get("walltime_s") or 0),
        "ReqProcs": str(job["chunks"] * job["per_chunk"]),
        "StartPriority": "0",
        "StartTime": str(int(job.get("stime") or 0)),
        "State": moab_state(job),
        "SubmissionTime": str(int(job["ctime"])),
        "SuspendDuration": "0",
        "User": job["owner"],
    }
    if not attrs["Account"]:
        del attrs["Account"]
    if job.get("stime"):
        end = job.get("comp_time") or now
        attrs["AWDuration"] = str(int(end - job["stime"]))
        attrs["MasterHost"] = job["alloc"][0][0] if job["alloc"] else ""
        attrs["PAL"] = "torque"
        attrs["RunPriority"] = "0"
        attrs["RsvStartTime"] = str(int(job["stime"]))
        attrs["StatPSDed"] = "0.000000"
        attrs["StatPSUtl"] = "0.000000"
    if job["state"] == "C":
        attrs["CompletionCode"] = "CNCLD" if job.get("deleted") else str(job.get("exit_status"))
        attrs["CompletionTime"] = str(int(job["comp_time"]))
        attrs["ReqNodes"] = str(job["chunks"])
    if job["state"] == "H":
        attrs["BlockReason"] = "Hold"
        attrs["Description"] = "job has hold in place"
    return dict(sorted(attrs.items()))


def _job_element(attrs: dict[str, str], indent: str = "  ") -> str:
    return indent + "<job " + " ".join(f"{k}={quoteattr(v)}" for k, v in attrs.items()) + "/>"


def cluster_element(sp: Spool, state: dict) -> str:
    nodes = sp.config["nodes"]
    used = sp.queue.used()
    total = sum(nodes.values())
    alloc = sum(used.values())
    active = sum(1 for n in nodes if used.get(n))
    attrs = {
        "LocalActiveNodes": active,
        "LocalAllocProcs": alloc,
        "LocalConfigNodes": len(nodes),
        "LocalIdleNodes": len(nodes) - active,
        "LocalIdleProcs": total - alloc,
        "LocalUpNodes": len(nodes),
        "LocalUpProcs": total,
        "RemoteActiveNodes": 0,
        "RemoteAllocProcs": 0,
        "RemoteConfigNodes": 0,
        "RemoteIdleNodes": 0,
        "RemoteIdleProcs": 0,
        "RemoteUpNodes": 0,
        "RemoteUpProcs": 0,
        "time": int(time.time()),
    }
    return " <cluster " + " ".join(f'{k}="{v}"' for k, v in attrs.items()) + "/>"


def _queue_element(option: str, jobs: list[str], extra: str = "") -> str:
    if not jobs:
        return f' <queue count="0" option="{option}"{extra}/>'
    return "\n".join([f' <queue count="{len(jobs)}" option="{option}"{extra}>', *jobs, " </queue>"])


def cmd_showq(sp: Spool, prog: str, args: list[str]) -> int:
    xml_out = "--xml" in args
    completed = "-c" in args
    with sp.locked() as state:
        schedule(sp, state)
        jobs = views(sp)
        cluster = cluster_element(sp, state)
    if not xml_out:
        sys.stdout.write(showq_text(sp, jobs, completed))
        return 0
    lines = ["<Data>", " <Object>queue</Object>", cluster]
    if completed:
        done = [_job_element(moab_attrs(sp, j)) for j in jobs if j["state"] == "C"]
        purge = int(float(sp.config.get("moab_purge_time", 300)))
        lines.append(_queue_element("completed", done, f' purgetime="{purge}"'))
    else:
        active = [_job_element(moab_attrs(sp, j)) for j in jobs if j["state"] in ("R", "E")]
        eligible = [
            _job_element(moab_attrs(sp, j))
            for j in jobs
            if j["state"] == "Q" and not j.get("never")
        ]
        blocked = [
            _job_element(moab_attrs(sp, j))
            for j in jobs
            if j["state"] == "H" or (j["state"] == "Q" and j.get("never"))
        ]
        lines += [
            _queue_element("active", active),
            _queue_element("eligible", eligible),
            _queue_element("blocked", blocked),
        ]
    lines.append("</Data>")
    sys.stdout.write("\n".join(lines) + "\n")
    return 0


def showq_text(sp: Spool, jobs: list[dict], completed: bool) -> str:
    out = [
        "",
        "active jobs------------------------",
        "JOBID              USERNAME      STATE PROCS   REMAINING            STARTTIME",
        "",
    ]
    for j in jobs:
        if j["state"] in ("R", "E"):
            out.append(
                f"{j['seq']:<18} {j['owner']:<12} {moab_state(j):>7} {j['chunks'] * j['per_chunk']:>5}"
            )
    out += [
        "",
        "eligible jobs----------------------",
        "JOBID              USERNAME      STATE PROCS     WCLIMIT            QUEUETIME",
        "",
    ]
    for j in jobs:
        if j["state"] == "Q":
            out.append(
                f"{j['seq']:<18} {j['owner']:<12} {'Idle':>7} {j['chunks'] * j['per_chunk']:>5}"
            )
    out += [
        "",
        "blocked jobs-----------------------",
        "JOBID              USERNAME      STATE PROCS     WCLIMIT            QUEUETIME",
        "",
    ]
    for j in jobs:
        if j["state"] == "H":
            out.append(
                f"{j['seq']:<18} {j['owner']:<12} {'UserHold':>7} {j['chunks'] * j['per_chunk']:>5}"
            )
    out.append("")
    out.append(f"Total jobs:  {len(jobs)}")
    return "\n".join(out) + "\n\n"


def cmd_checkjob(sp: Spool, prog: str, args: list[str]) -> int:
    ids = [a for a in args if not a.startswith("-")]
    with sp.locked() as state:
        schedule(sp, state)
        found = []
        code = 0
        for job_id in ids:
            job = _resolve(sp, state, job_id)
            if job is None:
                sys.stderr.write(f"ERROR:  cannot locate job '{job_id}'\n")
                code = 1
            else:
                found.append(view(sp, job))
    if "--xml" in args:
        parts = ["<Data>"]
        for j in found:
            attrs = moab_attrs(sp, j)
            attrs["EState"] = attrs["State"]
            nodes = ",".join(f"{n}:{c}" for n, _f, c in j["alloc"])
            req = (
                f'<req AllocNodeList="{nodes}" ReqProcPerTask="{j["per_chunk"]}"/>'
                if nodes
                else "<req/>"
            )
            parts.append(
                "<job "
                + " ".join(f"{k}={quoteattr(v)}" for k, v in sorted(attrs.items()))
                + ">"
                + req
                + "</job>"
            )
        parts.append("</Data>")
        if found:
            sys.stdout.write("".join(parts) + "\n")
    else:
        for j in found:
            sys.stdout.write(f"job {j['seq']}\n\nAName: {j['name']}\nState: {moab_state(j)}\n")
    return code


def cmd_mdiag(sp: Spool, prog: str, args: list[str]) -> int:
    if "-j" not in args:
        sys.stderr.write("ERROR:    mdiag emulation supports only -j\n")
        return 1
    with sp.locked() as state:
        schedule(sp, state)
        jobs = views(sp)
    if "--xml" in args:
        sys.stdout.write(
            "<Data>" + "".join(_job_element(moab_attrs(sp, j), "") for j in jobs) + "</Data>\n"
        )
    else:
        for j in jobs:
            sys.stdout.write(f"{j['seq']:<18} {moab_state(j):<9} {j['owner']}\n")
    return 0


def cmd_tracejob(sp: Spool, prog: str, args: list[str]) -> int:
    """Server log lines of one job (``tracejob [-n days] [-q] <id>``); exit 0 even if none."""
    ids = [a for i, a in enumerate(args) if not a.startswith("-") and args[i - 1] != "-n"]
    if len(ids) != 1:
        sys.stderr.write(
            f"usage: {prog} [-a|s|l|m|v] [-w size] [-p path] [-n days] [-f filter_type] job_id\n"
        )
        return 1
    job_id = ids[0]
    with sp.locked() as state:
        schedule(sp, state)
        seq = job_id.split(".", 1)[0]
        record = sp.queue.get(seq) or sp.queue.state["history"].get(seq)
        events = list(record.get("events", [])) if record else []
    day = time.strftime("%Y%m%d")
    if not events:
        for folder in ("mom_logs", "sched_logs"):
            sys.stderr.write(f"/var/spool/torque/{folder}/{day}: No such file or directory\n")
        return 0
    lines = ["", f"Job: {job_id}", ""]
    for stamp, text in events:
        lines.append(time.strftime("%m/%d/%Y %H:%M:%S", time.localtime(stamp)) + f"  S    {text}")
    sys.stdout.write("\n".join(lines) + "\n")
    return 0


# --- entry point ----------------------------------------------------------------------------

COMMANDS = {
    "qsub": cmd_qsub,
    "msub": cmd_qsub,
    "qstat": cmd_qstat,
    "qdel": cmd_qdel,
    "qrls": cmd_qrls,
    "qhold": cmd_qhold,
    "pbsnodes": cmd_pbsnodes,
    "mjobctl": cmd_mjobctl,
    "showq": cmd_showq,
    "checkjob": cmd_checkjob,
    "mdiag": cmd_mdiag,
    "tracejob": cmd_tracejob,
}


def main(flavour: str, prog: str, args: list[str]) -> int:
    if prog == "__shepherd__":
        return shepherd(args[0], args[1], args[2])
    # Moab's bin also carries the Torque tools of its resource manager (same queue).
    sp = Spool(flavour)
    try:
        return COMMANDS[prog](sp, prog, args)
    except BrokenPipeError:
        return 141


if __name__ == "__main__":
    sys.dont_write_bytecode = True
    if len(sys.argv) > 1 and sys.argv[1] == "__shepherd__":
        sys.exit(main(sys.argv[2], "__shepherd__", sys.argv[2:]))
    sys.exit(
        main(
            os.environ.get("PBSEMU_FLAVOUR", "torque"), os.path.basename(sys.argv[0]), sys.argv[1:]
        )
    )
