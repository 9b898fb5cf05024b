"""The Slurm backend's public module for backends built on its script (slurmrestd, FirecREST):
its names are pinned, and they are the very objects those backends use."""

from __future__ import annotations

import jobspawner_slurm.shared as shared
from jobspawner_slurm import options, parsers, reasons, templates

#: Changing this set changes what slurmrestd and FirecREST (and any outside backend built on
#: the Slurm script) may import: do it on purpose, with those backends.
PUBLIC = {
    "TEMPLATE_OPTIONS",
    "check_constraint",
    "describe_slurm_status",
    "job_script",
    "parse_duration",
    "resource_fields",
    "sacct_statuses",
    "squeue_statuses",
}


def test_the_shared_names_are_pinned():
    assert set(shared.__all__) == PUBLIC
    assert {n for n in vars(shared) if not n.startswith("_") and n != "annotations"} == PUBLIC


def test_the_shared_names_are_the_slurm_backends_own():
    assert shared.describe_slurm_status is reasons.describe
    assert shared.job_script is templates.job_script
    assert shared.check_constraint is templates.check_constraint
    assert shared.sacct_statuses is parsers.sacct_statuses
    assert shared.squeue_statuses is parsers.squeue_statuses
    assert shared.parse_duration is parsers.parse_duration
    assert shared.TEMPLATE_OPTIONS is options.TEMPLATE_OPTIONS
    assert shared.resource_fields is options.resource_fields
