#!/usr/bin/python3
"""A CLI-faithful emulator of IBM Spectrum LSF for tests: ``bsub``, ``bjobs``, ``bkill``,
``bstop``, ``bqueues``, ``bparams`` and ``bacct`` on one host, standard library only.

The executables in ``bin/`` are symbolic links to this file; the program name selects the
command. There is no daemon:

* the queue is a JSON file in the spool folder (``$LSF_EMU_SPOOL``, default
  ``/tmp/lsf-emulator``), kept by the emulators' shared kernel: tests/harness/
  emulator_kernel.py (the locked spool, starting jobs as their owners, the job supervisor)
  and emulator_queue.py (the job record and its states, scheduling, cancel, history), whose
  states and reasons this front end names in LSF's words (:func:`view`);
* pending jobs are dispatched lazily, at every command and whenever a job ends, as long as
  the host's slots (``slots`` in ``config.json``) and the queue's ``MAX`` allow (first come,
  first served, no backfill);
* each running job has a supervisor process (``sbatchd``, the kernel's) that runs the script
  in its own process group, enforces the run limit (``-W``: SIGUSR2, then SIGKILL; exit code
  140), delivers ``bkill`` (SIGINT, SIGTERM, SIGKILL after ``terminate_grace`` seconds) and
  records the exit status, CPU time and finish time;
* finished jobs are listed for ``clean_period`` seconds, then ``bjobs`` says
  ``Job <N> is not found`` while ``bacct`` still knows them.

Output formats follow the real tools (see tests/lsf/test_lsf_emulator_formats.py, which checks
them against verbatim LSF output).
"""

from __future__ import annotations

import contextlib
import errno
import functools
import json
import os
import re
import shlex
import signal
import socket
import sys
import time
from collections.abc import Callable
from typing import Any

_HERE = os.path.dirname(os.path.realpath(__file__))
sys.path[:0] = [_HERE, os.path.join(_HERE, "..", "..", "harness")]  # installed copy, checkout
import emulator_kernel as kernel  # noqa: E402
import emulator_queue as jobq  # noqa: E402

SPOOL_ENV = "LSF_EMU_SPOOL"
DEFAULT_SPOOL = "/tmp/lsf-emulator"
WAIT_LINE = "LSF is processing your request. Please wait ..."

DEFAULT_CONFIG: dict = {
    "cluster": "emulated",
    "host": None,  # default: the short host name
    "slots": 4,
    "clean_period": 3600,
    "terminate_grace": 10,
    "dispatch_delay": 0,
    # LSF's LSB_STDOUT_DIRECT: write the job's output to the -o file while it runs (True), or
    # spool it and copy it there, after the job report, when the job ends (False, LSF default)
    "stdout_direct": False,
    # write the job report ("Sender: LSF System ...", the script, the outcome) into -o
    "job_report": True,
    # seconds that one minute of -W lasts (60; tests use less to see run limits act)
    "runlimit_scale": 60,
    # where -json puts unknown ids: "record" ({"ERROR": ...} in RECORDS) or "stderr"
    "json_not_found": "record",
    "queues": [
        {
            "name": "normal",
            "default": True,
            "priority": 30,
            "description": "For normal low priority jobs, running only if hosts are lightly "
            "loaded.  This is the default queue.",
            "max": None,
            "default_runlimit_min": None,
            "max_runlimit_min": 720,
            "memlimit": None,
        },
        {
            "name": "short",
            "default": False,
            "priority": 40,
            "description": "Jobs of up to one hour.",
            "max": None,
            "default_runlimit_min": 30,
            "max_runlimit_min": 60,
            "memlimit": "8 G",
        },
    ],
}

ACTIVE = ("PEND", "PSUSP", "RUN", "USUSP", "SSUSP")
RUNNING = ("RUN", "USUSP", "SSUSP")

REASON_NEW = "New job is waiting for scheduling"
REASON_SLOTS = "Not enough job slot(s)"
REASON_QUEUE_FULL = "The queue has reached its job slot limit"
REASON_QUEUE_INACTIVE = "The queue is inactivated by the administrator"
REASON_HELD = "The job was suspended by the user while pending"

#: The kernel's states and reasons in LSF's words.
STATS = {jobq.QUEUED: "PEND", jobq.HELD: "PSUSP", jobq.RUNNING: "RUN", jobq.SUSPENDED: "USUSP"}
PEND_REASONS = {
    jobq.REASON_NEW: REASON_NEW,
    jobq.REASON_OWNER: REASON_NEW,
    jobq.REASON_HELD: REASON_HELD,
    jobq.REASON_QUEUE_INACTIVE: REASON_QUEUE_INACTIVE,
    jobq.REASON_QUEUE_FULL: REASON_QUEUE_FULL,
    jobq.REASON_SLOTS: f"{REASON_SLOTS}: 1 host",
    jobq.REASON_BLOCKED: f"{REASON_SLOTS}: 1 host",
    jobq.REASON_NEVER: f"{REASON_SLOTS}: 1 host",
}
TERM_REASONS = {
    jobq.END_LIMIT: "TERM_RUNLIMIT",
    jobq.END_CANCEL: "TERM_OWNER",
    jobq.END_CANCELLED: "TERM_OWNER",
    jobq.END_LOST: "lost",
}

MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def view(job: dict) -> dict:
    """A kernel job record in LSF's words: what the formatters read."""
    if job["state"] == jobq.ENDED:
        stat = "DONE" if job["exit_code"] == 0 else "EXIT"
    else:
        stat = STATS[job["state"]]
    return {
        **job,
        "stat": stat,
        "pend_reason": PEND_REASONS.get(job["reason"], "") if job["reason"] else "",
        "exec_host": job["host"],
        "finish_time": job["end_time"],
        "runlimit": job["limit"],
        "term_reason": TERM_REASONS.get(job["end"] or "", ""),
    }


# --- spool, config, state -----------------------------------------------------------------------


def spool_dir() -> str:
    return kernel.spool_folder(SPOOL_ENV, DEFAULT_SPOOL, "jobs")


def load_config(spool: str) -> dict:
    config = json.loads(json.dumps(DEFAULT_CONFIG))
    with contextlib.suppress(FileNotFoundError), open(os.path.join(spool, "config.json")) as f:
        config.update(json.load(f))
    if not config.get("host"):
        config["host"] = socket.gethostname().split(".")[0]
    return config


def write_config(spool: str, **settings: object) -> None:
    """Write ``config.json`` in ``spool`` (for tests and admins): defaults plus ``settings``."""
    os.makedirs(spool, exist_ok=True)
    os.chmod(spool, 0o1777)
    config = {**DEFAULT_CONFIG, **settings}
    path = os.path.join(spool, "config.json")
    with open(path, "w") as f:
        json.dump(config, f, indent=1)
    os.chmod(path, 0o644)


class Cluster:
    """The emulated cluster: config and the kernel's queue, used inside :func:`locked`."""

    def __init__(self, spool: str, state: dict, busy: bool) -> None:
        self.spool = spool
        self.config = load_config(spool)
        self.host = self.config["host"]
        self.now = time.time()
        self.queue = jobq.Queue(state, self.now)
        self.uid = os.getuid()
        self.user = kernel.user_name(self.uid)
        self.busy = busy  # the lock was busy: like mbatchd, commands say to wait

    def lsf_queue(self, name: str) -> dict | None:
        for q in self.config["queues"]:
            if q["name"] == name:
                return q
        return None

    def default_queue(self) -> dict:
        for q in self.config["queues"]:
            if q.get("default"):
                return q
        return self.config["queues"][0]

    def jobs(self) -> list[dict]:
        """The jobs ``bjobs`` knows, in LSF's words (finished ones for CLEAN_PERIOD)."""
        return [view(j) for j in self.queue.jobs()]


@contextlib.contextmanager
def locked(spool: str | None = None):
    """The cluster with its state loaded, under the exclusive lock; saved on exit."""
    spool = spool or spool_dir()
    with kernel.locked_state(spool, busy_after=0.5) as held:
        cluster = Cluster(spool, held.state, held.busy)
        cluster.queue.reap()  # supervisors that died without recording their job
        cluster.queue.purge(after=float(cluster.config["clean_period"]))
        schedule(cluster)
        yield cluster


def busy_lines(cluster: Cluster) -> str:
    forced = int(os.environ.get("LSF_EMU_BUSY_LINES", "0") or 0)
    count = forced or (1 if cluster.busy else 0)
    return "".join(WAIT_LINE + "\n" for _ in range(count))


# --- scheduling -------------------------------------------------------------------------------


def schedule(cluster: Cluster) -> None:
    """Dispatch pending jobs in submission order while the host's slots and the queues' MAX
    allow (FIFO, no backfill); jobs start only by their owner's (or root's) commands."""
    limits = {
        q["name"]: {
            "max": q.get("max"),
            "active": not str(q.get("status", "Open:Active")).endswith("Inact"),
        }
        for q in cluster.config["queues"]
    }
    cluster.queue.schedule(
        {cluster.host: cluster.config["slots"]},
        lambda job: dispatch(cluster, job),
        queues=limits,
        backfill=False,
        delay=float(cluster.config.get("dispatch_delay", 0)),
    )


def dispatch(cluster: Cluster, job: dict) -> None:
    argv = [sys.executable, os.path.realpath(__file__), "--sbatchd", cluster.spool, job["id"]]
    jobq.spawn_supervisor(job, argv)


# --- time and text helpers --------------------------------------------------------------------


def lsf_time(ts: float | None) -> str:
    """``Oct 19 17:10`` (day padded with a space: ``Jan  7 09:59``)."""
    if not ts:
        return ""
    t = time.localtime(ts)
    return f"{MONTHS[t.tm_mon - 1]} {t.tm_mday:2d} {t.tm_hour:02d}:{t.tm_min:02d}"


def parse_runlimit(text: str) -> int | None:
    """Seconds from ``-W [hour:]minute``; ``None`` if malformed."""
    match = re.fullmatch(r"(?:(\d+):)?(\d+)", text.strip())
    if not match:
        return None
    return (int(match.group(1) or 0) * 60 + int(match.group(2))) * 60


def expand_path(path: str, job_id: str) -> str:
    return path.replace("%J", job_id).replace("%I", "0")


def exec_host_value(job: dict) -> str:
    if job["stat"] not in RUNNING and not job.get("start_time"):
        return ""
    host = job.get("exec_host") or ""
    return f"{job['slots']}*{host}" if host and job["slots"] > 1 else host


# --- bsub -------------------------------------------------------------------------------------

