"""``jobspawner``: admin commands.

``jobspawner plugins`` prints every installed backend as JSON: name, distribution, version,
the hooks it implements, and whether it loads (with the error when it does not).
``jobspawner render --backend NAME`` prints a backend's default job-script template.
``jobspawner resources --backend NAME`` prints the queues/partitions the scheduler reports.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import sys
from typing import Any

from .backend import BackendError, installed_backends, load_backend
from .context import make_context
from .jobspec import JobSpec


def plugins_report() -> list[dict[str, Any]]:
    out = []
    for name, ep in sorted(installed_backends().items()):
        dist = getattr(ep, "dist", None)
        entry: dict[str, Any] = {
            "name": name,
            "entry_point": ep.value,
            "distribution": dist.name if dist else None,
            "version": dist.version if dist else None,
        }
        try:
            backend = load_backend(name)
        except BackendError as e:
            entry["error"] = str(e)
        else:
            entry["hooks"] = next(
                (r.hooks for r in backend.report() if r.name == f"backend:{name}"), []
            )
        out.append(entry)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="jobspawner")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("plugins", help="list installed backends and their hooks (JSON)")
    p = sub.add_parser("render", help="print a backend's default job-script template")
    p.add_argument("--backend", default="local")
    p = sub.add_parser("resources", help="print queues/partitions and limits (JSON)")
    p.add_argument("--backend", default="local")
    p.add_argument("--plugin", action="append", default=[])
    args = parser.parse_args(argv)
    try:
        if args.command == "plugins":
            print(json.dumps(plugins_report(), indent=2))
        elif args.command == "render":
            backend = load_backend(args.backend)
            spec = JobSpec("user", "", "jupyter-user", "/dev/null", "/", ())
            print(backend.script_template(spec) or "")
        elif args.command == "resources":
            backend = load_backend(args.backend, args.plugin)
            queues = asyncio.run(backend.discover_resources(make_context(backend)))
            print(json.dumps([dataclasses.asdict(q) for q in queues], indent=2))
    except BackendError as e:
        print(f"jobspawner: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
