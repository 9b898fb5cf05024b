"""Regenerate docs/hooks.md from the hook specs' docstrings: python docs/gen_hooks.py"""

from __future__ import annotations

import inspect
import sys
from pathlib import Path

from jobspawner import hookspecs


def specs() -> list[tuple[str, object]]:
    return [
        (name, fn)
        for name, fn in inspect.getmembers(hookspecs, inspect.isfunction)
        if hasattr(fn, "jobspawner_spec")
    ]


def render() -> str:
    lines = [
        "# The hook contract",
        "",
        "Generated from `core/jobspawner/hookspecs.py` by `python docs/gen_hooks.py`; a test",
        "fails when a hook is missing here or has no docstring.",
        "",
        inspect.cleandoc(hookspecs.__doc__ or ""),
        "",
        "A backend is a module registered in the `jobspawner.backends` entry-point group:",
        "",
        "```toml",
        '[project.entry-points."jobspawner.backends"]',
        'mysched = "jobspawner_mysched.hooks"',
        "```",
        "",
        "`core/jobspawner/backends/local.py` is the reference implementation.",
        "",
    ]
    for name, fn in sorted(specs(), key=lambda item: item[0]):
        signature = str(inspect.signature(fn)).replace("'", "")
        lines += [f"## `{name}{signature}`", "", inspect.cleandoc(fn.__doc__ or ""), ""]
    return "\n".join(lines)


if __name__ == "__main__":
    Path(__file__).with_name("hooks.md").write_text(render())
    sys.exit(0)
