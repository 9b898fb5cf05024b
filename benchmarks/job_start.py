"""``./run bench jobstart``: time to notebook on the job side, against ``jupyterhub-singleuser``.

Issue #23, item 8. Starts ``jobspawner-singleuser`` and ``jupyterhub-singleuser`` (the anchor)
in turn, in the jobs' Python environment (``tests/harness/jobenv.py``), as the test user
alice, on this host, each against the stand-in hub of :mod:`hubless` (so no scheduler, no
proxy and no real hub take part), and times each from its start until ``GET {prefix}api``
answers: wall-clock seconds and the CPU seconds the server used meanwhile (its own and those
of the children it waited for, such as JupyterLab's ``node``). Rounds alternate which program
starts first, so load on a shared machine falls on both alike; compare the ratios, which are
measured in the same run.

Traced starts (one per program per run, with ``-X importtime`` and :mod:`job_start_trace`)
say where the time goes: the interpreter's start, the imports (self time per top-level
package), config files, extension discovery, linking and loading, the hub's version check,
the bind and the port report, until the first answer.

Run: ./run bench jobstart [--rounds N] [--quick] [--out FILE]
The full run writes docs/time-to-notebook.json and the table in docs/time-to-notebook.md.
"""

from __future__ import annotations

import argparse
import json
import os
import pwd
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import hubless

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from harness.hub import free_port  # noqa: E402
from harness.jobenv import ensure_jobenv  # noqa: E402
from jobspawner.jobside.job_supervisor import become  # noqa: E402

#: The anchor first: ``jupyterhub-singleuser``, what jobspawner-singleuser extends.
KINDS = ("jupyterhub", "jobspawner")
PROGRAMS = {"jupyterhub": "jupyterhub-singleuser", "jobspawner": "jobspawner-singleuser"}
USER = "alice"
TRACER = Path(__file__).resolve().parent / "job_start_trace.py"
#: Give up on a server that has not answered after this long (a broken environment).
START_TIMEOUT = 120.0
#: The module whose import the deferral of :mod:`jobspawner.jobside.deferred_imports` saves.
DEFERRED_PARSERS = "rfc3987_syntax.syntax_helpers"
DASH = "\u2013"  # ranges and missing values in the tables
_IMPORT_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \| ( *)(\S+)")


@dataclass
class Start:
    """One server's start, until its first answer."""

    kind: str
    seconds: float
    cpu_seconds: float
    traced: bool = False
    #: Traced starts: wall and CPU seconds per step (:mod:`job_start_trace`), in the order
    #: they began.
    steps: dict[str, dict[str, float]] = field(default_factory=dict)
    #: Traced starts: import self time in seconds per top-level package, largest first.
    imports: dict[str, float] = field(default_factory=dict)
    #: Traced starts: whether the server imported :data:`DEFERRED_PARSERS` before answering.
    imported_parsers: bool = False


def _cpu_seconds(pid: int) -> float:
    """User and system CPU of ``pid`` and of the children it has waited for."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # fields[11:15] are utime, stime, cutime, cstime (proc(5), counted after the name)
    return sum(int(v) for v in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def _environment(jobenv: Path, kind: str, hub: hubless.StandInHub, port: int) -> dict[str, str]:
    entry = pwd.getpwnam(USER)
    env = {
        "PATH": f"{jobenv}/bin:/usr/local/bin:/usr/bin:/bin",
        "HOME": entry.pw_dir,
        "USER": USER,
        "LOGNAME": USER,
        "LANG": "C.UTF-8",
        **hubless.singleuser_environment(hub, USER, port),
    }
    if kind == "jobspawner":
        env["JOBSPAWNER_PORT"] = str(port)  # the hub's pinned port: the port the probe knows
    return env


def start_once(jobenv: Path, kind: str, hub: hubless.StandInHub, traced: bool = False) -> Start:
    """Start ``kind``'s program once as :data:`USER` and time it until it answers."""
    entry = pwd.getpwnam(USER)
    port = free_port()
    work = Path(tempfile.mkdtemp(prefix="jobspawner-jobstart-"))
    os.chown(work, entry.pw_uid, entry.pw_gid)  # mode 700: the user's own folder
    events = work / "events.jsonl"
    if traced:
        tracer = work / TRACER.name
        shutil.copyfile(TRACER, tracer)
        tracer.chmod(0o644)
        argv = [str(jobenv / "bin" / "python"), "-X", "importtime", str(tracer), kind]
        argv.append(str(events))
    else:
        argv = [str(jobenv / "bin" / PROGRAMS[kind])]
    url = f"http://127.0.0.1:{port}{hubless.probe_path(USER)}"
    log = open(work / "server.log", "w+")  # noqa: SIM115 (the server's stderr while it runs)
    began = time.time()
    started = time.monotonic()
    server = subprocess.Popen(
        argv,
        cwd=entry.pw_dir,
        env=_environment(jobenv, kind, hub, port),
        preexec_fn=become(pwd.getpwnam(USER).pw_uid),  # the job's own way
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    try:
        seconds = cpu = None
        while server.poll() is None and time.monotonic() - started < START_TIMEOUT:
            try:
                with urllib.request.urlopen(url, timeout=5):
                    seconds = time.monotonic() - started
                    cpu = _cpu_seconds(server.pid)
                    break
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.01)
    finally:
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    log.seek(0)
    output = log.read()
    log.close()
    if seconds is None or cpu is None:
        shutil.rmtree(work, ignore_errors=True)
        raise RuntimeError(f"{PROGRAMS[kind]} did not answer at {url}:\n{output[-3000:]}")
    start = Start(kind, seconds, cpu, traced)
    if traced:
        start.steps = steps(events.read_text(), began, began + seconds)
        start.imports, imported = imports(output)
        start.imported_parsers = DEFERRED_PARSERS in imported
    shutil.rmtree(work, ignore_errors=True)
    return start


