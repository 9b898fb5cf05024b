"""Benchmarks, each a ratio against batchspawner 1.3.0 measured in the same run.

Status load (see :mod:`status_load`): N running servers polled on JupyterHub's schedule,
plus queued spawns, against the emulated squeue. Goals at the largest N: jobspawner makes at
most 4 status commands per minute and uses at most 1/20 of the anchor's hub CPU.

Run: ./run bench [--quick] [--out DIR]   (exit status 1 when a goal is missed)
Real-hub benchmarks (real Slurm, see hub_bench.py): ./run bench hub SCENARIO...
Status load against real Slurm (status_load_real.py): ./run bench load-real [--running 10,100]
Time to notebook on the job side, against jupyterhub-singleuser (job_start.py):
    ./run bench jobstart [--quick] [--rounds N]
The full run writes docs/performance-results.json, docs/performance-*.png and the table in
docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import status_load
from status_load import Phase

ROOT = Path(__file__).resolve().parent.parent
# (running, queued, time compression, real seconds measured)
QUICK = [Phase(10, 0, 10.0, 12.0), Phase(1000, 0, 2.0, 30.0), Phase(0, 10, 1.0, 10.0)]
FULL = [
    Phase(10, 0, 10.0, 24.0),
    Phase(100, 0, 5.0, 24.0),
    Phase(1000, 0, 1.0, 60.0),  # real time: compressed, the anchor cannot run all it asks
    Phase(0, 100, 1.0, 20.0),
]
MAX_COMMANDS = 4.0
MAX_CPU_RATIO = 1 / 20


def side_by_side(results: list[Any]) -> list[dict[str, Any]]:
    """One row per phase: the anchor's and jobspawner's results and their ratios."""
    by = {(r.kind, r.running, r.queued): r for r in results}
    rows = []
    for (kind, running, queued), ours in by.items():
        if kind != "jobspawner":
            continue
        anchor = by[("batchspawner", running, queued)]
        rows.append(
            {
                "running": running,
                "queued": queued,
                "scale": ours.scale,
                "anchor": asdict(anchor),
                "jobspawner": asdict(ours),
                "commands_ratio": ours.commands_per_min / max(anchor.commands_per_min, 1e-9),
                "cpu_ratio": ours.cpu_s_per_min / max(anchor.cpu_s_per_min, 1e-9),
                # the hub host: the hub and the status commands it runs
                "host_cpu_ratio": (ours.cpu_s_per_min + ours.command_cpu_s_per_min)
                / max(anchor.cpu_s_per_min + anchor.command_cpu_s_per_min, 1e-9),
            }
        )
    return rows


def summarize(results: list[status_load.LoadResult]) -> dict[str, Any]:
    """Rows (anchor and jobspawner side by side) and the goals at the largest N."""
    rows = side_by_side(results)
    largest = max((r for r in rows if not r["queued"]), key=lambda r: r["running"])
    goals = {
        "largest_n": largest["running"],
        "commands_per_min_at_largest_n": largest["jobspawner"]["commands_per_min"],
        "commands_ok": largest["jobspawner"]["commands_per_min"] <= MAX_COMMANDS,
        "cpu_ratio_at_largest_n": largest["cpu_ratio"],
        "cpu_ok": largest["cpu_ratio"] <= MAX_CPU_RATIO,
    }
    return {"rows": rows, "goals": goals, "ok": bool(goals["commands_ok"] and goals["cpu_ok"])}


def markdown(summary: dict[str, Any]) -> str:
    """The results table (docs/performance-results.md)."""
    lines = [
        "| running | queued | scale | batchspawner squeue/min (asked) | jobspawner squeue/min "
        "| batchspawner hub CPU s/min | jobspawner hub CPU s/min | CPU ratio "
        "| batchspawner worst stall s | jobspawner worst stall s |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in summary["rows"]:
        a, o = r["anchor"], r["jobspawner"]
        lines.append(
            f"| {r['running']} | {r['queued']} | {r['scale']:g} | {a['commands_per_min']:.1f} "
            f"({a['commands_asked_per_min']:.0f}) "
            f"| {o['commands_per_min']:.1f} | {a['cpu_s_per_min']:.3f} "
            f"| {o['cpu_s_per_min']:.3f} | {r['cpu_ratio']:.3f} | {a['worst_stall_s']:.3f} "
            f"| {o['worst_stall_s']:.3f} |"
        )
    g = summary["goals"]
    lines += [
        "",
        f"Goals at N = {g['largest_n']}: jobspawner "
        f"{g['commands_per_min_at_largest_n']:.2f} status commands per minute "
        f"(goal ≤ {MAX_COMMANDS:g}: {'met' if g['commands_ok'] else 'MISSED'}), hub CPU "
        f"{g['cpu_ratio_at_largest_n']:.3f} of the anchor's (goal ≤ {MAX_CPU_RATIO:g}: "
        f"{'met' if g['cpu_ok'] else 'MISSED'}).",
    ]
    return "\n".join(lines) + "\n"


def plot(summary: dict[str, Any], out: Path) -> list[Path]:
    """Commands per minute and hub CPU per minute against N (log scales), as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = sorted((r for r in summary["rows"] if not r["queued"]), key=lambda r: r["running"])
    n = [r["running"] for r in rows]
    paths = []
    for key, label, name in (
        ("commands_per_min", "squeue commands per minute", "performance-commands.png"),
        ("cpu_s_per_min", "hub CPU seconds per minute", "performance-cpu.png"),
    ):
        fig, ax = plt.subplots(figsize=(5, 3.5))
        for kind, marker in (("anchor", "o"), ("jobspawner", "s")):
            values = [max(r[kind][key], 1e-4) for r in rows]
            name_ = "batchspawner 1.3.0" if kind == "anchor" else "jobspawner"
            ax.plot(n, values, marker=marker, label=name_)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("running servers")
        ax.set_ylabel(label)
        ax.legend()
        ax.grid(True, which="both", alpha=0.3)
        fig.tight_layout()
        path = out / name
        fig.savefig(path, dpi=100)
        plt.close(fig)
        paths.append(path)
    return paths


def _write_table(page: Path, table: str) -> None:
    """Put the table between the results markers of docs/performance.md."""
    text = page.read_text()
    begin = text.index("<!-- results:begin")
    begin = text.index("\n", begin) + 1
    end = text.index("<!-- results:end -->")
    page.write_text(text[:begin] + "\n" + table + "\n" + text[end:])


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["hub"]:  # real-hub benchmarks on real Slurm (benchmarks/hub_bench.py)
        import hub_bench

        return hub_bench.main(argv[1:])
    if argv[:1] == ["jobstart"]:  # the job side's time to notebook (job_start.py)
        import job_start

        return job_start.main(argv[1:])
    if argv[:1] == ["load-real"]:  # the status load against real Slurm (status_load_real.py)
        import status_load_real

        return status_load_real.main(argv[1:])
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="the cheap subset CI runs")
    parser.add_argument(
        "--out", help="write results JSON, table and plots here (full run: docs/)", default=None
    )
    args = parser.parse_args(argv)
    results = status_load.run(QUICK if args.quick else FULL)
    summary = summarize(results)
    table = markdown(summary)
    print(table)
    out = Path(args.out) if args.out else (None if args.quick else ROOT / "docs")
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        (out / "performance-results.json").write_text(json.dumps(summary, indent=2) + "\n")
        if out == ROOT / "docs":
            _write_table(out / "performance.md", table)
        else:
            (out / "performance-results.md").write_text(table)
        for path in plot(summary, out):
            print(f"wrote {path}")
    return 0 if summary["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
