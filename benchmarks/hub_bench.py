"""``./run bench hub SCENARIO...``: the real-hub benchmarks, their summary and goals.

Each scenario's raw runs are merged into ``docs/performance-hub.json`` (or ``--out``), so
scenarios can be run one at a time (each holds the cluster lock only for its own runs); the
summary and the goals are computed from everything in that file. Exit status 1 when a goal
measured so far is missed.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import hub_spawn
from bench_queues import QUEUES

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ("notice", "walltime", "lost", "failure", "spawn", "burst")
#: Results grouped by one field: (key in the results, the field).
GROUPED = (
    ("notice", "how"),
    ("notice_sge", "how"),
    ("walltime", "how"),
    ("walltime_sge", "how"),
    ("failure", "case"),
    ("failure_sge", "case"),
)

#: How the summary names each end whose notice has a goal.
WHAT_ENDED = {
    "scancel": "an admin's scancel",
    "qdel": "an admin's qdel",
    "time limit": "the time limit",
}


def _runs(results: dict[str, Any], name: str) -> list[SimpleNamespace]:
    return [SimpleNamespace(**r) for r in results.get(name) or []]


def _line(name: str, what: str, kind: str, s: hub_spawn.Stat) -> str:
    return (
        f"{name:8} {what:28} {kind:13} median {s.median:6.2f} s "
        f"(range {s.low:.2f}-{s.high:.2f}, {s.runs} runs)"
    )


def _goal(text: str, met: bool) -> str:
    return f"goal: {text}: {'met' if met else 'MISSED'}"


def _spawn_summary(
    results: dict[str, Any], suffix: str, queue: str, goals: list[bool]
) -> list[str]:
    """Spawn and stop lines for one scheduler, and its two spawn goals (added to ``goals``)."""
    spawns = _runs(results, "spawn" + suffix)
    lines: list[str] = []
    if not spawns:
        return lines
    medians = {}
    for kind in hub_spawn.KINDS:
        mine = [r for r in spawns if r.kind == kind]
        if not mine:
            continue
        s = hub_spawn.stat([r.seconds for r in mine])
        medians[kind] = s.median
        parts = ", ".join(
            f"{part} {statistics.median(getattr(r, part) for r in mine):.2f}"
            for part in ("submit", "queue", "server", "hub")
        )
        stop = hub_spawn.stat([r.stop for r in mine])
        lines.append(_line(f"spawn {queue}", "request to ready", kind, s) + f"  [{parts}]")
        lines.append(_line(f"stop {queue}", "request to job gone", kind, stop))
    floor = hub_spawn.stat(results.get("floor" + suffix) or [float("nan")])
    lines.append(_line(f"floor {queue}", "jupyterhub-singleuser, no hub", "", floor))
    bare = results.get("floor_bare" + suffix)
    if bare:  # the earlier floor, shown so that the floor's change is visible
        lines.append(_line(f"bare {queue}", "jupyter-server, no hub", "", hub_spawn.stat(bare)))
    if len(medians) == 2:
        ratio = medians["jobspawner"] / medians["batchspawner"]
        goals.append(ratio <= hub_spawn.SPAWN_RATIO)
        lines.append(
            _goal(
                f"{queue}: median spawn ≤ {hub_spawn.SPAWN_RATIO:g} of the anchor's ({ratio:.2f})",
                goals[-1],
            )
        )
        above = medians["jobspawner"] - floor.median
        goals.append(above <= hub_spawn.FLOOR_MARGIN)
        lines.append(
            _goal(
                f"{queue}: median spawn within {hub_spawn.FLOOR_MARGIN:g} s of the floor "
                f"({above:+.2f} s)",
                goals[-1],
            )
        )
    return lines


def summarize(results: dict[str, Any]) -> tuple[list[str], bool]:
    """Summary lines and whether every goal measured so far is met."""
    lines: list[str] = []
    goals: list[bool] = []
    for name, key in GROUPED:
        stats = hub_spawn.group(_runs(results, name), key)
        lines += [_line(name, what, kind, s) for (what, kind), s in stats.items()]
        for cancel in ("scancel", "qdel", "time limit"):
            ours = stats.get((cancel, "jobspawner"))
            if not name.startswith(("notice", "walltime")) or ours is None:
                continue
            met = ours.high <= hub_spawn.NOTICE_LIMIT
            goals.append(met)
            lines.append(
                _goal(
                    f"{WHAT_ENDED[cancel]} noticed within {hub_spawn.NOTICE_LIMIT:g} s "
                    f"(worst {ours.high:.1f} s)",
                    met,
                )
            )
    for name in ("lost", "lost_sge"):
        lines += _lost_summary(_runs(results, name), name, goals)
    for suffix, queue in (("", "slurm"), ("_sge", "sge")):
        lines += _spawn_summary(results, suffix, queue, goals)
    for name in sorted(k for k in results if k.startswith("burst")):
        lines += _burst_summary(_runs(results, name), name, goals)
    return lines, all(goals)


def _lost_summary(runs: list[SimpleNamespace], name: str, goals: list[bool]) -> list[str]:
    """A lost node (its server's packets dropped): how long until each hub stopped it."""
    lines = []
    for kind in hub_spawn.KINDS:
        mine = [r for r in runs if r.kind == kind]
        if not mine:
            continue
        noticed = [r.seconds for r in mine if r.noticed]
        if len(noticed) < len(mine):
            lines.append(
                f"{name:8} {'server unreachable':28} {kind:13} not noticed within "
                f"{hub_spawn.LOST_CAP:g} s in {len(mine) - len(noticed)} of {len(mine)} runs"
            )
        if noticed:
            lines.append(_line(name, "server unreachable", kind, hub_spawn.stat(noticed)))
        if kind == "jobspawner":
            met = len(noticed) == len(mine) and max(noticed) <= hub_spawn.LOST_LIMIT
            goals.append(met)
            lines.append(
                _goal(
                    f"a lost server stopped and its job cancelled within "
                    f"{hub_spawn.LOST_LIMIT:g} s",
                    met,
                )
            )
    return lines


def _burst_summary(runs: list[SimpleNamespace], name: str, goals: list[bool]) -> list[str]:
    lines = []
    for r in runs:
        lines.append(
            f"{name:9} {r.servers} servers at once    {r.kind:13} {r.ready}/{r.servers} ready "
            f"in {r.seconds:.1f} s; API p50 {r.api_p50_ms:.0f} ms, p99 {r.api_p99_ms:.0f} ms"
        )
        if r.kind == "jobspawner":
            goals.append(r.ready == r.servers)
            lines.append(_goal(f"all {r.servers} servers of a burst ready", goals[-1]))
    return lines


def plot(results: dict[str, Any], out: Path) -> list[Path]:
    """Medians with their ranges per scenario (performance-hub.png) and the spawn's
    breakdown (performance-spawn.png), as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths: list[Path] = []
    cases: list[tuple[str, dict[str, hub_spawn.Stat]]] = []
    for name, key in GROUPED:
        stats = hub_spawn.group(_runs(results, name), key)
        for what in dict.fromkeys(w for w, _ in stats):
            cases.append((f"{name}:\n{what}", {k: s for (w, k), s in stats.items() if w == what}))
    for suffix, queue in (("", "Slurm"), ("_sge", "Grid Engine")):
        runs = _runs(results, "spawn" + suffix)
        if runs:
            cases.append(
                (
                    f"spawn ({queue}):\nrequest to ready",
                    {
                        kind: hub_spawn.stat([r.seconds for r in runs if r.kind == kind])
                        for kind in hub_spawn.KINDS
                    },
                )
            )
    spawns = _runs(results, "spawn")
    if cases:
        fig, ax = plt.subplots(figsize=(8, 3.8))
        width = 0.38
        for j, kind in enumerate(hub_spawn.KINDS):
            xs = [i + (j - 0.5) * width for i in range(len(cases))]
            stats = [c[1].get(kind) for c in cases]
            med = [s.median if s else 0 for s in stats]
            err = [
                [s.median - s.low if s else 0 for s in stats],
                [s.high - s.median if s else 0 for s in stats],
            ]
            label = "batchspawner 1.3.0" if kind == "batchspawner" else "jobspawner"
            ax.bar(xs, med, width, yerr=err, capsize=3, label=label)
        ax.set_xticks(range(len(cases)), [c[0] for c in cases], fontsize=7)
        ax.set_ylabel("seconds (median, bars: range)")
        ax.legend()
        ax.grid(True, axis="y", alpha=0.3)
        fig.tight_layout()
        paths.append(out / "performance-hub.png")
        fig.savefig(paths[-1], dpi=100)
        plt.close(fig)
    if spawns:
        fig, ax = plt.subplots(figsize=(6.5, 3.2))
        parts = ("submit", "queue", "server", "hub")
        floors = {
            "bare jupyter-server,\nno hub": "floor_bare",
            "floor: jupyterhub-\nsingleuser, no hub": "floor",
        }
        rows: list[tuple[str, str | None]] = [(label, None) for label in floors]
        rows += [(k, k) for k in hub_spawn.KINDS]
        for y, (label, kind) in enumerate(rows):
            if kind is None:
                values = results.get(floors[label]) or [0]
                ax.barh(y, statistics.median(values), color="lightgrey" if y == 0 else "grey")
                continue
            left = 0.0
            for n, part in enumerate(parts):
                value = statistics.median(getattr(r, part) for r in spawns if r.kind == kind)
                legend = part if y == len(floors) else None
                ax.barh(y, value, left=left, color=f"C{n}", label=legend)
                left += value
        ax.set_yticks(range(len(rows)), [r[0] for r in rows])
        ax.set_xlabel("seconds from the start request (medians)")
        ax.legend(fontsize=7, ncol=4)
        fig.tight_layout()
        paths.append(out / "performance-spawn.png")
        fig.savefig(paths[-1], dpi=100)
        plt.close(fig)
    return paths


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="run bench hub")
    parser.add_argument("scenarios", nargs="*", help=f"any of {', '.join(SCENARIOS)}")
    parser.add_argument("--rounds", type=int, default=3, help="runs per spawner and case")
    parser.add_argument(
        "--servers", type=int, default=hub_spawn.BURST_SERVERS, help="servers of a burst"
    )
    parser.add_argument("--queue", default="slurm", choices=sorted(QUEUES), help="scheduler")
    parser.add_argument("--out", default=str(ROOT / "docs"), help="folder of the results")
    args = parser.parse_args(argv)
    unknown = set(args.scenarios) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenario(s) {', '.join(sorted(unknown))}: {', '.join(SCENARIOS)}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "performance-hub.json"
    results: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    for name in args.scenarios:
        workdir = Path(tempfile.mkdtemp(prefix=f"hubbench-{name}-"))
        print(f"{name}: hub folders and logs in {workdir}")
        queue = QUEUES[args.queue]
        results.update(hub_spawn.run_scenario(name, workdir, args.rounds, queue, args.servers))
        path.write_text(json.dumps(results, indent=2) + "\n")
    lines, ok = summarize(results)
    print("\n".join(lines))
    for plotted in plot(results, out):
        print(f"wrote {plotted}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