BSUB_VALUE_OPTS = {
    "-q", "-J", "-o", "-oo", "-e", "-eo", "-W", "-We", "-n", "-M", "-R", "-gpu", "-P", "-U",
    "-cwd", "-env", "-clusters", "-m", "-G", "-app", "-L", "-u", "-w", "-E", "-Ep", "-sp",
    "-c", "-v", "-S", "-F", "-D", "-C", "-b", "-t", "-g", "-Jd", "-outdir", "-i", "-is",
}  # fmt: skip
BSUB_FLAGS = {"-H", "-x", "-B", "-N", "-I", "-K", "-r", "-rn", "-hl", "-ul", "-Is", "-Ip"}


def parse_bsub_args(args: list[str]) -> tuple[dict, list[str], str | None]:
    """Options (last one wins, -R accumulates), the command words, and an error message."""
    try:
        opts, command = kernel.scan_options(
            args, BSUB_FLAGS, set(BSUB_VALUE_OPTS) - {"-R"}, repeated={"-R"}, until_operand=True
        )
    except kernel.BadOption as e:
        return {"-R": []}, [], _option_error("bsub", e)
    return opts, command, None


def _option_error(tool: str, error: kernel.BadOption) -> str:
    """How LSF's commands say that an option is wrong."""
    if error.missing:
        return f"{tool}: option requires an argument -- {error.option[1:]}"
    return f"{tool}: illegal option -- {error.option.lstrip('-')}"


def directives(script: str) -> list[str]:
    """The arguments of the leading ``#BSUB`` lines (up to the first command line)."""
    out: list[str] = []
    for n, line in enumerate(script.splitlines()):
        stripped = line.strip()
        if n == 0 and stripped.startswith("#!"):
            continue
        if not stripped:
            continue
        if stripped.startswith("#BSUB"):
            out += shlex.split(stripped[len("#BSUB") :], comments=False)
        elif stripped.startswith("#"):
            continue
        else:
            break
    return out


