"""jobspawner backend for Slurm: ``pip install jobspawner-slurm`` and
``c.JobSpawner.backend = "slurm"``. The hooks are in :mod:`jobspawner_slurm.hooks`."""

__version__ = "0.1.0"
