#!/usr/bin/env python3
"""Record what a real OpenPBS server prints for every command the ``pbspro`` backend runs.

    python3 tests/torque/record_openpbs.py [--pbs-exec /opt/pbs] [--user alice] [--other bob]
                                           [--out tests/torque/fixtures/openpbs] [--server-down]

Run it as root on the host of a THROWAWAY OpenPBS server with its scheduler and one MoM (a
single-host install as OpenPBS's INSTALL describes; ``PBS_SERVER`` in ``/etc/pbs.conf``): it
changes the server with ``qmgr`` (queue ``workq`` made the default when missing, job
history on, a scheduler cycle of 2 s, the node's ``ncpus`` set to 2, queues ``jsshort`` and
``jsroute`` created), submits jobs as ``--user`` (and tries to delete one as ``--other``),
deletes those still queued at the end, and with ``--server-down`` stops the server with
``qterm`` to record a query to a server that is down (then starts it again). The fixtures'
README says how to set such a server up.

Each output goes, verbatim, into ``<out>/<name>.stdout`` and ``<out>/<name>.stderr`` (an empty
stream is not written); ``<out>/provenance.json`` names for each record the exact command
line, the user it ran as, its exit status and the job ids the outputs contain, and for the
whole set the OpenPBS version, its source commit (``--commit``, or read from the source tree
given with ``--source``), the date and the host's OS.

When no OpenPBS client or server answers, it prints why and exits 77 (the "skipped" status
of automake's test drivers) without writing anything. Not run by CI: CI has no OpenPBS.
Standard library only.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import pwd
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

SKIP = 77
HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / "fixtures" / "openpbs"

#: The job script: what the backend's template renders (name, output file, joined streams,
#: walltime, one select chunk, ``-k oed``), with a body chosen per situation.
SCRIPT = """\
#!/bin/bash
#PBS -N {name}
#PBS -o {output}
#PBS -j oe
#PBS -l walltime={walltime}
#PBS -l select=1:ncpus={ncpus}:mem=64mb
#PBS -k oed
{body}
"""


class Recorder:
    """Runs commands against the server and writes what they print."""

    def __init__(self, pbs_exec: Path, user: str, other: str, out: Path) -> None:
        self.bin = pbs_exec / "bin"
        self.sbin = pbs_exec / "sbin"
        self.user = user
        self.other = other
        self.out = out
        self.records: dict[str, dict[str, object]] = {}
        self.jobs: dict[str, str] = {}
        home = Path(pwd.getpwnam(user).pw_dir)
        self.workdir = home / "openpbs-record"

    def run(
        self, argv: list[str], user: str | None = None, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        """One command, as ``user`` (root when None), from the user's folder."""
        prefix = ["runuser", "-u", user, "--"] if user else []
        tool = str(self.bin / argv[0]) if (self.bin / argv[0]).exists() else argv[0]
        return subprocess.run(
            [*prefix, tool, *argv[1:]],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
            cwd=str(self.workdir) if user else "/",
        )

    def record(
        self,
        name: str,
        argv: list[str],
        user: str | None = None,
        stdin: str | None = None,
        jobs: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run ``argv`` and keep its outputs as fixture ``name``."""
        proc = self.run(argv, user=user, stdin=stdin)
        entry: dict[str, object] = {
            "command": argv,
            "user": user or "root",
            "exit_status": proc.returncode,
        }
        if stdin is not None:
            entry["stdin"] = stdin
        if jobs:
            entry["jobs"] = jobs
        for stream in ("stdout", "stderr"):
            text = getattr(proc, stream)
            if text:
                (self.out / f"{name}.{stream}").write_text(text)
                entry[stream] = f"{name}.{stream}"
        self.records[name] = entry
        print(f"recorded {name}: exit {proc.returncode}", file=sys.stderr)
        return proc

    def qmgr(self, command: str) -> None:
        proc = self.run(["qmgr", "-c", command])
        if proc.returncode != 0:
            print(f"qmgr -c {command!r}: {proc.stderr.strip()}", file=sys.stderr)

    def submit(
        self,
        key: str,
        body: str,
        ncpus: int = 1,
        extra: tuple[str, ...] = (),
        walltime: str = "00:10:00",
    ) -> str:
        script = SCRIPT.format(
            name=f"rec-{key}",
            output=self.workdir / f"{key}.out",
            walltime=walltime,
            ncpus=ncpus,
            body=body,
        )
        proc = self.run(["qsub", *extra], user=self.user, stdin=script)
        if proc.returncode != 0:
            raise SystemExit(f"qsub of the {key} job failed: {proc.stderr.strip()}")
        self.jobs[key] = proc.stdout.strip()
        return self.jobs[key]

    def states(self, ids: list[str]) -> dict[str, tuple[str, object, object]]:
        proc = self.run(["qstat", "-E", "-x", "-f", "-F", "json", *ids])  # -E: every job
        try:
            jobs = json.loads(proc.stdout).get("Jobs", {})
        except ValueError:
            return {}
        return {
            i: (j.get("job_state"), j.get("comment"), j.get("session_id")) for i, j in jobs.items()
        }

    def wait(self, want: dict[str, str], timeout: float = 120.0) -> None:
        """Until each job id is in its state (a queued job with the scheduler's comment, a
        running one with the MoM's first report: its ``session_id``)."""
        deadline = time.monotonic() + timeout
        while True:
            now = self.states(list(want))
            if all(
                now.get(i, ("", None, None))[0] == s
                and (s != "Q" or now[i][1])
                and (s != "R" or now[i][2])
                for i, s in want.items()
            ):
                return
            if time.monotonic() > deadline:
                raise SystemExit(f"jobs did not reach {want} in {timeout:.0f} s: {now}")
            time.sleep(1)

    def write_provenance(self, header: dict[str, object]) -> None:
        doc = {**header, "jobs": self.jobs, "records": self.records}
        (self.out / "provenance.json").write_text(json.dumps(doc, indent=2) + "\n")


def source_commit(source: Path | None) -> str | None:
    if source is None:
        return None
    proc = subprocess.run(
        ["git", "-C", str(source), "rev-parse", "HEAD"], capture_output=True, text=True
    )
    return proc.stdout.strip() or None


def os_name() -> str:
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip('"')
    except OSError:
        pass
    return platform.platform()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pbs-exec", type=Path, default=Path("/opt/pbs"))
    parser.add_argument("--user", default="alice")
    parser.add_argument("--other", default="bob")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--commit", help="the OpenPBS commit the server was built from")
    parser.add_argument("--source", type=Path, help="the OpenPBS source tree (a git checkout)")
    parser.add_argument("--server-down", action="store_true", help="also record a stopped server")
    args = parser.parse_args()

    qstat = args.pbs_exec / "bin" / "qstat"
    if not qstat.exists():
        print(f"skipped: no OpenPBS client at {qstat} (give --pbs-exec)", file=sys.stderr)
        return SKIP
    if os.geteuid() != 0:
        print("skipped: run as root (it configures the server and submits as --user)")
        return SKIP
    probe = subprocess.run([str(qstat), "-B", "-f", "-F", "json"], capture_output=True, text=True)
    if probe.returncode != 0:
        print(f"skipped: no OpenPBS server answers ({probe.stderr.strip()})", file=sys.stderr)
        return SKIP
    server = json.loads(probe.stdout)
    version = server.get("pbs_version")

    args.out.mkdir(parents=True, exist_ok=True)
    for old in args.out.glob("*.std*"):
        old.unlink()
    rec = Recorder(args.pbs_exec, args.user, args.other, args.out)
    owner = pwd.getpwnam(args.user)
    rec.workdir.mkdir(mode=0o700, exist_ok=True)
    os.chown(rec.workdir, owner.pw_uid, owner.pw_gid)

    # --- the server: history, a quick scheduler, 2 CPUs, a limited and a routing queue ------
    node_doc = json.loads(rec.run(["pbsnodes", "-a", "-F", "json"]).stdout)
    node = next(iter(node_doc.get("nodes", {})))
    for command in (
        "create queue workq queue_type = execution",  # what a fresh server lacks
        "set queue workq enabled = True",
        "set queue workq started = True",
        "set server default_queue = workq",
        "set server job_history_enable = True",
        "set server scheduler_iteration = 2",
        f"set node {node} resources_available.ncpus = 2",
        "create queue jsshort queue_type = execution",
        "set queue jsshort resources_max.walltime = 01:00:00",
        "set queue jsshort resources_default.walltime = 00:30:00",
        "set queue jsshort enabled = True",
        "set queue jsshort started = True",
        "create queue jsroute queue_type = route",
        "set queue jsroute route_destinations = workq",
        "set queue jsroute enabled = True",
        "set queue jsroute started = True",
    ):
        rec.qmgr(command)

    # --- submissions --------------------------------------------------------------------
    script = SCRIPT.format(
        name="rec-submit", output=rec.workdir / "submit.out", walltime="00:10:00", ncpus=1,
        body="sleep 600",
    )  # fmt: skip
    proc = rec.record("qsub-submitted", ["qsub"], user=args.user, stdin=script)
    rec.jobs["running"] = proc.stdout.strip()
    rec.record("qsub-unknown-queue", ["qsub", "-q", "nosuchq"], user=args.user, stdin=script)
    bad_resource = script.replace("mem=64mb", "mem=64mb:nosuchres=1")
    rec.record("qsub-unknown-resource", ["qsub"], user=args.user, stdin=bad_resource)
    rec.record(
        "qsub-over-queue-walltime",
        ["qsub", "-q", "jsshort", "-l", "walltime=02:00:00"],
        user=args.user,
        stdin=script,
    )
    rec.record("qsub-as-root", ["qsub"], stdin=script)

    queued = rec.submit("queued", "sleep 600", ncpus=2)  # 1 of 2 CPUs is taken
    never = rec.submit("never", "sleep 600", ncpus=64)
    held = rec.submit("held", "sleep 600", extra=("-h",))
    done = rec.submit("finished", "echo done")
    failed = rec.submit("failed", "echo failing; exit 3")
    running = rec.jobs["running"]
    rec.wait({running: "R", done: "F", failed: "F", queued: "Q", never: "Q", held: "H"})

    # --- status of each situation, as the backend asks and as text -----------------------
    situations = {
        "running": running,
        "queued": queued,
        "never": never,
        "held": held,
        "finished": done,
        "failed": failed,
    }
    for key, job in situations.items():
        rec.record(f"qstat-x-f-F-json-{key}", ["qstat", "-x", "-f", "-F", "json", job])
        rec.record(f"qstat-x-f-{key}", ["qstat", "-x", "-f", job])
    rec.record("qstat-f-running", ["qstat", "-f", running])
    rec.record("qstat-f-finished-without-x", ["qstat", "-f", done])
    unknown = f"{int(running.split('.')[0]) + 999}.{running.split('.', 1)[1]}"
    rec.jobs["unknown"] = unknown
    # What the backend runs: one query for every job (-E: OpenPBS's main branch prints only
    # the first job of several without it, openpbs/openpbs#2672), and the same without -E.
    rec.record(
        "qstat-E-x-f-F-json-all-and-unknown",
        ["qstat", "-E", "-x", "-f", "-F", "json", *situations.values(), unknown],
    )
    rec.record(
        "qstat-x-f-F-json-all-and-unknown",
        ["qstat", "-x", "-f", "-F", "json", *situations.values(), unknown],
    )
    rec.record("qstat-E-x-f-F-json-unknown", ["qstat", "-E", "-x", "-f", "-F", "json", unknown])
    rec.record("qstat-x-f-F-json-unknown", ["qstat", "-x", "-f", "-F", "json", unknown])

    # over its walltime: the MoM kills it at its next check (set $min_check_poll and
    # $max_check_poll in mom_priv/config to a few seconds, or this waits minutes); submitted
    # after the records above, whose comments count the free CPUs
    walltime = rec.submit("walltime", "sleep 120", walltime="00:00:03")

    # --- cancelling ---------------------------------------------------------------------------
    rec.record("qdel-other-users-job", ["qdel", running], user=args.other)
    rec.record("qdel-running", ["qdel", running], user=args.user)
    rec.record("qdel-queued", ["qdel", queued], user=args.user)
    rec.record("qdel-finished", ["qdel", done], user=args.user)
    rec.record("qdel-unknown", ["qdel", unknown], user=args.user)
    rec.wait({running: "F", queued: "F"})
    rec.wait({walltime: "F"}, timeout=300)
    rec.record("qstat-x-f-F-json-walltime", ["qstat", "-x", "-f", "-F", "json", walltime])
    rec.jobs["deleted_running"] = running
    rec.jobs["deleted_queued"] = queued
    rec.record("qstat-x-f-F-json-deleted-running", ["qstat", "-x", "-f", "-F", "json", running])
    rec.record("qstat-x-f-F-json-deleted-queued", ["qstat", "-x", "-f", "-F", "json", queued])

    # --- resources ------------------------------------------------------------------------
    rec.record("qstat-B-f", ["qstat", "-B", "-f"])
    rec.record("qstat-Q-f", ["qstat", "-Q", "-f"])
    rec.record("pbsnodes-a", ["pbsnodes", "-a"])
    rec.record("pbsnodes-a-F-json", ["pbsnodes", "-a", "-F", "json"])

    for job in (never, held):
        rec.run(["qdel", job], user=args.user)

    if args.server_down:
        rec.run(["qterm", "-t", "quick"])
        time.sleep(2)
        rec.record("qstat-x-f-F-json-server-down", ["qstat", "-x", "-f", "-F", "json", running])
        subprocess.run([str(args.pbs_exec / "sbin" / "pbs_server")], check=False)

    rec.write_provenance(
        {
            "openpbs_version": version,
            "openpbs_commit": args.commit or source_commit(args.source),
            "server": server.get("pbs_server"),
            "recorded": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "host_os": os_name(),
            "kernel": platform.release(),
            "recorder": "tests/torque/record_openpbs.py",
        }
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