def cmd_bsub(args: list[str], stdin_text: str | None) -> int:
    cli_opts, command, error = parse_bsub_args(args)
    if error:
        sys.stderr.write(error + "\nUsage: bsub [options] command [arguments]\n")
        return 255
    if command:
        script = "#!/bin/sh\n" + shlex.join(command) + "\n"
    else:
        script = stdin_text if stdin_text is not None else sys.stdin.read()
    file_opts, _, error = parse_bsub_args(directives(script))
    if error:
        sys.stderr.write(error + "\n")
        return 255
    opts = {**file_opts, **{k: v for k, v in cli_opts.items() if k != "-R"}}
    opts["-R"] = file_opts["-R"] + cli_opts["-R"]
    spool = spool_dir()
    with locked(spool) as cluster:
        prefix = busy_lines(cluster)
        queue = cluster.lsf_queue(opts["-q"]) if "-q" in opts else cluster.default_queue()
        if queue is None:
            sys.stdout.write(prefix)
            sys.stderr.write(f"{opts['-q']}: No such queue. Job not submitted.\n")
            return 255
        runlimit = None
        if "-W" in opts:
            runlimit = parse_runlimit(opts["-W"])
            if runlimit is None:
                sys.stdout.write(prefix)
                sys.stderr.write(f"{opts['-W']}: Bad RUNLIMIT specification. Job not submitted.\n")
                return 255
        elif queue.get("default_runlimit_min"):
            runlimit = int(queue["default_runlimit_min"]) * 60
        qmax = queue.get("max_runlimit_min")
        if runlimit and qmax and runlimit > int(qmax) * 60:
            sys.stdout.write(prefix)
            sys.stderr.write(
                "Job run limit exceeds the queue's run limit (RUNLIMIT). Job not submitted.\n"
            )
            return 255
        if runlimit:  # tests shorten minutes: "runlimit_scale" seconds per minute
            runlimit = runlimit * float(cluster.config.get("runlimit_scale", 60)) / 60
        slots_text = str(opts.get("-n", "1")).split(",")[-1]
        if not slots_text.isdigit() or int(slots_text) < 1:
            sys.stdout.write(prefix)
            sys.stderr.write(f"{opts['-n']}: Bad argument for option -n. Job not submitted.\n")
            return 255
        cwd = opts.get("-cwd") or os.getcwd()
        output = opts.get("-oo") or opts.get("-o")
        error_file = opts.get("-eo") or opts.get("-e")
        job = cluster.queue.submit(
            cluster.uid,
            name=opts.get("-J") or (shlex.join(command) if command else "bsub < script"),
            queue=queue["name"],
            per_chunk=int(slots_text),
            limit=runlimit,
            held=bool(opts.get("-H")),
            project=opts.get("-P") or "default",
            from_host=cluster.host,
            cwd=cwd,
            output_file=output,
            error_file=error_file,
            output_append="-oo" not in opts,
            error_append="-eo" not in opts,
            memlimit=opts.get("-M"),
            rusage=opts["-R"],
            gpu=opts.get("-gpu"),
        )
        job_id = job["id"]
        # the job file and the submission environment, private to the user
        base = os.path.join(spool, "jobs", job_id)
        for suffix, content in ((".sh", script), (".env", json.dumps(dict(os.environ)))):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(base + suffix)
            fd = os.open(base + suffix, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(content)
        schedule(cluster)
    default = "" if "-q" in opts else "default "
    sys.stdout.write(f"{prefix}Job <{job_id}> is submitted to {default}queue <{queue['name']}>.\n")
    return 0


# --- the job supervisor -----------------------------------------------------------------------


def sbatchd(spool: str, job_id: str) -> int:
    """Run one dispatched job to its end (runs as the job's owner, in its own session)."""
    with locked(spool) as cluster:
        job = cluster.queue.get(job_id)
        if not job or job["state"] != jobq.RUNNING or job["supervisor_pid"] != os.getpid():
            return 0
        grace = float(cluster.config.get("terminate_grace", 10))
        base = os.path.join(spool, "jobs", job_id)
        host = cluster.host
    with open(base + ".env") as f:
        env = json.load(f)
    env.update(
        LSB_JOBID=job_id,
        LSB_JOBNAME=job["name"],
        LSB_QUEUE=job["queue"],
        LSB_HOSTS=" ".join([host] * job["slots"]),
        LSB_MCPU_HOSTS=f"{host} {job['slots']}",
        LSB_DJOB_NUMPROC=str(job["slots"]),
        LSB_MAX_NUM_PROCESSORS=str(job["slots"]),
        LSB_JOBFILENAME=base + ".sh",
        LSB_SUB_HOST=job["from_host"],
        LS_SUBCWD=job["cwd"],
        LSB_EXEC_CLUSTER=cluster.config["cluster"],
    )
    # Like LSF's default (LSB_STDOUT_DIRECT=N), output goes to a spool file and is copied to
    # the -o file after the job report when the job ends; with "stdout_direct" it is written
    # to the -o file at once and the report appended at the end.
    direct = bool(cluster.config.get("stdout_direct")) or not job["output_file"]
    if direct:
        out = _open_output(job["output_file"], job_id, job["output_append"])
    else:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(base + ".out")
        out = os.open(base + ".out", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    err = out
    if job["error_file"] and job["error_file"] != job["output_file"]:
        err = _open_output(job["error_file"], job_id, job["error_append"])
    started = time.time()
    if job["output_file"]:
        env["LSB_OUTPUTFILE"] = expand_path(job["output_file"], job_id)
    if job["error_file"]:
        env["LSB_ERRORFILE"] = expand_path(job["error_file"], job_id)
    with open(base + ".sh") as f:
        first = f.readline().strip()
    argv = [*shlex.split(first[2:]), base + ".sh"] if first.startswith("#!") else ["/bin/sh"]
    if not first.startswith("#!"):
        argv.append(base + ".sh")
    cwd = job["cwd"] if os.access(job["cwd"], os.X_OK) else (env.get("HOME") or "/tmp")
    start = functools.partial(
        kernel.start_job, argv, stdout=out, stderr=err, env=env, cwd=cwd, limit=job["limit"],
        grace=grace, limit_signals=(signal.SIGUSR2,),
        cancel_signals=(signal.SIGINT, signal.SIGTERM),
    )  # fmt: skip
    try:  # bkill: SIGUSR1, or before the job started: at once
        job_run = jobq.start_recorded(start, lambda: locked(spool), job_id)
    except OSError as e:
        os.write(err, f"{argv[0]}: {e}\n".encode())
        return _record_end(spool, job_id, kernel.supervisor.Outcome(127))
    outcome = job_run.wait()
    code, cpu = outcome.exit_code, outcome.cpu_seconds
    reason = _STOPPED_REASONS.get(outcome.stopped, "")
    if job["output_file"] and cluster.config.get("job_report", True):
        with open(base + ".sh") as f:
            script = f.read()
        report = job_report(job, cluster.config["cluster"], host, code, reason, cpu,
                            script, started, time.time(), env.get("HOME", ""), cwd)  # fmt: skip
        if direct:
            os.write(out, ("\n" + report).encode())
        else:
            final = _open_output(job["output_file"], job_id, job["output_append"])
            os.write(final, (report + "\nThe output (if any) follows:\n\n").encode())
            with open(base + ".out", "rb") as f:
                while chunk := f.read(1 << 16):
                    os.write(final, chunk)
            os.close(final)
            os.unlink(base + ".out")
    return _record_end(spool, job_id, outcome)


_STOPPED_REASONS = {
    kernel.supervisor.LIMIT: "TERM_RUNLIMIT",
    kernel.supervisor.CANCEL: "TERM_OWNER",
}
_TERM_REASONS = {
    "TERM_RUNLIMIT": "TERM_RUNLIMIT: job killed after reaching LSF run time limit.",
    "TERM_OWNER": "TERM_OWNER: job killed by owner.",
}


def job_report(
    job: dict, cluster: str, host: str, code: int, reason: str, cpu: float, script: str,
    started: float, ended: float, home: str, cwd: str,
) -> str:  # fmt: skip
    """The job report LSF writes into the -o file when a job ends."""

    def when(ts: float) -> str:
        return time.strftime("%a %b %d %H:%M:%S %Y", time.localtime(ts))

    if code == 0:
        outcome = "Successfully completed."
    else:
        outcome = f"Exited with exit code {code}."
        if reason in _TERM_REASONS:
            outcome = f"{_TERM_REASONS[reason]}\n{outcome}"
    user, name = job["user"], job["name"]
    turnaround = round(ended - job["submit_time"])
    return (
        "Sender: LSF System <lsfadmin@" + host + ">\n"
        f"Subject: Job {job['id']}: <{name}> in cluster <{cluster}> "
        + ("Done" if code == 0 else "Exited")
        + "\n\n"
        f"Job <{name}> was submitted from host <{job['from_host']}> by user <{user}> in cluster "
        f"<{cluster}> at {when(job['submit_time'])}\n"
        f"Job was executed on host(s) <{host}>, in queue <{job['queue']}>, as user <{user}> in "
        f"cluster <{cluster}> at {when(started)}\n"
        f"<{home}> was used as the home directory.\n"
        f"<{cwd}> was used as the working directory.\n"
        f"Started at {when(started)}\n"
        f"Terminated at {when(ended)}\n"
        f"Results reported at {when(ended)}\n"
        "\nYour job looked like:\n\n"
        "------------------------------------------------------------\n"
        "# LSBATCH: User input\n"
        + script
        + ("" if script.endswith("\n") else "\n")
        + "------------------------------------------------------------\n\n"
        + outcome
        + "\n\nResource usage summary:\n\n"
        f"    CPU time :                                   {cpu:.2f} sec.\n"
        f"    Run time :                                   {round(ended - started)} sec.\n"
        f"    Turnaround time :                            {turnaround} sec.\n"
    )


def _open_output(path: str | None, job_id: str, append: bool) -> int:
    if not path:
        return os.open(os.devnull, os.O_WRONLY)
    flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if append else os.O_TRUNC)
    try:
        return os.open(expand_path(path, job_id), flags, 0o644)
    except OSError:
        return os.open(os.devnull, os.O_WRONLY)


def _record_end(spool: str, job_id: str, outcome: object) -> int:
    with locked(spool) as cluster:
        job = cluster.queue.get(job_id)
        if job:
            cluster.queue.ended(job, outcome)
        schedule(cluster)  # a job ended: start what was waiting for its slots
    return 0


# --- bjobs ------------------------------------------------------------------------------------

JSON_WITHOUT_O = (
    "bjobs: You cannot use the -json option when the -o option is not specified or the "
    "LSB_BJOBS_FORMAT parameter is not defined."
)

FIELDS = {
    "jobid": lambda c, j: j["id"],
    "stat": lambda c, j: j["stat"],
    "user": lambda c, j: j["user"],
    "user_group": lambda c, j: "",
    "queue": lambda c, j: j["queue"],
    "job_name": lambda c, j: j["name"],
    "proj_name": lambda c, j: j["project"],
    "from_host": lambda c, j: j["from_host"],
    "exec_host": lambda c, j: exec_host_value(j),
    "submit_time": lambda c, j: lsf_time(j["submit_time"]),
    "start_time": lambda c, j: lsf_time(j["start_time"]),
    "finish_time": lambda c, j: _finish_time(j),
    "exit_code": lambda c, j: str(j["exit_code"]) if j["stat"] == "EXIT" and j["exit_code"] else "",
    "pend_reason": lambda c, j: _pend_reason(j),
    "slots": lambda c, j: str(j["slots"]),
    "nexec_host": lambda c, j: "1" if exec_host_value(j) else "",
    "pids": lambda c, j: str(j["pgid"]) if j["stat"] in RUNNING and j.get("pgid") else "",
    "nthreads": lambda c, j: "",
    "exec_home": lambda c, j: "",
    "exec_cwd": lambda c, j: j["cwd"] if j.get("start_time") else "",
    "output_file": lambda c, j: j["output_file"] or "",
    "error_file": lambda c, j: j["error_file"] or "",
    "run_time": lambda c, j: _run_time(c, j),
}
#: Width of each field in the text form of ``-o`` (names longer than that widen it).
WIDTHS = {"jobid": 7, "stat": 5, "queue": 10, "job_name": 10, "exec_host": 11, "pend_reason": 11}


def _finish_time(job: dict) -> str:
    if job.get("finish_time"):
        return lsf_time(job["finish_time"]) + (" L" if job.get("runlimit") else "")
    if job["stat"] in RUNNING and job.get("runlimit"):
        return lsf_time(job["start_time"] + job["runlimit"]) + " L"
    return ""


def _pend_reason(job: dict) -> str:
    if job["stat"] in ("PEND", "PSUSP") and job.get("pend_reason"):
        return job["pend_reason"] + ";"
    return ""


def _run_time(cluster: Cluster, job: dict) -> str:
    if not job.get("start_time"):
        return "0 second(s)"
    end = job.get("finish_time") or cluster.now
    return f"{int(end - job['start_time'])} second(s)"


def parse_format(text: str) -> tuple[list[tuple[str, int | None]], str | None, str | None]:
    """Fields (name, width) and delimiter of a ``-o`` string; or an error message."""
    fields: list[tuple[str, int | None]] = []
    delimiter = None
    match = re.search(r"delimiter=(['\"])(.*?)\1", text)
    if match:
        delimiter = match.group(2)
        text = text[: match.start()] + text[match.end() :]
    for token in text.split():
        name, _, width = token.partition(":")
        name = name.lower()
        if name == "all":
            fields += [(f, None) for f in FIELDS]
            continue
        if name not in FIELDS:
            return [], None, f"{name}: Invalid field name specified with the -o option."
        fields.append((name, int(width.lstrip("-")) if width.lstrip("-").isdigit() else None))
    return fields, delimiter, None


def format_json(keys: list[str], records: list[dict[str, str]]) -> str:
    """bjobs' JSON layout: two-space indents, no space after the colons."""
    lines = ["{", '  "COMMAND":"bjobs",', f'  "JOBS":{len(records)},', '  "RECORDS":[']
    for n, record in enumerate(records):
        lines.append("    {")
        items = [
            f"      {json.dumps(k)}:{json.dumps(v, ensure_ascii=False)}" for k, v in record.items()
        ]
        lines.append(",\n".join(items))
        lines.append("    }," if n + 1 < len(records) else "    }")
    lines += ["  ]", "}"]
    return "\n".join(lines) + "\n"


def format_text(fields: list[tuple[str, int | None]], rows: list[list[str]], header: bool) -> str:
    widths = [max(w or WIDTHS.get(f, 10), len(f)) for f, w in fields]
    lines = []
    if header:
        lines.append(
            " ".join(f.upper().ljust(w) for (f, _), w in zip(fields, widths, strict=False)).rstrip()
        )
    for row in rows:
        cells = [(v or "-").ljust(w) for v, w in zip(row, widths, strict=False)]
        lines.append(" ".join(cells).rstrip())
    return "".join(line + "\n" for line in lines)


def _trunc(value: str, width: int, wide: bool) -> str:
    """The default table truncates long values, keeping the end: ``*l_cmd_bd)``."""
    return value if wide or len(value) <= width else "*" + value[-(width - 1) :]


def format_table(jobs: list[dict], wide: bool) -> str:
    head = "JOBID   USER    STAT  QUEUE      FROM_HOST   EXEC_HOST   JOB_NAME   SUBMIT_TIME\n"
    out = [head]
    for j in jobs:
        out.append(
            f"{j['id']:<7} {_trunc(j['user'], 7, wide):<7} {j['stat']:<5} "
            f"{_trunc(j['queue'], 10, wide):<10} {_trunc(j['from_host'], 11, wide):<11} "
            f"{_trunc(exec_host_value(j), 11, wide):<11} {_trunc(j['name'], 10, wide):<10} "
            f"{lsf_time(j['submit_time'])}\n"
        )
    return "".join(out)


BJOBS_VALUE_OPTS = ("-o", "-u", "-q", "-J", "-m", "-P", "-g", "-G")
BJOBS_FLAGS = ("-a", "-d", "-p", "-r", "-s", "-w", "-W", "-json", "-noheader", "-hms", "-X")


def cmd_bjobs(args: list[str]) -> int:
    try:
        opts, ids = kernel.scan_options(args, BJOBS_FLAGS, BJOBS_VALUE_OPTS)
    except kernel.BadOption as e:
        sys.stderr.write(_option_error("bjobs", e) + "\n")
        return 255
    fmt = opts.get("-o") or os.environ.get("LSB_BJOBS_FORMAT")
    if opts.get("-json") and not fmt:
        sys.stderr.write(JSON_WITHOUT_O + "\nUsage: bjobs [-h] [-V] [-json] -o ...\n")
        return 255
    if opts.get("-json") and opts.get("-noheader"):
        sys.stderr.write("bjobs: The -json option cannot be used with -noheader.\n")
        return 255
    fields: list[tuple[str, int | None]] = []
    delimiter = None
    if fmt:
        fields, delimiter, error = parse_format(fmt)
        if error:
            sys.stderr.write(f"bjobs: {error}\n")
            return 255
    with locked() as cluster:
        prefix = busy_lines(cluster)
        known = {j["id"]: j for j in cluster.jobs()}
        missing: list[str] = []
        if ids:
            jobs = []
            for job_id in ids:
                if job_id in known:
                    jobs.append(known[job_id])
                else:
                    missing.append(job_id)
        else:
            user = opts.get("-u", cluster.user)
            jobs = [
                j
                for j in known.values()
                if (user == "all" or j["user"] == user)
                and (j["stat"] in ACTIVE or opts.get("-a") or opts.get("-d"))
                and not (opts.get("-d") and j["stat"] in ACTIVE)
                and not (opts.get("-p") and j["stat"] not in ("PEND", "PSUSP"))
                and not (opts.get("-r") and j["stat"] != "RUN")
            ]
        if "-q" in opts:
            jobs = [j for j in jobs if j["queue"] == opts["-q"]]
        if "-J" in opts:
            jobs = [j for j in jobs if j["name"] == opts["-J"]]
        values = [[FIELDS[f](cluster, j) for f, _ in fields] for j in jobs]
    sys.stdout.write(prefix)
    not_found = [f"Job <{i}> is not found" for i in missing]
    if opts.get("-json"):
        keys = [f.upper() for f, _ in fields]
        records = [dict(zip(keys, row, strict=False)) for row in values]
        if cluster.config.get("json_not_found", "record") == "record":
            records += [{"ERROR": message} for message in not_found]
            not_found = []
        sys.stdout.write(format_json(keys, records))
    elif not jobs and not ids:
        sys.stderr.write("No unfinished job found\n" if not opts.get("-a") else "No job found\n")
        return 255
    elif fields and delimiter is not None:
        if not opts.get("-noheader"):
            sys.stdout.write(delimiter.join(f.upper() for f, _ in fields) + "\n")
        for row in values:
            sys.stdout.write(delimiter.join(v or "-" for v in row) + "\n")
    elif fields:
        sys.stdout.write(format_text(fields, values, header=not opts.get("-noheader")))
    elif jobs:
        sys.stdout.write(format_table(jobs, wide=bool(opts.get("-w"))))
    for message in not_found:
        sys.stderr.write(message + "\n")
    return 255 if missing else 0


# --- bkill ------------------------------------------------------------------------------------


def _change_jobs(
    args: list[str], usage: str, act: Callable[[Cluster, dict[str, Any]], str], all_ok: bool
) -> int:
    """bkill and bstop: each named job (``0``: all of the caller's unfinished ones, where
    ``all_ok``) its owner or root may change and that has not ended gets ``act`` (which
    returns the line LSF prints); the others get LSF's error lines; exit 255 on any."""
    ids = [a for a in args if not a.startswith("-")]
    if not ids:
        sys.stderr.write(f"Usage: {usage}\n")
        return 255
    errors = 0
    out: list[str] = []
    err: list[str] = []
    with locked() as cluster:
        prefix = busy_lines(cluster)
        if all_ok and ids == ["0"]:
            ids = [
                j["id"]
                for j in cluster.queue.jobs()
                if j["state"] in jobq.ACTIVE and jobq.may_change(j)
            ]
            if not ids:
                err.append("No unfinished job found")
                errors += 1
        for job_id in ids:
            job = cluster.queue.get(job_id)
            if job is None:
                err.append(f"Job <{job_id}>: No matching job found")
            elif not jobq.may_change(job):
                err.append(f"Job <{job_id}>: User permission denied")
            elif job["state"] == jobq.ENDED:
                err.append(f"Job <{job_id}>: Job has already finished")
            else:
                out.append(act(cluster, job))
                continue
            errors += 1
    sys.stdout.write(prefix + "".join(line + "\n" for line in out))
    sys.stderr.write("".join(line + "\n" for line in err))
    return 255 if errors else 0


def _kill(cluster: Cluster, job: dict[str, Any]) -> str:
    cluster.queue.cancel(job)  # its supervisor stops it on SIGUSR1
    return f"Job <{job['id']}> is being terminated"


def cmd_bkill(args: list[str]) -> int:
    return _change_jobs(args, "bkill [-s signal] job_ID ...", _kill, all_ok=True)


# --- bstop ------------------------------------------------------------------------------------


def _stop(cluster: Cluster, job: dict[str, Any]) -> str:
    if job["state"] == jobq.QUEUED:
        cluster.queue.hold(job)
    elif job["state"] == jobq.RUNNING:
        cluster.queue.suspend(job)
    return f"Job <{job['id']}> is being stopped"


def cmd_bstop(args: list[str]) -> int:
    """Suspend jobs as LSF does: a pending one stays pending (PSUSP), a running one is
    stopped where it runs (SIGSTOP, USUSP); its owner or root may."""
    return _change_jobs(args, "bstop job_ID ...", _stop, all_ok=False)


# --- bqueues, bparams -------------------------------------------------------------------------


def _queue_counts(cluster: Cluster, name: str) -> dict[str, int]:
    jobs = [j for j in cluster.jobs() if j["queue"] == name]
    count = {s: sum(j["slots"] for j in jobs if j["stat"] == s) for s in ACTIVE}
    return {
        "PEND": count["PEND"] + count["PSUSP"],
        "RUN": count["RUN"],
        "SSUSP": count["SSUSP"],
        "USUSP": count["USUSP"],
        "SUSP": count["SSUSP"] + count["USUSP"],
        "NJOBS": sum(count.values()),
    }


def format_bqueues(cluster: Cluster, queues: list[dict]) -> str:
    lines = ["QUEUE_NAME      PRIO STATUS          MAX JL/U JL/P JL/H NJOBS  PEND   RUN  SUSP"]
    for q in queues:
        c = _queue_counts(cluster, q["name"])
        qmax = "-" if q.get("max") is None else str(q["max"])
        lines.append(
            f"{q['name'][:15]:<16}{q.get('priority', 30):>3}  {q.get('status', 'Open:Active'):<16}"
            f"{qmax:>3}{'-':>5}{'-':>5}{'-':>5}{c['NJOBS']:>6}{c['PEND']:>6}{c['RUN']:>6}"
            f"{c['SUSP']:>6}"
        )
    return "\n".join(lines) + "\n"


def format_bqueues_long(cluster: Cluster, queues: list[dict]) -> str:
    out: list[str] = []
    for q in queues:
        c = _queue_counts(cluster, q["name"])
        qmax = "-" if q.get("max") is None else str(q["max"])
        out += [
            "",
            f"QUEUE: {q['name']}",
            f"  -- {q.get('description') or 'No description provided.'}",
            "",
            "PARAMETERS/STATISTICS",
            "PRIO NICE STATUS          MAX JL/U JL/P JL/H NJOBS  PEND   RUN SSUSP USUSP  RSV PJOBS",
            f"{q.get('priority', 30):>3}  {0:>3}  {q.get('status', 'Open:Active'):<16}{qmax:>3}"
            f"{'-':>5}{'-':>5}{'-':>5}{c['NJOBS']:>6}{c['PEND']:>6}{c['RUN']:>6}{c['SSUSP']:>6}"
            f"{c['USUSP']:>6}{0:>5}{c['PEND']:>6}",
            "Interval for a host to accept two jobs is 0 seconds",
            "",
        ]
        if q.get("default_runlimit_min"):
            out += [
                "DEFAULT LIMITS:",
                " RUNLIMIT",
                f" {float(q['default_runlimit_min']):.1f} min",
                "",
            ]
        maximum = []
        if q.get("max_runlimit_min"):
            maximum.append((" RUNLIMIT", f" {float(q['max_runlimit_min']):.1f} min"))
        if q.get("memlimit"):
            maximum.append((" MEMLIMIT", f" {q['memlimit']}"))
        if maximum:
            out.append("MAXIMUM LIMITS:")
            for head, value in maximum:
                out += [head, value, ""]
        out += [
            "SCHEDULING PARAMETERS",
            "           r15s   r1m  r15m   ut      pg    io   ls    it    tmp    swp    mem",
            " loadSched   -     -     -     -       -     -    -     -     -      -      -  ",
            " loadStop    -     -     -     -       -     -    -     -     -      -      -  ",
            "",
            "USERS: all  ",
            "HOSTS:  all ",
        ]
    return "\n".join(out) + "\n"


def cmd_bqueues(args: list[str]) -> int:
    names = [a for a in args if not a.startswith("-")]
    with locked() as cluster:
        prefix = busy_lines(cluster)
        queues = cluster.config["queues"]
        for name in names:
            if cluster.lsf_queue(name) is None:
                sys.stdout.write(prefix)
                sys.stderr.write(f"{name}: No such queue\n")
                return 255
        if names:
            queues = [q for q in queues if q["name"] in names]
        text = (
            format_bqueues_long(cluster, queues)
            if "-l" in args
            else format_bqueues(cluster, queues)
        )
    sys.stdout.write(prefix + text)
    return 0


def cmd_bparams(args: list[str]) -> int:
    with locked() as cluster:
        defaults = [q["name"] for q in cluster.config["queues"] if q.get("default")]
    sys.stdout.write(
        f"Default Queues:  {' '.join(defaults)}\n"
        "MBD_SLEEP_TIME used for calculations:  10 seconds\n"
        "Job Checking Interval:  7 seconds\n"
        "Job Accepting Interval:  0 seconds\n"
    )
    return 0


# --- bacct ------------------------------------------------------------------------------------

BACCT_HEADER = """
Accounting information about jobs that are:
  - submitted by all users.
  - accounted on all projects.
  - completed normally or exited
  - executed on all hosts.
  - submitted to all queues.
  - accounted on all service classes.
-----------------------------------------------------------------------------
"""


def format_bacct_summary(jobs: list[dict]) -> str:
    """bacct's SUMMARY block for finished jobs (dicts with stat, cpu_time and the times)."""
    done = sum(1 for j in jobs if j["stat"] == "DONE")
    cpu = [float(j.get("cpu_time") or 0.0) for j in jobs]
    wait = [(j.get("start_time") or j["finish_time"]) - j["submit_time"] for j in jobs]
    turn = [j["finish_time"] - j["submit_time"] for j in jobs]
    hog = [c / t if t > 0 else 0.0 for c, t in zip(cpu, turn, strict=False)]
    n = len(jobs)
    return (
        BACCT_HEADER
        + "\nSUMMARY:      ( time unit: second )\n"
        + f" Total number of done jobs:{done:>8}      Total number of exited jobs:{n - done:>6}\n"
        + f" Total CPU time consumed:{sum(cpu):>10.1f}      Average CPU time consumed:"
        + f"{sum(cpu) / n:>8.1f}\n"
        + f" Maximum CPU time of a job:{max(cpu):>8.1f}      Minimum CPU time of a job:"
        + f"{min(cpu):>8.1f}\n"
        + f" Total wait time in queues:{sum(wait):>8.1f}\n"
        + f" Average wait time in queue:{sum(wait) / n:>7.1f}\n"
        + f" Maximum wait time in queue:{max(wait):>7.1f}      Minimum wait time in queue:"
        + f"{min(wait):>7.1f}\n"
        + f" Average turnaround time:{round(sum(turn) / n):>10d} (seconds/job)\n"
        + f" Maximum turnaround time:{round(max(turn)):>10d}      Minimum turnaround time:"
        + f"{round(min(turn)):>10d}\n"
        + f" Average hog factor of a job:{sum(hog) / n:>6.2f} ( cpu time / turnaround time )\n"
        + f" Maximum hog factor of a job:{max(hog):>6.2f}      Minimum hog factor of a job:"
        + f"{min(hog):>6.2f}\n"
    )


def cmd_bacct(args: list[str]) -> int:
    ids = [a for a in args if not a.startswith("-")]
    with locked() as cluster:
        prefix = busy_lines(cluster)
        finished = [view(j) for j in cluster.queue.history()]
    if ids:
        finished = [j for j in finished if j["id"] in ids]
    else:
        finished = [j for j in finished if j["uid"] == cluster.uid]
    sys.stdout.write(prefix)
    if not finished:
        sys.stderr.write("No matching job found\n")
        return 255
    sys.stdout.write(format_bacct_summary(finished))
    return 0


# --- entry point ------------------------------------------------------------------------------

COMMANDS = {
    "bjobs": cmd_bjobs,
    "bkill": cmd_bkill,
    "bstop": cmd_bstop,
    "bqueues": cmd_bqueues,
    "bparams": cmd_bparams,
    "bacct": cmd_bacct,
}


def main(argv: list[str]) -> int:
    if len(argv) >= 4 and argv[1] == "--sbatchd":
        return sbatchd(argv[2], argv[3])
    name = os.path.basename(argv[0])
    if name == "bsub":
        return cmd_bsub(argv[1:], None)
    command = COMMANDS.get(name)
    if command is None:
        sys.stderr.write(f"lsf_emulator: run as bsub, {', '.join(COMMANDS)} (got {name})\n")
        return 2
    try:
        return command(argv[1:])
    except OSError as e:
        if e.errno == errno.EACCES:
            sys.stderr.write(f"{name}: cannot use the emulator spool: {e}\n")
            return 255
        raise


if __name__ == "__main__":
    sys.exit(main(sys.argv))