def steps(events_text: str, began: float, answered: float) -> dict[str, dict[str, float]]:
    """Wall and CPU seconds per step from :mod:`job_start_trace`'s events: the interpreter's
    start (from ``began`` until the tracer ran; the CPU the interpreter used before it), the
    imports, each timed step (calls summed; steps nest, e.g. the hub check runs inside
    extension loading), and from the last step's end until the first answer (``answered``;
    wall only)."""
    events = [json.loads(line) for line in events_text.splitlines() if line.strip()]
    process = next(e for e in events if e["step"] == "process")
    out = {"interpreter": {"wall": max(process["start"] - began, 0.0), "cpu": process["cpu"]}}
    for event in sorted(events, key=lambda e: e["start"]):
        if event["step"] != "process":
            step = out.setdefault(event["step"], {"wall": 0.0, "cpu": 0.0})
            step["wall"] += event["end"] - event["start"]
            step["cpu"] += event["cpu"]
    last = max(e["end"] for e in events)
    out["until answered"] = {"wall": max(answered - last, 0.0), "cpu": float("nan")}
    return out


def imports(stderr: str) -> tuple[dict[str, float], set[str]]:
    """``-X importtime``'s lines: self seconds per top-level package (largest first), and
    every module imported."""
    per_package: dict[str, float] = {}
    modules = set()
    for match in _IMPORT_LINE.finditer(stderr):
        self_us, name = int(match.group(1)), match.group(4)
        modules.add(name)
        top = name.split(".")[0]
        per_package[top] = per_package.get(top, 0.0) + self_us / 1e6
    ordered = dict(sorted(per_package.items(), key=lambda kv: -kv[1]))
    return ordered, modules


def run(rounds: int, traced: int = 1, jobenv: Path | None = None) -> list[Start]:
    """``traced`` traced starts and then ``rounds`` plain ones of each program, alternating
    which starts first."""
    jobenv = jobenv or ensure_jobenv()
    starts = []
    with hubless.stand_in_hub() as hub:
        for i in range(traced + rounds):
            order = KINDS if i % 2 == 0 else KINDS[::-1]
            for kind in order:
                starts.append(start_once(jobenv, kind, hub, traced=i < traced))
    return starts


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def summarize(starts: list[Start]) -> dict[str, Any]:
    """Medians per program (plain starts; the traced ones when there are no others), the
    ratios of jobspawner's to the anchor's, and the traced starts' steps and imports."""
    plain = [s for s in starts if not s.traced] or starts
    kinds: dict[str, Any] = {}
    for kind in KINDS:
        mine = [s for s in plain if s.kind == kind]
        traced = [s for s in starts if s.kind == kind and s.traced]
        kinds[kind] = {
            "runs": len(mine),
            "seconds": _median([s.seconds for s in mine]),
            "seconds_range": [min(s.seconds for s in mine), max(s.seconds for s in mine)],
            "cpu_seconds": _median([s.cpu_seconds for s in mine]),
            "steps": {
                part: _median_steps([{n: v[part] for n, v in s.steps.items()} for s in traced])
                for part in ("wall", "cpu")
            },
            "imports": _median_steps([s.imports for s in traced]),
            "imported_parsers": any(s.imported_parsers for s in traced),
        }
    anchor, ours = kinds["jupyterhub"], kinds["jobspawner"]
    return {
        "kinds": kinds,
        "seconds_ratio": ours["seconds"] / anchor["seconds"],
        "cpu_ratio": ours["cpu_seconds"] / anchor["cpu_seconds"],
        "starts": [asdict(s) for s in starts],
    }


