"""The default Slurm job script (``job.sh.j2``), loaded with importlib.resources, and the
grammar of the ``--constraint`` it writes."""

from __future__ import annotations

import re
from functools import cache
from importlib.resources import files

from jobspawner import FeatureGrammar, hookimpl

#: Slurm's ``--constraint`` feature syntax: names joined with ``&`` (and) or ``|`` (or),
#: ``name*N`` counts, parentheses, and ``[a|b]`` (matching or). It is a feature filter only.
CONSTRAINT = FeatureGrammar(
    name=re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}"),
    binary=("&", "|"),
    groups=(("(", ")"), ("[", "]")),
    count=True,
    example="skylake&ib",
)


@cache
def job_script() -> str:
    """The Jinja2 source of the default job script."""
    return files(__name__).joinpath("job.sh.j2").read_text(encoding="utf-8")


@hookimpl
def check_constraint(constraint: str) -> str:
    """Refuse what is not a Slurm feature expression."""
    return CONSTRAINT.check(constraint) or ""
