"""The default Slurm job script (``job.sh.j2``), loaded with importlib.resources."""

from __future__ import annotations

from functools import cache
from importlib.resources import files


@cache
def job_script() -> str:
    """The Jinja2 source of the default job script."""
    return files(__name__).joinpath("job.sh.j2").read_text(encoding="utf-8")
