"""``jobspawner``: admin commands.

``check -f jupyterhub_config.py``
    Loads the hub's config, validates it, finds batchspawner leftovers, checks the scheduler
    commands and that the scheduler answers, renders the job script; exit status 0 = pass.
``render -f jupyterhub_config.py --user NAME``
    The job script a spawn for that user would submit (secrets redacted).
``resources``
    The queues/partitions and limits the scheduler reports.
``plugins``
    The installed backends, their versions and hooks.

Every command prints text for people and takes ``--json`` for scripts.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import sys
from collections.abc import Sequence
from typing import Any

from traitlets.config import Config

from jobspawner.__about__ import __version__
from jobspawner.cli import hubconfig
from jobspawner.cli.check import run_check
from jobspawner.cli.output import format_findings, table
from jobspawner.contract.commands import CommandError
from jobspawner.contract.resources import format_hms
from jobspawner.contract.status import QueueInfo
from jobspawner.facade.backend import BackendError, installed_backends, load_backend
from jobspawner.facade.hub_compat import SpawnException


class UsageError(Exception):
    """A problem with what the admin asked for: one line, exit status 2."""


def plugins_report() -> list[dict[str, Any]]:
    """Every installed backend: name, entry point, distribution, version, hooks or error."""
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


def _print_plugins(as_json: bool) -> int:
    report = plugins_report()
    if as_json:
        print(json.dumps(report, indent=2))
        return 0
    rows = [
        (
            p["name"],
            p["distribution"],
            p["version"],
            "error: " + p["error"] if "error" in p else f"ok, {len(p['hooks'])} hooks",
        )
        for p in report
    ]
    print(table(["backend", "distribution", "version", "status"], rows))
    print("\n`jobspawner plugins --json` lists each backend's hooks.")
    return 0


def _size(mb: int | None) -> str | None:
    if mb is None:
        return None
    return f"{mb / 1024:.0f}G" if mb >= 1024 else f"{mb}M"


def _queue_row(q: QueueInfo) -> tuple[Any, ...]:
    cpus = f"{q.idle_cpus}/{q.total_cpus}" if q.total_cpus is not None else None
    return (
        q.name + (" *" if q.default else ""),
        q.state,
        format_hms(q.max_time_s) if q.max_time_s else None,
        q.nodes,
        q.cpus_per_node,
        _size(q.memory_per_node_mb),
        q.gpus_per_node,
        cpus,
    )


def _spawner_for(args: argparse.Namespace) -> Any:
    """The spawner from ``-f CONFIG`` or, without it, a config naming ``--backend``."""
    if args.config:
        config = hubconfig.load_config(args.config)
    else:
        config = Config()
        config.JupyterHub.spawner_class = "jobspawner"
        config.JobSpawner.backend = args.backend
        config.JobSpawner.plugins = list(getattr(args, "plugin", []))
        config.JobSpawner.allow_root_jobs = True  # nothing is run as a user here
    user = getattr(args, "user", None) or hubconfig.default_user()
    return hubconfig.make_spawner(config, user, getattr(args, "server", "") or "")


async def _resources(args: argparse.Namespace) -> list[QueueInfo]:
    spawner = _spawner_for(args)
    ctx = spawner.context()
    return list(await spawner.load().discover_resources(ctx))


def _print_resources(args: argparse.Namespace) -> int:
    queues = asyncio.run(_resources(args))
    if args.json:
        print(json.dumps([dataclasses.asdict(q) for q in queues], indent=2))
        return 0
    if not queues:
        print("The scheduler reported no queues (or the backend does not discover them).")
        return 0
    headers = ["queue", "state", "max time", "nodes", "cpus/node", "mem/node", "gpus/node"]
    print(table([*headers, "idle/total cpus"], [_queue_row(q) for q in queues]))
    print("(* = default queue)")
    return 0


def _options(pairs: Sequence[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"--option {pair!r}: write key=value, e.g. --option memory=8G")
        out[key] = value
    return out


def _print_render(args: argparse.Namespace) -> int:
    spawner = _spawner_for(args)
    asyncio.run(hubconfig.choose_options(spawner, _options(args.option)))
    spec = spawner.build_spec()
    if args.template:  # the template itself: the site's batch_script or the backend's
        template = spawner.batch_script or spawner.load().script_template(spec) or ""
        print(template, end="" if template.endswith("\n") else "\n")
        return 0
    script, _ = hubconfig.redact(spawner.render(spec), spawner)
    if args.json:
        print(json.dumps({"script": script, "job_name": spec.job_name, "user": spec.username}))
    else:
        print(script, end="" if script.endswith("\n") else "\n")
    return 0


def _print_check(args: argparse.Namespace) -> int:
    report = asyncio.run(run_check(args.config, args.user))
    if args.json:
        print(
            json.dumps(
                {
                    "passed": report.passed,
                    "findings": [f.as_dict() for f in report.findings],
                    "script": report.script,
                },
                indent=2,
            )
        )
    else:
        shown = [f for f in report.findings if args.verbose or f.level != "ok"]
        if shown:
            print(format_findings(shown))
        if report.script is not None and args.script:
            print("\n--- job script (secrets redacted) ---")
            print(report.script.rstrip())
            print("--- end of job script ---")
        fails = sum(f.level == "fail" for f in report.findings)
        warns = sum(f.level == "warn" for f in report.findings)
        if report.passed:
            print(f"\nPASS: {args.config} is ready for spawns ({warns} warning(s)).")
        else:
            print(f"\nFAIL: {fails} problem(s) to fix, {warns} warning(s); see fix: lines above.")
    return 0 if report.passed else 1


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (every command has --help, --version and --json)."""
    version = f"jobspawner {__version__}"
    parser = argparse.ArgumentParser(
        prog="jobspawner", description="Admin commands for jobspawner (JupyterHub batch spawner)."
    )
    parser.add_argument("--version", action="version", version=version)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.add_argument("--version", action="version", version=version)
        p.add_argument("--json", action="store_true", help="print JSON for scripts")
        return p

    def source(p: argparse.ArgumentParser) -> None:
        p.add_argument("-f", "--config", help="the hub's jupyterhub_config.py")
        p.add_argument("--backend", default="local", help="backend, when no -f (default local)")
        p.add_argument("--plugin", action="append", default=[], help="site plugin, when no -f")

    p = command("check", "validate a hub config end to end; exit status 1 when it would fail")
    p.add_argument("-f", "--config", required=True, help="the hub's jupyterhub_config.py")
    p.add_argument("--user", help="render the job script for this user (default: you)")
    p.add_argument("-v", "--verbose", action="store_true", help="also list what passed")
    p.add_argument("--script", action="store_true", help="print the rendered job script")
    p = command("render", "print the job script a spawn would submit (secrets redacted)")
    source(p)
    p.add_argument("--user", help="the user whose spawn is rendered (default: you)")
    p.add_argument("--server", default="", help="a named server's name")
    p.add_argument(
        "--option", action="append", default=[], metavar="KEY=VALUE", help="a user option"
    )
    p.add_argument(
        "--template",
        action="store_true",
        help="print the Jinja2 template instead (c.JobSpawner.batch_script or the backend's)",
    )
    p = command("resources", "list the queues/partitions and limits the scheduler reports")
    source(p)
    p.add_argument("--user", help="run the discovery commands through this user's exec_prefix")
    command("plugins", "list the installed backends, their versions and hooks")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``jobspawner`` command; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        if args.command == "plugins":
            return _print_plugins(args.json)
        if args.command == "resources":
            return _print_resources(args)
        if args.command == "render":
            return _print_render(args)
        return _print_check(args)
    except (BackendError, hubconfig.HubConfigError, UsageError) as e:
        print(f"jobspawner {args.command}: {e}", file=sys.stderr)
        return 2
    except CommandError as e:
        print(f"jobspawner {args.command}: {e}", file=sys.stderr)
        return 3
    except SpawnException as e:
        print(f"jobspawner {args.command}: {getattr(e, 'log_message', e)}", file=sys.stderr)
        return 2
