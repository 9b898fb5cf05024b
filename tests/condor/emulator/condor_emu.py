#!/usr/bin/python3
# ruff: noqa: UP031  (printf formats mirror HTCondor's C format strings)
"""A CLI-faithful HTCondor emulator: condor_submit, condor_q, condor_history, condor_rm,
condor_hold, condor_release and condor_status in one standard-library program.

Each command is a symlink to this file (``bin/condor_q`` ...); ``argv[0]`` selects it.

The schedd is the emulators' shared kernel (tests/harness/emulator_kernel.py and
emulator_queue.py): the job queue in the spool folder (``$CONDOR_EMU_SPOOL``, default
``/tmp/condor-emu``) under its lock, so concurrent calls from several users are safe. There
is no daemon. Each job is a record of the kernel's queue (its state, resources, start and
end) holding the submitted ClassAd; :func:`job_ad` projects the two into the ad condor_q and
condor_history print. Each command negotiates (:func:`schedule`): the idle jobs whose
``Requirements`` match the partitionable slot (``machine.json`` in the spool: cpus, memory,
gpus, disk; the slot advertises what is still free, as the negotiator's) and whose requests
fit it (the kernel's resource fit) start, as the kernel starts jobs: only by their owner's
(or root's) command. A started job gets a detached *shadow* (the kernel's supervisor) running
as its owner: it starts the executable with the job's files, environment and initial
directory (a failure holds the job), enforces ``periodic_remove`` / ``periodic_hold`` /
``allowed_job_duration`` and the pool's ``system_periodic_remove`` / ``system_periodic_hold``
(``machine.json``; e.g. a ``MaxRuntime`` policy), stops the job on ``condor_rm`` /
``condor_hold`` (the kernel's cancel) and records its end, or vacates it to be held. Job
event logs (``log =``) are written.

Output formats follow HTCondor's: ``-json`` writes ``[`` with the first ad and ``]`` only
after at least one ad (nothing at all when no ad matches), ads as the ClassAd JSON unparser
prints them (two-space indent, sorted attributes, expressions as ``"\\/Expr(...)\\/"``);
``-af``, ``-format``, ``-long``, the batch and ``-nobatch`` tables; ``condor_submit``'s
normal, ``-terse`` and stdin-implies-verbose outputs; ``condor_rm``/``condor_hold``
per-job messages and exit codes.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import sys
import time
from typing import Any

# the kernel: a copy installed next to this file, else the checkout's
sys.path.insert(0, os.path.join(os.path.dirname(os.path.realpath(__file__)), "../../harness"))
sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))

import condor_classad as classad
import emulator_kernel as kernel
import emulator_queue as jobq
from condor_classad import UNDEFINED, Expr, unparse_value

SPOOL_ENV = "CONDOR_EMU_SPOOL"
DEFAULT_SPOOL = "/tmp/condor-emu"
POLL = 0.2

JOB_STATUS_LETTER = {1: "I", 2: "R", 3: "X", 4: "C", 5: "H", 6: ">", 7: "S"}

# HoldReasonCode values (HTCondor's CONDOR_HOLD_CODE enum).
HOLD_USER = 1
HOLD_POLICY = 3
HOLD_FAILED_TO_CREATE_PROCESS = 6
HOLD_UNABLE_TO_OPEN_OUTPUT = 7
HOLD_UNABLE_TO_OPEN_INPUT = 8
HOLD_SYSTEM_POLICY = 26
HOLD_IWD_ERROR = 14
HOLD_SUBMITTED_ON_HOLD = 15
HOLD_DURATION_EXCEEDED = 46


# --- the schedd: the kernel's queue in the locked spool, and its jobs as ClassAds ---------


class SpoolGone(Exception):
    """The spool folder was deleted (a shadow outliving its pool just ends)."""


def spool(create: bool = True) -> str:
    path = os.environ.get(SPOOL_ENV) or DEFAULT_SPOOL
    if not create and not os.path.isdir(path):
        raise SpoolGone(path)
    return kernel.spool_folder(SPOOL_ENV, DEFAULT_SPOOL)


class Schedd:
    """The schedd's memory (the kernel's queue) and the machine, inside :func:`locked`."""

    def __init__(self, state: dict[str, Any]) -> None:
        self.now = time.time()
        self.queue = jobq.Queue(state, self.now)
        self.cfg = machine_config()
        self.me = username()

    def active(self, job_id: str) -> dict[str, Any] | None:
        """A job still in the queue (not ended) by its id."""
        job = self.queue.get(job_id)
        return job if job is not None and job["state"] != jobq.ENDED else None

    def ads(self) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        """The jobs still in the queue, each with its ClassAd."""
        return [(j, job_ad(j)) for j in self.queue.jobs() if j["state"] != jobq.ENDED]

    def offer(self) -> dict[str, jobq.Resources]:
        """The machine's resources, as the kernel's host vector."""
        return {self.cfg["machine"]: {k: int(self.cfg[k]) for k in RESOURCES}}


@contextlib.contextmanager
def locked(create: bool = True, negotiate: bool = True):
    """The schedd under the spool's lock (saved on leaving); ``negotiate``: first end the
    jobs whose shadow died, drop ended ones into the history and start what fits."""
    with kernel.locked_state(spool(create), lock_name="state.lock", indent=None) as held:
        schedd = Schedd(held.state)
        if negotiate:
            schedd.queue.reap()
            schedd.queue.purge(after=0)
            schedule(schedd)
        yield schedd


def encode_ad(ad: dict[str, Any]) -> dict[str, Any]:
    return {k: ({"$expr": v.text} if isinstance(v, Expr) else v) for k, v in ad.items()}


def decode_ad(ad: dict[str, Any]) -> dict[str, Any]:
    return {
        k: (Expr(v["$expr"]) if isinstance(v, dict) and "$expr" in v else v) for k, v in ad.items()
    }


def machine_config() -> dict[str, Any]:
    cfg: dict[str, Any] = {
        "machine": socket.gethostname(),
        "cpus": 4,
        "memory": 8192,
        "gpus": 0,
        "disk": 10 * 1024 * 1024,
    }
    path = os.path.join(os.environ.get(SPOOL_ENV) or DEFAULT_SPOOL, "machine.json")
    with contextlib.suppress(OSError, ValueError), open(path) as f:
        cfg.update(json.load(f))
    return cfg


def schedd_address() -> str:
    name = machine_config()["machine"]
    return f"<127.0.0.1:9618?addrs=127.0.0.1-9618&alias={name}&noUDP&sock=schedd_1_1>"


def username() -> str:
    return kernel.user_name(os.getuid())


def job_key(ad: dict[str, Any]) -> str:
    return f"{ad['ClusterId']}.{ad['ProcId']}"


# --- the job's ClassAd: its submitted ad and what the kernel's record says -----------------

#: JobStatus of the kernel's states (an ended job: 4 completed, 3 removed).
JOB_STATUS = {jobq.QUEUED: 1, jobq.RUNNING: 2, jobq.HELD: 5, jobq.SUSPENDED: 7}


def entered_status(job: dict[str, Any]) -> float:
    """When the job entered its current JobStatus."""
    state = job["state"]
    if state == jobq.ENDED:
        return job["end_time"]
    if state in jobq.ON_SLOTS and (job.get("remove_reason") or job.get("hold")):
        return job["requested_at"]
    if state in jobq.ON_SLOTS:
        return job["start_time"]
    if state == jobq.HELD:
        return job["hold"]["time"]
    return job.get("released_at") or job["submit_time"]


def job_ad(job: dict[str, Any]) -> dict[str, Any]:
    """The job's ClassAd: the one submitted, with what the schedd knows of it now."""
    ad = decode_ad(job["ad"])
    state, on_slot = job["state"], job["state"] in jobq.ON_SLOTS
    if state == jobq.ENDED:
        status = 4 if job["end"] == jobq.END_EXIT and not job.get("remove_reason") else 3
    elif on_slot and job.get("remove_reason"):
        status = 3
    elif on_slot and job.get("hold"):
        status = 5
    else:
        status = JOB_STATUS[state]
    ad["JobStatus"] = status
    ad["EnteredCurrentStatus"] = int(entered_status(job))
    ad["NumJobStarts"] = job["starts"] - job.get("failed_starts", 0)
    ad["NumShadowStarts"] = job["starts"]
    ad["RemoteWallClockTime"] = float(job["wall_time"])
    if job["start_time"]:
        ad["JobCurrentStartDate"] = int(job["start_time"])
        ad["JobStartDate"] = int(job["first_start"])
    if job.get("slot"):
        ad["LastRemoteHost"] = job["slot"]
    if on_slot:
        ad["RemoteHost"] = job["slot"]
        ad["StartdName"] = job["slot"].split("@", 1)[1]
    if job.get("supervisor_pid"):
        ad["ShadowPid"] = job["supervisor_pid"]
    hold = job.get("hold")
    if hold:
        ad.update(HoldReason=hold["reason"], HoldReasonCode=hold["code"])
        ad["HoldReasonSubCode"] = hold["subcode"]
    last = job.get("last_hold")
    if last:
        ad.update(LastHoldReason=last["reason"], LastHoldReasonCode=last["code"])
    for attr, key in (("NumHolds", "num_holds"), ("ReleaseReason", "release_reason")):
        if job.get(key):
            ad[attr] = job[key]
    if job.get("remove_reason"):
        ad["RemoveReason"] = job["remove_reason"]
    if job.get("rejected_at"):
        ad.update(LastRejMatchReason="no match found", LastRejMatchTime=job["rejected_at"])
    if state == jobq.ENDED:
        ad["CompletionDate"] = int(job["end_time"]) if status == 4 else 0
        if status == 4 and job["exit_code"] is not None and job["exit_code"] < 0:
            ad.update(ExitBySignal=True, ExitSignal=-job["exit_code"])
        elif status == 4:
            ad.update(ExitBySignal=False, ExitCode=job["exit_code"])
    return ad