def _median_steps(runs: list[dict[str, float]]) -> dict[str, float]:
    names: list[str] = []
    for run_ in runs:
        names += [n for n in run_ if n not in names]
    return {n: _median([r[n] for r in runs if n in r]) for n in names}


def markdown(summary: dict[str, Any], top_imports: int = 8) -> str:
    """The side-by-side table, the steps and the largest imports (docs/time-to-notebook.md)."""
    k = summary["kinds"]
    a, o = k["jupyterhub"], k["jobspawner"]
    lines = [
        "| | `jupyterhub-singleuser` | `jobspawner-singleuser` | ratio |",
        "|---|---:|---:|---:|",
        f"| start → first answer, median (range) | {a['seconds']:.2f} s "
        f"({a['seconds_range'][0]:.2f}{DASH}{a['seconds_range'][1]:.2f}) | {o['seconds']:.2f} s "
        f"({o['seconds_range'][0]:.2f}{DASH}{o['seconds_range'][1]:.2f}) "
        f"| {summary['seconds_ratio']:.2f} |",
        f"| CPU until then, median | {a['cpu_seconds']:.2f} s | {o['cpu_seconds']:.2f} s "
        f"| {summary['cpu_ratio']:.2f} |",
        f"| runs | {a['runs']} | {o['runs']} | |",
        "",
    ]
    if "load" in summary:
        lines += [
            "Load average (1 minute) at the run's start and end: "
            + " and ".join(f"{v:.1f}" for v in summary["load"])
            + ".",
            "",
        ]
    lines += [
        "Traced start, seconds per step, wall-clock and CPU (steps nest: the hub check is "
        "part of extension loading, the bind and the port report part of the start):",
        "",
        "| step | `jupyterhub-singleuser` wall | CPU | `jobspawner-singleuser` wall | CPU |",
        "|---|---:|---:|---:|---:|",
    ]
    aw, ac, ow, oc = a["steps"]["wall"], a["steps"]["cpu"], o["steps"]["wall"], o["steps"]["cpu"]
    for name in list(aw) + [n for n in ow if n not in aw]:
        lines.append(
            f"| {name} | {_cell(aw, name)} | {_cell(ac, name)} | {_cell(ow, name)} "
            f"| {_cell(oc, name)} |"
        )
    lines += [
        "",
        "Traced start, import self time per top-level package, wall-clock (the largest; "
        "`-X importtime`):",
        "",
        "| package | `jupyterhub-singleuser` | `jobspawner-singleuser` |",
        "|---|---:|---:|",
    ]
    packages = list(a["imports"])[:top_imports]
    packages += [p for p in list(o["imports"])[:top_imports] if p not in packages]
    for name in packages:
        lines.append(f"| `{name}` | {_cell(a['imports'], name)} | {_cell(o['imports'], name)} |")
    total_a, total_o = sum(a["imports"].values()), sum(o["imports"].values())
    lines.append(f"| all imports | {total_a:.2f} | {total_o:.2f} |")
    return "\n".join(lines) + "\n"


def _cell(values: dict[str, float], name: str) -> str:
    value = values.get(name, float("nan"))
    return DASH if value != value else f"{value:.2f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="./run bench jobstart")
    parser.add_argument("--rounds", type=int, default=8, help="plain starts of each program")
    parser.add_argument("--quick", action="store_true", help="one traced start of each")
    parser.add_argument("--out", help="write the results JSON here (full run: docs/)")
    args = parser.parse_args(argv)
    load_before = os.getloadavg()[0]
    starts = run(0 if args.quick else args.rounds)
    summary = summarize(starts)
    summary["load"] = [load_before, os.getloadavg()[0]]
    table = markdown(summary)
    print(table)
    docs = ROOT / "docs"
    out = Path(args.out) if args.out else (None if args.quick else docs / "time-to-notebook.json")
    if out is not None:
        out.write_text(json.dumps(summary, indent=2) + "\n")
        print(f"wrote {out}")
        if not args.out:
            from run import _write_table

            _write_table(docs / "time-to-notebook.md", table)
    # jobspawner-singleuser is jupyterhub-singleuser plus the port report: it must not be slower
    return 0 if summary["cpu_ratio"] <= 1.0 else 1


if __name__ == "__main__":
    sys.exit(main())
