"""jobspawner backend for Slurm's REST API (slurmrestd): ``pip install jobspawner-slurmrestd``
and ``c.JobSpawner.backend = "slurmrestd"``. The hooks are in :mod:`jobspawner_slurmrestd.hooks`.
"""

__version__ = "0.1.0"
