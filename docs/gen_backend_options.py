"""Regenerate the option tables of docs/backends/*.md from the backends' declarations.

    python docs/gen_backend_options.py

Each page holds ``<!-- options:NAME -->`` ... ``<!-- /options:NAME -->`` for every backend
it documents; the text between the markers is the generated table. A test fails when a
table differs from the declarations.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from jobspawner.contract.backend_options import markdown_table
from jobspawner.facade.backend import load_backend

#: Which page documents which backends.
PAGES = {
    "slurm.md": ("slurm",),
    "torque.md": ("torque", "pbspro", "moab"),
    "lsf.md": ("lsf",),
    "condor.md": ("condor",),
    "sge.md": ("sge",),
    "slurmrestd.md": ("slurmrestd",),
    "firecrest.md": ("firecrest",),
}
_BLOCK = re.compile(r"(<!-- options:(\w+) -->\n).*?(<!-- /options:\2 -->)", re.DOTALL)


def table(name: str) -> str:
    """The generated option table of backend ``name`` (core options included)."""
    declarations = load_backend(name).option_declarations()
    return markdown_table(list(declarations.options.values()))


def render(text: str) -> str:
    """``text`` with every marked block regenerated."""
    return _BLOCK.sub(lambda m: m.group(1) + table(m.group(2)) + m.group(3), text)


def main() -> int:
    folder = Path(__file__).with_name("backends")
    for page in PAGES:
        path = folder / page
        path.write_text(render(path.read_text()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