def snapshot(state: dict[str, Any]) -> dict[str, Any]:
    """The queue (``jobs`` by id) and the ``history`` as ClassAds, from the spool's state
    (no change to it): what the tests look at."""
    queue = jobq.Queue(json.loads(json.dumps(state)), time.time())
    jobs = {j["id"]: encode_ad(job_ad(j)) for j in queue.jobs() if j["state"] != jobq.ENDED}
    return {"jobs": jobs, "history": [encode_ad(job_ad(j)) for j in history(queue)]}


def history(queue: jobq.Queue) -> list[dict[str, Any]]:
    """The ended jobs in the order they left the queue."""
    return sorted(queue.history(), key=lambda j: (j["end_time"], jobq.id_order(j["id"])))


# --- output helpers ------------------------------------------------------------------------


def json_string(s: str) -> str:
    out = []
    for ch in s:
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch in "\b\f\n\r\t":
            out.append({"\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}[ch])
        elif 0 < ord(ch) < 32:
            out.append(f"\\u00{ord(ch):02X}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def json_value(v: Any) -> str:
    if v is None or v is UNDEFINED:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return unparse_value(v)
    if isinstance(v, Expr):
        return '"\\/Expr(' + json_string(v.text)[1:-1] + ')\\/"'
    return json_string(str(v))


def sorted_attrs(ad: dict[str, Any], projection: list[str] | None) -> list[tuple[str, Any]]:
    items = list(ad.items())
    if projection is not None:
        wanted = {p.lower() for p in projection}
        items = [(k, v) for k, v in items if k.lower() in wanted]
    return sorted(items, key=lambda kv: kv[0].lower())


def write_json(ads: list[dict[str, Any]], projection: list[str] | None) -> str:
    out = []
    for ad in ads:
        attrs = sorted_attrs(ad, projection)
        if not attrs:
            continue
        body = ",".join(f'\n  "{k}": {json_value(v)}' for k, v in attrs)
        out.append(("[\n" if not out else ",\n") + "{" + body + "\n}\n")
    if out:
        out.append("]\n")
    return "".join(out)


def write_long(ads: list[dict[str, Any]], projection: list[str] | None) -> str:
    out = []
    for ad in ads:
        lines = [f"{k} = {unparse_value(v)}" for k, v in sorted_attrs(ad, projection)]
        out.append("\n".join(lines) + "\n\n")
    return "".join(out)


def eval_attr(ad: dict[str, Any], attr: str, target: dict | None = None) -> Any:
    return classad.evaluate(attr, ad, target)


def af_text(v: Any, quote: bool = False) -> str:
    if isinstance(v, str):
        return unparse_value(v) if quote else v
    return unparse_value(v)


def write_autoformat(ads: list[dict[str, Any]], attrs: list[str], quals: str) -> str:
    lines = []
    sep = "\t" if "t" in quals else " "
    if "h" in quals:
        lines.append(sep.join(a for a in attrs))
    for ad in ads:
        fields = []
        for a in attrs:
            text = af_text(eval_attr(ad, a), quote="V" in quals)
            fields.append(f"{a} = {text}" if "l" in quals else text)
        if "," in quals:
            fields = [f + "," for f in fields]
        line = sep.join(fields)
        if "j" in quals:
            line = f"{ad.get('ClusterId')}.{ad.get('ProcId')}{sep}{line}"
        if "n" in quals:
            line = "\n".join(fields)
        lines.append(line)
        if "g" in quals:
            lines.append("")
    return "".join(line + "\n" for line in lines)


_FMT = re.compile(r"%(-?\d*(?:\.\d+)?)([dsfviVxoeEgG%])")


def write_format(ads: list[dict[str, Any]], formats: list[tuple[str, str]]) -> str:
    out = []
    for ad in ads:
        for fmt, attr in formats:
            fmt = fmt.encode().decode("unicode_escape")
            v = eval_attr(ad, attr)
            m = _FMT.search(fmt)
            if m is None:
                out.append(fmt)
                continue
            flags, conv = m.group(1), m.group(2)
            if v is UNDEFINED and conv not in "vV":
                continue
            try:
                if conv in "di":
                    piece = ("%" + flags + "d") % int(v)
                elif conv in "feEgG":
                    piece = ("%" + flags + conv) % float(v)
                elif conv == "V":
                    piece = ("%" + flags + "s") % unparse_value(v)
                else:
                    piece = ("%" + flags + "s") % af_text(v)
            except (TypeError, ValueError):
                piece = ""
            out.append(fmt[: m.start()] + piece + fmt[m.end() :])
    return "".join(out)


def fmt_submitted(ts: int) -> str:
    t = time.localtime(ts)
    return f"{t.tm_mon}/{t.tm_mday}".ljust(4) + time.strftime(" %H:%M", t)


def fmt_duration(seconds: float) -> str:
    s = max(0, int(seconds))
    d, s = divmod(s, 86400)
    h, s = divmod(s, 3600)
    m, s = divmod(s, 60)
    return f"{d}+{h:02d}:{m:02d}:{s:02d}"


def run_time(ad: dict[str, Any], now: float) -> float:
    total = float(ad.get("RemoteWallClockTime", 0) or 0)
    if ad.get("JobStatus") == 2 and ad.get("JobCurrentStartDate"):
        total += now - ad["JobCurrentStartDate"]
    return total


def cmd_name(ad: dict[str, Any]) -> str:
    cmd = os.path.basename(str(ad.get("Cmd", "")))
    args = ad.get("Args") or ""
    return (cmd + (" " + args if args else ""))[:18]


def totals_line(ads: list[dict[str, Any]]) -> str:
    counts = {s: 0 for s in range(1, 8)}
    for ad in ads:
        counts[ad.get("JobStatus", 1)] = counts.get(ad.get("JobStatus", 1), 0) + 1
    return (
        f"{len(ads)} jobs; {counts[4]} completed, {counts[3]} removed, {counts[1]} idle, "
        f"{counts[2]} running, {counts[5]} held, {counts[7]} suspended\n"
    )


def write_nobatch(ads: list[dict[str, Any]]) -> str:
    name = machine_config()["machine"]
    now = time.time()
    out = [
        "\n",
        f"-- Submitter: {name} : <127.0.0.1:9618> : {name}\n",
        " ID      OWNER            SUBMITTED     RUN_TIME ST PRI SIZE CMD\n",
    ]
    for ad in ads:
        size = float(ad.get("ImageSize", 0) or 0) / 1024.0
        out.append(
            "%5d.%-3d %-14s %11s %12s %-2s %-3d %-4.1f %s\n"
            % (
                ad["ClusterId"],
                ad["ProcId"],
                ad.get("Owner", ""),
                fmt_submitted(ad.get("QDate", int(now))),
                fmt_duration(run_time(ad, now)),
                JOB_STATUS_LETTER.get(ad.get("JobStatus", 1), "?"),
                ad.get("JobPrio", 0),
                size,
                cmd_name(ad),
            )
        )
    out.append("\n")
    out.append(totals_line(ads))
    return "".join(out)


def write_batch(ads: list[dict[str, Any]]) -> str:
    name = machine_config()["machine"]
    out = [
        "\n",
        f"-- Schedd: {name} : <127.0.0.1:9618?... @ {time.strftime('%m/%d/%y %H:%M:%S')}\n",
        "OWNER    BATCH_NAME    SUBMITTED   DONE   RUN    IDLE   HOLD  TOTAL JOB_IDS\n",
    ]
    batches: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for ad in ads:
        batch = ad.get("JobBatchName") or f"ID: {ad['ClusterId']}"
        batches.setdefault((ad.get("Owner", ""), batch), []).append(ad)
    for (owner, batch), group in batches.items():
        ids = [job_key(a) for a in group]

        def count(status: int, group: list[dict[str, Any]] = group) -> str:
            n = sum(1 for a in group if a.get("JobStatus") == status)
            return str(n) if n else "_"

        id_text = ids[0] if len(ids) == 1 else f"{ids[0]} ... {ids[-1]}"
        out.append(
            "%-8s %-13s %-10s %6s %6s %6s %6s %6s %s\n"
            % (
                owner,
                batch,
                fmt_submitted(min(a.get("QDate", 0) for a in group)),
                "_",
                count(2),
                count(1),
                count(5),
                len(group),
                id_text,
            )
        )
    out.append("\n")
    out.append(totals_line(ads))
    return "".join(out)


# --- common option parsing for the query tools --------------------------------------------


class Query:
    """The selection and output options shared by condor_q, condor_history, condor_status."""

    def __init__(self) -> None:
        self.ids: list[tuple[int, int | None]] = []
        self.owners: list[str] = []
        self.constraints: list[str] = []
        self.output = "table"
        self.projection: list[str] | None = None
        self.af_attrs: list[str] = []
        self.af_quals = ""
        self.formats: list[tuple[str, str]] = []
        self.limit: int | None = None
        self.allusers = False
        self.nobatch = False
        self.forwards = False

    def matches(self, ad: dict[str, Any]) -> bool:
        if self.ids:
            ok = any(
                ad.get("ClusterId") == c and (p is None or ad.get("ProcId") == p)
                for c, p in self.ids
            )
            if not ok:
                return False
        if self.owners and ad.get("Owner") not in self.owners:
            return False
        return all(classad.is_true(c, ad) for c in self.constraints)

    def render(self, ads: list[dict[str, Any]], table) -> str:
        if self.limit is not None:
            ads = ads[: self.limit]
        if self.output == "json":
            return write_json(ads, self.projection)
        if self.output == "long":
            return write_long(ads, self.projection)
        if self.output == "af":
            return write_autoformat(ads, self.af_attrs, self.af_quals)
        if self.output == "format":
            return write_format(ads, self.formats)
        return table(ads)


class UsageError(Exception):
    pass


def parse_query_args(tool: str, args: list[str], accept_ids: bool = True) -> Query:
    q = Query()
    i = 0

    def value(opt: str) -> str:
        nonlocal i
        i += 1
        if i >= len(args):
            raise UsageError(f"Error: {opt} requires another argument")
        return args[i]

    while i < len(args):
        a = args[i]
        low = a.lower()
        if not a.startswith("-"):
            if not accept_ids:
                q.constraints.append(f'(Machine == "{a}") || (Name == "{a}")')
            elif re.fullmatch(r"\d+\.\d+", a):
                c, p = a.split(".")
                q.ids.append((int(c), int(p)))
            elif re.fullmatch(r"\d+", a):
                q.ids.append((int(a), None))
            else:
                q.owners.append(a)
        elif low in ("-json", "-js"):
            q.output = "json"
        elif low in ("-long", "-l"):
            q.output = "long"
        elif low.startswith("-long:") or low.startswith("-l:"):
            q.output = "json" if "json" in low else "long"
        elif low in ("-attributes", "-attr", "-at"):
            q.projection = [x.strip() for x in value(a).split(",") if x.strip()]
        elif low.startswith("-af") or low.startswith("-autoformat"):
            q.output = "af"
            q.af_quals = a.split(":", 1)[1] if ":" in a else ""
            while i + 1 < len(args) and not args[i + 1].startswith("-"):
                i += 1
                q.af_attrs.append(args[i])
        elif low in ("-format", "-fo"):
            q.output = "format"
            fmt = value(a)
            q.formats.append((fmt, value(a)))
        elif low in ("-constraint", "-const", "-cons"):
            q.constraints.append(value(a))
        elif low in ("-limit", "-match", "-lim"):
            text = value(a)
            if not text.isdigit() or int(text) <= 0:
                raise UsageError(f"Error: {text} is not a valid for {a}.")
            q.limit = int(text)
        elif low in ("-allusers", "-all", "-a"):
            q.allusers = True
        elif low in ("-nobatch", "-nob"):
            q.nobatch = True
        elif low == "-batch":
            q.nobatch = False
        elif low == "-forwards":
            q.forwards = True
        elif low in ("-backwards", "-wide", "-totals", "-global", "-af:h"):
            pass
        elif low in ("-scanlimit", "-name", "-pool", "-since", "-completedsince"):
            value(a)
        else:
            raise UsageError(f"Error: unrecognized argument {a}")
        i += 1
    return q


def usage_exit(tool: str, err: UsageError) -> int:
    sys.stderr.write(f"{err}\nUsage: {tool} [options]\n")
    return 1


# --- condor_q / condor_history ------------------------------------------------------------


def cmd_q(args: list[str]) -> int:
    try:
        q = parse_query_args("condor_q", args)
    except UsageError as e:
        return usage_exit("condor_q", e)
    if not q.allusers and not q.ids and not q.owners and not q.constraints:
        q.owners = [username()]
    with locked() as schedd:
        ads = [ad for _job, ad in schedd.ads()]
    ads = [ad for ad in ads if q.matches(ad)]
    sys.stdout.write(q.render(ads, write_nobatch if q.nobatch else write_batch))
    return 0


def write_history_table(ads: list[dict[str, Any]]) -> str:
    out = [" ID     OWNER          SUBMITTED   RUN_TIME     ST COMPLETED   CMD            \n"]
    for ad in ads:
        done = ad.get("CompletionDate") or ad.get("EnteredCurrentStatus") or 0
        out.append(
            "%6d.%-3d %-14s %11s %12s %-2s %-11s %s\n"
            % (
                ad["ClusterId"],
                ad["ProcId"],
                ad.get("Owner", ""),
                fmt_submitted(ad.get("QDate", 0)),
                fmt_duration(run_time(ad, time.time())),
                JOB_STATUS_LETTER.get(ad.get("JobStatus", 4), "?"),
                fmt_submitted(done) if done else "???",
                ad.get("Cmd", ""),
            )
        )
    return "".join(out)


def cmd_history(args: list[str]) -> int:
    try:
        q = parse_query_args("condor_history", args)
    except UsageError as e:
        return usage_exit("condor_history", e)
    with locked() as schedd:
        ads = [job_ad(job) for job in history(schedd.queue)]
    if not q.forwards:
        ads.reverse()
    ads = [ad for ad in ads if q.matches(ad)]
    sys.stdout.write(q.render(ads, write_history_table))
    return 0


# --- job actions: condor_rm, condor_hold, condor_release ----------------------------------

ACTION_WORDS = {
    "remove": ("marked for removal", "remove"),
    "hold": ("held", "hold"),
    "release": ("released", "release"),
}


ACTION_FLAGS = ("-all", "-a", "-forcex", "-long", "-totals")
ACTION_VALUED = ("-reason", "-r", "-constraint", "-const")


def cmd_action(action: str, args: list[str]) -> int:
    tool = {"remove": "condor_rm", "hold": "condor_hold", "release": "condor_release"}[action]
    try:
        opts, operands = kernel.scan_options(args, ACTION_FLAGS, ACTION_VALUED)
    except kernel.BadOption:
        sys.stderr.write(f"Usage: {tool} [options] [constraints]\n")
        return 1
    reason = opts.get("-reason", opts.get("-r"))
    constraint = opts.get("-constraint", opts.get("-const"))
    all_jobs = bool(opts.get("-all") or opts.get("-a"))
    ids = [a for a in operands if re.fullmatch(r"\d+\.\d+", a)]
    clusters = [int(a) for a in operands if a.isdigit()]
    owners = [a for a in operands if a not in ids and not a.isdigit()]
    if not (ids or clusters or owners or constraint or all_jobs):
        sys.stderr.write(f"{tool}: you must specify a job, cluster, user or -all\n")
        return 1
    me = username()
    done_word, verb = ACTION_WORDS[action]
    had_error = False
    out: list[str] = []
    err: list[str] = []
    with locked() as schedd:
        results: dict[str, str] = {}
        for job_id in ids:
            job = schedd.active(job_id)
            results[job_id] = (
                "not_found" if job is None else apply_action(schedd, job, action, me, reason)
            )
        selected = []
        if clusters or owners or constraint or all_jobs:
            for job, ad in schedd.ads():
                if clusters and ad.get("ClusterId") not in clusters and not owners:
                    continue
                if owners and ad.get("Owner") not in owners and not clusters:
                    continue
                if constraint and not classad.is_true(constraint, ad):
                    continue
                selected.append(job)
            acted = [apply_action(schedd, job, action, me, reason) for job in selected]
        schedule(schedd)  # a released job may start
    for job_id in ids:
        res = results[job_id]
        if res == "ok":
            out.append(f"Job {job_id} {done_word}")
        else:
            had_error = True
            err.append(
                {
                    "not_found": f"Job {job_id} not found",
                    "denied": f"Permission denied to {verb} job {job_id}",
                    "already": f"Job {job_id} already {done_word}",
                    "bad_status": f"Job {job_id} not held to be released"
                    if action == "release"
                    else f"Invalid result for job {job_id}",
                }[res]
            )
    if had_error:
        err.insert(0, "")
    if clusters or owners or constraint or all_jobs:
        what = (
            f" in cluster {clusters[0]}"
            if len(clusters) == 1 and not owners and not constraint
            else f" of user {owners[0]}"
            if len(owners) == 1 and not clusters and not constraint
            else ""
            if all_jobs
            else f" matching constraint ({constraint or ''})"
        )
        if any(r == "ok" for r in acted):
            out.append(f"All jobs{what} have been {done_word}")
        else:
            had_error = True
            err.append("")
            err.append(f"Couldn't find/{verb} all jobs{what}")
    if out:
        sys.stdout.write("\n".join(out) + "\n")
    if err:
        sys.stderr.write("\n".join(err) + "\n")
    return 1 if had_error else 0


def apply_action(
    schedd: Schedd, job: dict[str, Any], action: str, me: str, reason: str | None
) -> str:
    if not jobq.may_change(job):
        return "denied"
    status = job_ad(job)["JobStatus"]
    if action == "remove":
        if status == 3:
            return "already"
        remove(schedd, job, reason or f"via condor_rm (by user {me})")
        return "ok"
    if action == "hold":
        if status == 5:
            return "already"
        if status not in (1, 2, 7):
            return "bad_status"
        hold(schedd, job, reason or f"via condor_hold (by user {me})", HOLD_USER, 0)
        return "ok"
    if job["state"] != jobq.HELD:
        return "bad_status"
    schedd.queue.release(job)
    job["last_hold"] = job.pop("hold", None)
    job["released_at"] = schedd.now
    job["release_reason"] = reason or f"via condor_release (by user {me})"
    log_event(job, "013", "Job was released.", [job["release_reason"]])
    return "ok"


def remove(schedd: Schedd, job: dict[str, Any], reason: str) -> None:
    """condor_rm, or a removing policy: an idle or held job leaves the queue at once, a
    running one when its shadow has stopped it (the kernel's cancel)."""
    job.update(remove_reason=reason, requested_at=schedd.now)
    schedd.queue.cancel(job)
    if job["state"] == jobq.ENDED:
        log_event(job, "009", "Job was aborted.", [reason])


def hold(schedd: Schedd, job: dict[str, Any], reason: str, code: int, subcode: int) -> None:
    """condor_hold, or a holding policy: an idle job is held at once, a running one when its
    shadow has stopped it (the kernel's cancel; the shadow vacates it then)."""
    job["hold"] = {"reason": reason, "code": code, "subcode": subcode, "time": schedd.now}
    job.update(num_holds=job.get("num_holds", 0) + 1, requested_at=schedd.now)
    log_event(job, "012", "Job was held.", [reason, f"Code {code} Subcode {subcode}"])
    if job["state"] == jobq.QUEUED:
        schedd.queue.hold(job)
    elif job["state"] in jobq.ON_SLOTS:
        schedd.queue.cancel(job)


# --- job event log ---------------------------------------------------------------------------


def log_event(job: dict[str, Any], code: str, text: str, details: list[str] = ()) -> None:
    ad = job["ad"]
    path = ad.get("UserLog")
    if not path:
        return
    stamp = time.strftime("%Y-%m-%d %H:%M:%S")
    body = f"{code} ({ad['ClusterId']:03d}.{ad['ProcId']:03d}.000) {stamp} {text}\n"
    body += "".join(f"\t{d}\n" for d in details) + "...\n"
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        with os.fdopen(fd, "a") as f:
            f.write(body)


# --- condor_submit -------------------------------------------------------------------------

UNIVERSES = {"vanilla": 5, "local": 12, "scheduler": 7}


class SubmitError(Exception):
    pass


def read_description(text: str) -> tuple[list[tuple[str, str, int]], list[tuple[int, int]]]:
    """(key, value, line) assignments in order and the queue statements (count, line)."""
    assignments: list[tuple[str, str, int]] = []
    queues: list[tuple[int, int]] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        lineno = i + 1
        line = lines[i]
        while line.rstrip().endswith("\\") and i + 1 < len(lines):
            i += 1
            line = line.rstrip()[:-1] + lines[i].lstrip()
        i += 1
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        m = re.match(r"(?i)queue(?:\s+(\d+))?\s*$", stripped)
        if m:
            queues.append((int(m.group(1) or 1), lineno))
            continue
        if re.match(r"(?i)queue\b", stripped):
            raise SubmitError(f"\nERROR: Failed to parse command file (line {lineno}).\n")
        m = re.match(r"([+A-Za-z_][A-Za-z0-9_.+]*)\s*=\s?(.*)$", stripped)
        if not m:
            raise SubmitError(f"\nERROR: Failed to parse command file (line {lineno}).\n")
        assignments.append((m.group(1), m.group(2).strip(), lineno))
    return assignments, queues


def expand(value: str, macros: dict[str, str], depth: int = 0) -> str:
    def sub(m: re.Match[str]) -> str:
        name = m.group(1)
        key = name.lower()
        if key.startswith("env(") or ":" in key:
            return ""
        if key in macros and depth < 10:
            return expand(macros[key], macros, depth + 1)
        return ""

    return re.sub(r"\$\(([^)]+)\)", sub, value)


def parse_size(text: str, default_unit: str) -> int:
    """request_memory / request_disk values: a number with an optional K/M/G/T unit."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)B?\s*", text, re.I)
    if not m:
        raise SubmitError(f"\nERROR: {text!r} is not a valid size\n")
    number = float(m.group(1))
    unit = (m.group(2) or default_unit).upper()
    kib = number * {"K": 1, "M": 1024, "G": 1024**2, "T": 1024**3}[unit]
    return int(kib) if default_unit == "K" else int((kib + 1023) // 1024)


def parse_new_args(text: str) -> list[str]:
    """HTCondor's new argument/environment syntax (inside the outer double quotes)."""
    words: list[str] = []
    cur: list[str] = []
    in_word = False
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "'":
            in_word = True
            i += 1
            while i < len(text):
                if text[i] == "'":
                    if text[i + 1 : i + 2] == "'":
                        cur.append("'")
                        i += 2
                        continue
                    break
                cur.append(text[i])
                i += 1
        elif ch == '"' and text[i + 1 : i + 2] == '"':
            cur.append('"')
            in_word = True
            i += 1
        elif ch.isspace():
            if in_word:
                words.append("".join(cur))
                cur, in_word = [], False
        else:
            cur.append(ch)
            in_word = True
        i += 1
    if in_word:
        words.append("".join(cur))
    return words


def quote_new_word(word: str) -> str:
    if word and not re.search(r"[\s'\"]", word):
        return word
    return "'" + word.replace("'", "''").replace('"', '""') + "'"


def parse_environment(ad: dict[str, Any]) -> dict[str, str]:
    env: dict[str, str] = {}
    text = ad.get("Environment")
    if isinstance(text, str):
        for word in parse_new_args(text):
            name, _, val = word.partition("=")
            if name:
                env[name] = val
    old = ad.get("Env")
    if isinstance(old, str):
        for item in old.split(";"):
            name, _, val = item.partition("=")
            if name:
                env.setdefault(name, val)
    return env


def truthy(text: str) -> bool:
    return text.strip().lower() in ("true", "yes", "1", "t", "y")


def build_ads(text: str, cluster: int) -> list[dict[str, Any]]:
    assignments, queues = read_description(text)
    if not queues:
        raise SubmitError(
            '\nERROR: "(stdin)" doesn\'t contain any "queue" commands -- no jobs queued\n'
        )
    cwd = os.getcwd()
    me = username()
    host = machine_config()["machine"]
    now = int(time.time())
    ads = []
    proc = 0
    for count, _line in queues:
        for _ in range(count):
            macros = {
                "cluster": str(cluster),
                "clusterid": str(cluster),
                "process": str(proc),
                "procid": str(proc),
            }
            values: dict[str, str] = {}
            custom: list[tuple[str, str]] = []
            for key, raw, _ln in assignments:
                if key.startswith("+") or key.upper().startswith("MY."):
                    custom.append(
                        (key.lstrip("+")[3:] if key.upper().startswith("MY.") else key[1:], raw)
                    )
                    continue
                macros[key.lower()] = raw
                values[key.lower()] = raw
            get = {k: expand(v, macros) for k, v in values.items()}
            ads.append(make_job_ad(get, custom, macros, cluster, proc, cwd, me, host, now))
            proc += 1
    return ads


def make_job_ad(
    get: dict[str, str],
    custom: list[tuple[str, str]],
    macros: dict[str, str],
    cluster: int,
    proc: int,
    cwd: str,
    me: str,
    host: str,
    now: int,
) -> dict[str, Any]:
    universe = get.get("universe", "vanilla").lower()
    if universe not in UNIVERSES:
        raise SubmitError(f"\nERROR: I don't know about the '{universe}' universe.\n")
    executable = get.get("executable") or get.get("cmd")
    if not executable:
        raise SubmitError("\nERROR: No 'executable' parameter was provided\n")
    iwd = get.get("initialdir") or get.get("iwd") or cwd
    iwd = os.path.join(cwd, iwd)
    executable = os.path.join(cwd, executable)
    if not os.path.exists(executable):
        raise SubmitError(f"\nERROR: Executable file {executable} does not exist\n")
    if os.path.isfile(executable) and os.path.getsize(executable) == 0:
        raise SubmitError(f"\nERROR: Executable file {executable} has zero length\n")

    def path(key: str) -> str:
        value = get.get(key)
        return os.path.join(iwd, value) if value else "/dev/null"

    cpus = int(get.get("request_cpus", "1") or 1)
    memory = parse_size(get["request_memory"], "M") if get.get("request_memory") else 128
    disk = parse_size(get["request_disk"], "K") if get.get("request_disk") else 1024
    gpus = int(get["request_gpus"]) if get.get("request_gpus") else None
    ad: dict[str, Any] = {
        "ClusterId": cluster,
        "ProcId": proc,
        "GlobalJobId": f"{host}#{cluster}.{proc}#{now}",
        "Owner": me,
        "User": f"{me}@{host}",
        "JobUniverse": UNIVERSES[universe],
        "Cmd": executable,
        "Iwd": iwd,
        "In": path("input"),
        "Out": path("output"),
        "Err": path("error"),
        "JobStatus": 1,
        "EnteredCurrentStatus": now,
        "QDate": now,
        "JobPrio": int(get.get("priority", "0") or 0),
        "RequestCpus": cpus,
        "RequestMemory": memory,
        "RequestDisk": disk,
        "ImageSize": 0,
        "DiskUsage": 0,
        "NumJobStarts": 0,
        "NumShadowStarts": 0,
        "RemoteWallClockTime": 0.0,
        "FileSystemDomain": host,
        "ShouldTransferFiles": get.get("should_transfer_files", "IF_NEEDED").upper(),
        "WhenToTransferOutput": get.get("when_to_transfer_output", "ON_EXIT").upper(),
        "LeaveJobInQueue": False,
        "MyType": "Job",
        "TargetType": "Machine",
    }
    if gpus is not None:
        ad["RequestGPUs"] = gpus
    if get.get("log"):
        ad["UserLog"] = path("log")
    args = get.get("arguments")
    if args:
        if args.startswith('"') and args.endswith('"'):
            ad["Arguments"] = args[1:-1]
        else:
            ad["Args"] = args
    elif get.get("args"):
        ad["Args"] = get["args"]
    env_text = get.get("environment")
    if env_text:
        if env_text.startswith('"') and env_text.endswith('"'):
            ad["Environment"] = env_text[1:-1]
        else:
            ad["Env"] = env_text
    getenv = get.get("getenv")
    if getenv and getenv.strip().lower() not in ("false", "no", "0", "f", "n"):
        names = None if truthy(getenv) else [n.strip() for n in getenv.split(",")]
        current = parse_environment(ad)
        merged = {
            k: v for k, v in os.environ.items() if (names is None or k in names) and "\n" not in v
        }
        merged.update(current)
        ad["Environment"] = " ".join(quote_new_word(f"{k}={v}") for k, v in merged.items())
        ad.pop("Env", None)
    group = get.get("accounting_group")
    if group:
        acct_user = get.get("accounting_group_user", me)
        ad["AcctGroup"] = group
        ad["AcctGroupUser"] = acct_user
        ad["AccountingGroup"] = f"{group}.{acct_user}"
    if get.get("batch_name"):
        ad["JobBatchName"] = get["batch_name"].strip('"')
    for key, attr in (
        ("periodic_remove", "PeriodicRemove"),
        ("periodic_hold", "PeriodicHold"),
        ("periodic_release", "PeriodicRelease"),
        ("on_exit_remove", "OnExitRemove"),
    ):
        if get.get(key):
            ad[attr] = classad.literal_or_expr(get[key])
    if get.get("allowed_job_duration"):
        ad["AllowedJobDuration"] = int(get["allowed_job_duration"])
    for key, attr in (("stream_output", "StreamOut"), ("stream_error", "StreamErr")):
        if get.get(key):
            ad[attr] = truthy(get[key])
    if get.get("notification"):
        ad["JobNotification"] = {"never": 0, "always": 1, "complete": 2, "error": 3}.get(
            get["notification"].lower(), 0
        )
    for name, raw in custom:
        ad[name] = classad.literal_or_expr(expand(raw, macros))
    clauses = [
        '(TARGET.Arch == "X86_64")',
        '(TARGET.OpSys == "LINUX")',
        "(TARGET.Disk >= RequestDisk)",
        "(TARGET.Memory >= RequestMemory)",
        "(TARGET.Cpus >= RequestCpus)",
    ]
    if gpus:
        clauses.append("(TARGET.GPUs >= RequestGPUs)")
    if ad["ShouldTransferFiles"] == "NO":
        clauses.append("(TARGET.FileSystemDomain == MY.FileSystemDomain)")
    else:
        clauses.append("(TARGET.HasFileTransfer)")
    user_req = get.get("requirements")
    if user_req:
        try:
            classad.parse(user_req)
        except classad.ParseError as e:
            raise SubmitError(f"\nERROR: Parse error in expression:\n\t{user_req}\n({e})\n") from e
        clauses.insert(0, f"({user_req})")
    ad["Requirements"] = Expr(" && ".join(clauses))
    if get.get("hold") and truthy(get["hold"]):
        ad["JobStatus"] = 5
        ad["HoldReason"] = "submitted on hold at user's request"
        ad["HoldReasonCode"] = HOLD_SUBMITTED_ON_HOLD
        ad["HoldReasonSubCode"] = 0
    return ad


def cmd_submit(args: list[str]) -> int:
    terse = verbose = False
    cmd_file: str | None = None
    appended: list[str] = []
    i = 0
    while i < len(args):
        a = args[i]
        if a == "-":
            cmd_file = "-"
        elif a.lower().startswith("-ter"):
            terse, verbose = True, False
        elif a in ("-verbose", "-v"):
            verbose, terse = True, False
        elif a in ("-append", "-a") and i + 1 < len(args):
            appended.append(args[i + 1])
            i += 1
        elif a in ("-batch-name",) and i + 1 < len(args):
            appended.append(f'batch_name = "{args[i + 1]}"')
            i += 1
        elif a in ("-disable", "-d"):
            pass
        elif a.startswith("-"):
            sys.stderr.write(f"Usage: condor_submit [options] [submit-file]\nunknown option {a}\n")
            return 1
        else:
            cmd_file = a
        i += 1
    from_stdin = cmd_file in (None, "-")
    if cmd_file == "-" and not terse:
        verbose = True
    if from_stdin:
        text = sys.stdin.read()
    else:
        try:
            with open(cmd_file) as f:  # type: ignore[arg-type]
                text = f.read()
        except OSError as e:
            sys.stderr.write(f"\nERROR: Failed to open command file ({cmd_file}) ({e.strerror})\n")
            return 1
    if appended:
        lines = text.splitlines()
        qpos = next(
            (n for n, ln in enumerate(lines) if re.match(r"(?i)\s*queue\b", ln)), len(lines)
        )
        text = "\n".join(lines[:qpos] + appended + lines[qpos:]) + "\n"
    if not from_stdin and not terse:
        sys.stdout.write("Submitting job(s)")
        sys.stdout.flush()
    try:
        with locked() as schedd:
            cluster = int(schedd.queue.allocate_id())
            jobs = [enqueue(schedd, ad) for ad in build_ads(text, cluster)]
            ads = [job_ad(job) for job in jobs]
    except SubmitError as e:
        sys.stdout.flush()
        sys.stderr.write(str(e))
        return 1
    for job in jobs:
        log_event(job, "000", f"Job submitted from host: {schedd_address()}")
    if not from_stdin and not terse:
        sys.stdout.write("." * len(ads) + "\n")
    if verbose:
        for ad in ads:
            sys.stdout.write(f"\n** Proc {job_key(ad)}:\n")
            sys.stdout.write(write_long([ad], None).rstrip("\n") + "\n")
    elif terse:
        sys.stdout.write(f"{job_key(ads[0])} - {job_key(ads[-1])}\n")
    else:
        sys.stdout.write(f"{len(ads)} job(s) submitted to cluster {cluster}.\n")
    sys.stdout.flush()
    with locked():
        pass  # the new jobs that fit start now (this user's: they run as their owner)
    return 0


#: Attributes of the submitted ad that the kernel's record holds (job_ad puts them back).
DYNAMIC = ("JobStatus", "EnteredCurrentStatus", "NumJobStarts", "NumShadowStarts")
DYNAMIC += ("RemoteWallClockTime", "HoldReason", "HoldReasonCode", "HoldReasonSubCode")


def enqueue(schedd: Schedd, ad: dict[str, Any]) -> dict[str, Any]:
    """Queue the job of a submitted ad in the kernel's queue, with its resource requests."""
    held = ad["JobStatus"] == 5
    hold_reason = ad.get("HoldReason")
    resources = {"memory": ad["RequestMemory"], "gpus": ad.get("RequestGPUs", 0)}
    resources["disk"] = ad["RequestDisk"]
    job = schedd.queue.submit(
        os.getuid(),
        name=os.path.basename(ad["Cmd"]),
        queue="schedd",
        per_chunk=int(ad["RequestCpus"]),
        needs=resources,
        held=held,
        job_id=job_key(ad),
        ad=encode_ad({k: v for k, v in ad.items() if k not in DYNAMIC}),
    )
    if held:
        job["hold"] = {"reason": hold_reason, "code": HOLD_SUBMITTED_ON_HOLD, "subcode": 0}
        job["hold"]["time"] = schedd.now
    return job


# --- negotiation and the shadow: one detached process per running job, as its owner -------

RESOURCES = ("cpus", "memory", "gpus", "disk")


def schedule(schedd: Schedd) -> None:
    """The negotiator: start the idle jobs whose requirements match the partitionable slot
    (what is still free) and whose requests fit it (the kernel's resource fit), each with
    its shadow; the others get LastRejMatchReason."""

    def matches(job: dict[str, Any]) -> str | None:
        requirements = decode_ad({"r": job["ad"].get("Requirements")})["r"]
        slot = machine_ad(schedd)
        ok = requirements is None or classad.is_true(requirements, job_ad(job), slot)
        return None if ok else jobq.REASON_SLOTS

    schedd.queue.schedule(schedd.offer(), lambda job: dispatch(schedd, job), eligible=matches)
    for job in schedd.queue.jobs():
        if job["state"] == jobq.QUEUED and job["reason"] in jobq.NO_ROOM:
            job.setdefault("rejected_at", int(schedd.now))


def dispatch(schedd: Schedd, job: dict[str, Any]) -> None:
    """The job matched: claim a dynamic slot and start its shadow."""
    on_slots = [j for j in schedd.queue.jobs() if j["state"] in jobq.ON_SLOTS and j is not job]
    taken = {j.get("slot") for j in on_slots}
    n = 1
    while f"slot1_{n}@{schedd.cfg['machine']}" in taken:
        n += 1
    job["slot"] = f"slot1_{n}@{schedd.cfg['machine']}"
    job.setdefault("first_start", schedd.now)
    argv = [sys.executable, os.path.realpath(__file__), "--shadow", job["id"]]
    jobq.spawn_supervisor(job, argv, **{SPOOL_ENV: spool()})


def machine_ad(schedd: Schedd) -> dict[str, Any]:
    """The partitionable slot, advertising what is still free."""
    cfg = schedd.cfg
    host = cfg["machine"]
    free = schedd.queue.free(schedd.offer())[host]
    return {
        "MyType": "Machine",
        "Name": f"slot1@{host}",
        "Machine": host,
        "SlotType": "Partitionable",
        "PartitionableSlot": True,
        "OpSys": "LINUX",
        "Arch": "X86_64",
        "FileSystemDomain": host,
        "UidDomain": host,
        "HasFileTransfer": True,
        "State": "Unclaimed",
        "Activity": "Idle",
        "Start": True,
        "Cpus": free["cpus"],
        "Memory": free["memory"],
        "GPUs": free["gpus"],
        "Disk": free["disk"],
        "TotalCpus": cfg["cpus"],
        "TotalMemory": cfg["memory"],
        "TotalGPUs": cfg["gpus"],
        "TotalDisk": cfg["disk"],
        "DetectedCpus": cfg["cpus"],
        "DetectedMemory": cfg["memory"],
    }


def shadow(job_id: str) -> None:
    """Run one started job: start it as the owner (this process), enforce the periodic
    policies while it runs, stop it on condor_rm/condor_hold (SIGUSR1, the kernel's cancel),
    and record how it ended or that it was vacated."""
    run = None
    try:
        with locked(create=False) as schedd:
            job = schedd.queue.get(job_id)
            if not job or job["state"] != jobq.RUNNING or job["supervisor_pid"] != os.getpid():
                return
            record = dict(job)
        executing = f"Job executing on host: {schedd_address()}"
        started = lambda job: log_event(job, "001", executing, [f"SlotName: {job['slot']}"])  # noqa: E731
        just_lock = lambda: locked(create=False, negotiate=False)  # noqa: E731
        try:  # condor_rm, condor_hold: SIGUSR1, or while it was starting: at once
            run = jobq.start_recorded(lambda: start(record), just_lock, job_id, started)
        except CannotStart as e:
            with locked(create=False) as schedd:
                job = schedd.queue.get(job_id)
                if job and job["state"] in jobq.ON_SLOTS:
                    failed(schedd, job, e)
                schedule(schedd)  # its slot is free again
            return
        while (outcome := run.poll()) is None:
            with locked(create=False, negotiate=False) as schedd:
                job = schedd.queue.get(job_id)
                if job and job["state"] in jobq.ON_SLOTS:
                    policy(schedd, job)
            time.sleep(POLL)
        with locked(create=False) as schedd:
            job = schedd.queue.get(job_id)
            if job:
                finish(schedd, job, outcome)
            schedule(schedd)  # its slot is free: start what waited for it
    except SpoolGone:  # a shadow outliving its pool just ends
        if run is not None:
            run.stop()


class CannotStart(Exception):
    """Why a job could not be started on its slot (HTCondor's hold reason and codes)."""

    def __init__(self, why: str, code: int, error: OSError | None = None) -> None:
        detail = f"{error.strerror} (errno {error.errno})" if error else ""
        super().__init__(why + detail)
        self.code = code
        self.subcode = (error.errno or 0) if error else 0


def start(job: dict[str, Any]) -> kernel.Job:
    """Start the job with its files, environment and initial directory, or raise
    :class:`CannotStart`."""
    ad, slot = decode_ad(job["ad"]), job["slot"]
    iwd = ad.get("Iwd", "/")
    if not os.path.isdir(iwd):
        missing = FileNotFoundError(2, "No such file or directory")
        raise CannotStart(f"Failed to change to initial directory {iwd}: ", HOLD_IWD_ERROR, missing)
    files: list[Any] = []
    try:
        try:
            files.append(open(ad.get("In") or os.devnull, "rb"))  # noqa: SIM115
        except OSError as e:
            why = f"Failed to open '{ad.get('In')}' as standard input: "
            raise CannotStart(why, HOLD_UNABLE_TO_OPEN_INPUT, e) from e
        for attr, what in (("Out", "output"), ("Err", "error")):
            target = ad.get(attr) or os.devnull
            if attr == "Err" and target == ad.get("Out"):
                files.append(files[-1])
                continue
            try:
                files.append(open(target, "wb"))  # noqa: SIM115
            except OSError as e:
                why = f"Failed to open '{target}' as standard {what}: "
                raise CannotStart(why, HOLD_UNABLE_TO_OPEN_OUTPUT, e) from e
        env = parse_environment(ad)
        env.update(_CONDOR_SCRATCH_DIR=iwd, _CONDOR_SLOT=slot.split("@")[0], _CONDOR_JOB_IWD=iwd)
        env["BATCH_SYSTEM"] = "HTCondor"
        argv = [ad["Cmd"]]
        if isinstance(ad.get("Arguments"), str):
            argv += parse_new_args(ad["Arguments"])
        elif isinstance(ad.get("Args"), str):
            argv += ad["Args"].split()
        stdin, out, err = files
        try:
            return kernel.start_job(
                argv, stdin=stdin, stdout=out, stderr=err, cwd=iwd, env=env, grace=3.0
            )
        except OSError as e:
            why = f"Failed to execute '{ad['Cmd']}': "
            raise CannotStart(why, HOLD_FAILED_TO_CREATE_PROCESS, e) from e
    finally:
        for f in set(files):
            f.close()


def failed(schedd: Schedd, job: dict[str, Any], error: CannotStart) -> None:
    """The job could not be started on its slot: it is held, and gives the slot back (or
    leaves the queue when condor_rm came meanwhile)."""
    if job.get("remove_reason"):
        schedd.queue.end(job, None, jobq.END_CANCEL)
        log_event(job, "009", "Job was aborted.", [job["remove_reason"]])
        return
    job["failed_starts"] = job.get("failed_starts", 0) + 1
    schedd.queue.vacate(job, held=True)
    hold(schedd, job, f"Error from {job['slot']}: {error}", error.code, error.subcode)


def policy(schedd: Schedd, job: dict[str, Any]) -> None:
    """The periodic policies of the pool and of the job, on a running job (the first that
    holds removes or holds it)."""
    if job.get("remove_reason") or job.get("hold"):
        return  # already being stopped
    ad = job_ad(job)
    system = schedd.cfg
    system_remove = system.get("system_periodic_remove")
    system_hold = system.get("system_periodic_hold")
    macro = "The system macro SYSTEM_PERIODIC_{} expression '{}' evaluated to TRUE"
    attribute = "The job attribute Periodic{} expression '{}' evaluated to TRUE"
    text = lambda expr: expr.text if isinstance(expr, Expr) else expr  # noqa: E731
    if system_remove and classad.is_true(system_remove, ad):
        remove(schedd, job, macro.format("REMOVE", system_remove))
    elif system_hold and classad.is_true(system_hold, ad):
        hold(schedd, job, macro.format("HOLD", system_hold), HOLD_SYSTEM_POLICY, 0)
    elif ad.get("PeriodicRemove") is not None and classad.is_true(ad["PeriodicRemove"], ad):
        remove(schedd, job, attribute.format("Remove", text(ad["PeriodicRemove"])))
    elif ad.get("PeriodicHold") is not None and classad.is_true(ad["PeriodicHold"], ad):
        hold(schedd, job, attribute.format("Hold", text(ad["PeriodicHold"])), HOLD_POLICY, 0)
    elif isinstance(ad.get("AllowedJobDuration"), int) and (
        schedd.now - job["start_time"] > ad["AllowedJobDuration"]
    ):
        why = "The job exceeded allowed job duration of " + fmt_duration(ad["AllowedJobDuration"])
        hold(schedd, job, why, HOLD_DURATION_EXCEEDED, 0)


def finish(schedd: Schedd, job: dict[str, Any], outcome: Any) -> None:
    """The job's process has ended: removed, vacated to be held, or completed."""
    if job.get("remove_reason"):
        if schedd.queue.ended(job, outcome, outcome.returncode):
            job["end"] = jobq.END_CANCEL
            log_event(job, "009", "Job was aborted.", [job["remove_reason"]])
    elif job.get("hold"):
        if job["state"] in jobq.ON_SLOTS:
            schedd.queue.vacate(job, held=True)
    elif schedd.queue.ended(job, outcome, outcome.returncode):
        rc = outcome.returncode
        detail = (
            f"(0) Abnormal termination (signal {-rc})"
            if rc < 0
            else f"(1) Normal termination (return value {rc})"
        )
        log_event(job, "005", "Job terminated.", [detail])


# --- condor_status -------------------------------------------------------------------------


def slot_ads(schedd: Schedd) -> list[dict[str, Any]]:
    cfg = schedd.cfg
    part = machine_ad(schedd)
    ads = [part]
    for job, ad in schedd.ads():
        if job["state"] not in jobq.ON_SLOTS:
            continue
        ads.append(
            {
                **{k: v for k, v in part.items() if not k.startswith("Total")},
                "Name": ad["RemoteHost"],
                "SlotType": "Dynamic",
                "PartitionableSlot": False,
                "DynamicSlot": True,
                "State": "Claimed",
                "Activity": "Busy",
                "Cpus": ad.get("RequestCpus", 1),
                "Memory": ad.get("RequestMemory", 0),
                "GPUs": ad.get("RequestGPUs", 0),
                "Disk": ad.get("RequestDisk", 0),
                "RemoteOwner": ad.get("User"),
                "JobId": job["id"],
                "TotalSlotCpus": ad.get("RequestCpus", 1),
                "TotalSlotMemory": ad.get("RequestMemory", 0),
                "TotalCpus": cfg["cpus"],
                "TotalMemory": cfg["memory"],
                "TotalGPUs": cfg["gpus"],
            }
        )
    part["TotalSlotCpus"] = cfg["cpus"]
    part["TotalSlotMemory"] = cfg["memory"]
    return ads


def write_status_table(ads: list[dict[str, Any]]) -> str:
    out = ["Name" + " " * 24 + "OpSys      Arch   State     Activity LoadAv Mem   ActvtyTime\n\n"]
    for ad in ads:
        out.append(
            "%-27s %-10s %-6s %-9s %-8s %6.3f %-5d %s\n"
            % (
                ad["Name"],
                ad["OpSys"],
                ad["Arch"],
                ad["State"],
                ad["Activity"],
                0.0,
                ad.get("Memory", 0),
                "0+00:00:00",
            )
        )
    claimed = sum(1 for a in ads if a["State"] == "Claimed")
    n = len(ads)
    out.append(
        "\n               Total Owner Claimed Unclaimed Matched Preempting"
        "  Drain Backfill BkIdle\n\n"
    )
    row = "%13s %5d %5d %7d %9d %7d %10d %6d %8d %6d\n"
    out.append(row % ("X86_64/LINUX", n, 0, claimed, n - claimed, 0, 0, 0, 0, 0))
    out.append("\n" + row % ("Total", n, 0, claimed, n - claimed, 0, 0, 0, 0, 0))
    return "".join(out)


def cmd_status(args: list[str]) -> int:
    try:
        q = parse_query_args("condor_status", args, accept_ids=False)
    except UsageError as e:
        return usage_exit("condor_status", e)
    with locked() as schedd:
        ads = slot_ads(schedd)
    ads = [ad for ad in ads if all(classad.is_true(c, ad) for c in q.constraints)]
    sys.stdout.write(q.render(ads, write_status_table))
    return 0


# --- entry point ---------------------------------------------------------------------------

TOOLS = {
    "condor_submit": cmd_submit,
    "condor_q": cmd_q,
    "condor_history": cmd_history,
    "condor_status": cmd_status,
    "condor_rm": lambda a: cmd_action("remove", a),
    "condor_hold": lambda a: cmd_action("hold", a),
    "condor_release": lambda a: cmd_action("release", a),
}


def main(argv: list[str]) -> int:
    if len(argv) == 3 and argv[1] == "--shadow":
        shadow(argv[2])
        return 0
    tool = os.path.basename(argv[0])
    if tool not in TOOLS:
        if len(argv) > 1 and argv[1] in TOOLS:
            tool, argv = argv[1], argv[1:]
        else:
            sys.stderr.write(f"condor_emu: call me as one of {', '.join(TOOLS)}\n")
            return 2
    return TOOLS[tool](argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
