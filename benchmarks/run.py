"""Benchmarks, each a ratio against batchspawner 1.3.0 measured in the same run.

Status load (see :mod:`status_load`): N running servers polled on JupyterHub's schedule,
plus queued spawns, against the emulated squeue. Goals at the largest N: jobspawner makes at
most 4 status commands per minute and uses at most 1/20 of the anchor's hub CPU.

Run: ./run bench [--quick] [--json FILE]   (exit status 1 when a goal is missed)
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import status_load

QUICK = [(10, 0, 20.0, None), (100, 0, 10.0, None), (0, 10, 1.0, 6.0)]
FULL = [(10, 0, 10.0, None), (100, 0, 10.0, None), (1000, 0, 2.0, None), (0, 100, 1.0, 20.0)]
MAX_COMMANDS = 4.0
MAX_CPU_RATIO = 1 / 20


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="the cheap subset CI runs")
    parser.add_argument("--json", help="write the results to this file")
    args = parser.parse_args(argv)
    results = status_load.run(QUICK if args.quick else FULL)
    rows = []
    for anchor, ours in zip(results[::2], results[1::2], strict=True):
        rows.append(
            {
                "running": ours.running,
                "queued": ours.queued,
                "scale": ours.scale,
                "anchor": asdict(anchor),
                "jobspawner": asdict(ours),
                "commands_ratio": ours.commands_per_min / max(anchor.commands_per_min, 1e-9),
                "cpu_ratio": ours.cpu_s_per_min / max(anchor.cpu_s_per_min, 1e-9),
            }
        )
    largest = max((r for r in rows if not r["queued"]), key=lambda r: r["running"])
    goals = {
        "commands_per_min_at_largest_n": largest["jobspawner"]["commands_per_min"],
        "commands_ok": largest["jobspawner"]["commands_per_min"] <= MAX_COMMANDS,
        "cpu_ratio_at_largest_n": largest["cpu_ratio"],
        "cpu_ok": largest["cpu_ratio"] <= MAX_CPU_RATIO,
    }
    ok = bool(goals["commands_ok"] and goals["cpu_ok"])
    print(f"{'running':>8} {'queued':>7} {'anchor cmd/min':>15} {'ours cmd/min':>13} "
          f"{'cpu ratio':>10} {'anchor stall':>13} {'our stall':>10}")  # fmt: skip
    for r in rows:
        a, o = r["anchor"], r["jobspawner"]
        print(f"{r['running']:>8} {r['queued']:>7} {a['commands_per_min']:>15.1f} "
              f"{o['commands_per_min']:>13.1f} {r['cpu_ratio']:>10.3f} "
              f"{a['worst_stall_s']:>13.3f} {o['worst_stall_s']:>10.3f}")  # fmt: skip
    print(json.dumps({"goals": goals, "ok": ok}, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": rows, "goals": goals, "ok": ok}, indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
