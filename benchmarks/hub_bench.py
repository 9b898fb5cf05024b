"""``./run bench hub SCENARIO...``: the real-hub benchmarks, their summary and goals.

Each scenario's raw runs are merged into ``docs/performance-hub.json`` (or ``--out``), so
scenarios can be run one at a time (each holds the cluster lock only for its own runs); the
summary and the goals are computed from everything in that file. Exit status 1 when a goal
measured so far is missed.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import hub_spawn

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ("notice", "failure", "spawn", "burst")


def summarize(results: dict[str, Any]) -> tuple[list[str], bool]:
    """Summary lines and whether every goal measured is met."""
    lines: list[str] = []
    ok = True
    for name, key in (("notice", "how"), ("failure", "case")):
        runs = results.get(name)
        if not runs:
            continue
        objs = [SimpleNamespace(**r) for r in runs]
        for (what, kind), s in hub_spawn.group(objs, key).items():
            lines.append(
                f"{name:8} {what:28} {kind:13} median {s.median:6.1f} s "
                f"(range {s.low:.1f}-{s.high:.1f}, {s.runs} runs)"
            )
        if name == "notice":
            ours = hub_spawn.group(objs, key)
            for (what, kind), s in ours.items():
                if kind == "jobspawner" and what == "scancel":
                    met = s.high <= hub_spawn.NOTICE_LIMIT
                    ok &= met
                    lines.append(
                        f"goal: an admin's scancel noticed within {hub_spawn.NOTICE_LIMIT:g} s "
                        f"(worst {s.high:.1f} s): {'met' if met else 'MISSED'}"
                    )
    return lines, ok


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="run bench hub")
    parser.add_argument("scenarios", nargs="*", help=f"any of {', '.join(SCENARIOS)}")
    parser.add_argument("--rounds", type=int, default=3, help="runs per spawner and case")
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
        results.update(hub_spawn.run_scenario(name, workdir, args.rounds))
        path.write_text(json.dumps(results, indent=2) + "\n")
    lines, ok = summarize(results)
    print("\n".join(lines))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
