"""What the Slurm backend shares with backends that submit the same script another way.

``slurmrestd`` and ``firecrest`` submit the Slurm backend's own job script (its ``#SBATCH``
directives, its feature-constraint grammar) over a REST API and read squeue's fields from
JSON. They import these names from here and nothing else of :mod:`jobspawner_slurm`: the
other modules are this backend's internals and change without notice. The import contracts
in ``pyproject.toml`` (``./run lint``) refuse any other import, and
``tests/slurm/test_shared.py`` pins the names, so removing or renaming one is a deliberate
change of this module.
"""

from __future__ import annotations

from .options import TEMPLATE_OPTIONS, resource_fields
from .parsers import parse_duration, sacct_statuses, squeue_statuses
from .reasons import describe as describe_slurm_status
from .templates import check_constraint, job_script

__all__ = [
    "TEMPLATE_OPTIONS",
    "check_constraint",
    "describe_slurm_status",
    "job_script",
    "parse_duration",
    "resource_fields",
    "sacct_statuses",
    "squeue_statuses",
]
