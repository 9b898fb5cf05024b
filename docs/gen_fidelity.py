"""Regenerate the fidelity table of docs/backends/index.md from docs/backends/fidelity.toml.

    python docs/gen_fidelity.py

The page holds ``<!-- fidelity -->`` ... ``<!-- /fidelity -->``; the text between the markers
is the generated table, one row per ``[[backend]]`` entry of the data file. A test fails when
the table differs from the data, when a backend has no entry, or when an entry is malformed.
"""

from __future__ import annotations

import datetime
import re
import sys
from pathlib import Path
from typing import Any

import tomllib

DATA = Path(__file__).with_name("backends") / "fidelity.toml"
PAGE = Path(__file__).with_name("backends") / "index.md"

#: Every backend the table must hold, in its order.
BACKENDS = (
    "local",
    "slurm",
    "slurm over ssh",
    "slurmrestd",
    "firecrest",
    "torque",
    "pbspro",
    "moab",
    "lsf",
    "condor",
    "sge",
)
CI_KINDS = ("real processes", "real daemon", "real server", "emulator")
FIELDS = ("name", "ci_kind", "ci", "checked", "assumed")
CHECK_FIELDS = ("system", "date", "what")
_BLOCK = re.compile(r"(<!-- fidelity -->\n).*?(<!-- /fidelity -->)", re.DOTALL)


def load(path: Path = DATA) -> list[dict[str, Any]]:
    """The entries of the data file; ``ValueError`` naming the entry and field when one is
    missing, unknown, or of the wrong kind."""
    entries = tomllib.loads(path.read_text())["backend"]
    for entry in entries:
        name = entry.get("name", "?")
        if sorted(entry) != sorted(FIELDS):
            raise ValueError(f"{path.name}: {name}: the fields must be {', '.join(FIELDS)}")
        if entry["ci_kind"] not in CI_KINDS:
            raise ValueError(f"{path.name}: {name}: ci_kind must be one of {CI_KINDS}")
        for check in entry["checked"]:
            if sorted(check) != sorted(CHECK_FIELDS):
                raise ValueError(f"{path.name}: {name}: a check needs {CHECK_FIELDS}")
            if not isinstance(check["date"], datetime.date):
                raise ValueError(f"{path.name}: {name}: a check's date is a bare YYYY-MM-DD")
    names = tuple(e["name"] for e in entries)
    if names != BACKENDS:
        raise ValueError(f"{path.name}: the entries must be, in this order: {BACKENDS}")
    return entries


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def table(entries: list[dict[str, Any]]) -> str:
    """The Markdown table of ``entries``."""
    rows = [
        "| Backend | CI runs it against | Checked by hand against a real system | Assumed |",
        "|---|---|---|---|",
    ]
    for e in entries:
        checks = "<br>".join(
            f"{c['date'].isoformat()}: {_cell(c['system'])}: {_cell(c['what'])}"
            for c in e["checked"]
        )
        rows.append(
            f"| `{e['name']}` | **{e['ci_kind']}**: {_cell(e['ci'])} | {checks or 'nothing'} "
            f"| {_cell(e['assumed'])} |"
        )
    return "\n".join(rows) + "\n"


def render(text: str) -> str:
    """``text`` with the marked table regenerated from the data file."""
    return _BLOCK.sub(lambda m: m.group(1) + table(load()) + m.group(2), text)


def main() -> int:
    PAGE.write_text(render(PAGE.read_text()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
