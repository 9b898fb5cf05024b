"""Regenerate docs/hooks.md from the hook specs' docstrings: python docs/gen_hooks.py"""

from __future__ import annotations

import inspect
import re
import sys
from pathlib import Path

from jobspawner.contract import hookspecs


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
        "Generated from `core/jobspawner/contract/hookspecs.py` by `python docs/gen_hooks.py`;",
        "a test fails when a hook is missing here or has no docstring.",
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
    found = dict(specs())
    grouped = [name for _title, names in GROUPS for name in names]
    missing = sorted(set(found) - set(grouped))
    if missing:
        raise SystemExit(f"hooks without a lifecycle group in docs/gen_hooks.py: {missing}")
    for title, names in GROUPS:
        lines += [f"## {title}", ""]
        for name in names:
            signature = str(inspect.signature(found[name])).replace("'", "")
            doc = plain(inspect.cleandoc(found[name].__doc__ or ""))
            lines += [f"### `{name}{signature}`", "", doc, ""]
    return plain("\n".join(lines))


#: The hooks by the stage of a job's life they serve, in the order the core calls them.
GROUPS: list[tuple[str, list[str]]] = [
    ("Options", ["backend_options", "resource_fields"]),
    ("The job script", ["script_template", "render_script", "check_constraint"]),
    ("Submitting", ["prepare_commands", "submit_command", "parse_submit", "submit"]),
    (
        "Status",
        [
            "status_command",
            "parse_status",
            "detail_command",
            "parse_detail",
            "history_command",
            "parse_history",
            "query_status",
            "status_per_user",
            "get_host",
            "describe_status",
        ],
    ),
    ("Cancelling", ["cancel_command", "parse_cancel", "cancel"]),
    ("Logs", ["read_log"]),
    ("Cleaning up", ["remove_secrets"]),
    ("Resources", ["resources_commands", "parse_resources", "discover_resources"]),
]

#: Sphinx cross-reference roles (``:func:`x` ``, ``:class:`~a.b.C` ``) as plain code.
_ROLE = re.compile(r":(?:py:)?(?:func|class|meth|mod|data|attr|exc|obj):`~?([^`]+)`")


def plain(text: str) -> str:
    """Markdown without Sphinx roles: ``:func:`a.b` `` becomes `` `a.b` ``; a ``~`` keeps
    the last name only, as Sphinx shows it."""

    def code(m: re.Match[str]) -> str:
        target = m.group(1)
        return f"`{target.rsplit('.', 1)[-1]}`" if m.group(0).find("`~") >= 0 else f"`{target}`"

    return _ROLE.sub(code, text)


if __name__ == "__main__":
    Path(__file__).with_name("hooks.md").write_text(render())
    sys.exit(0)
