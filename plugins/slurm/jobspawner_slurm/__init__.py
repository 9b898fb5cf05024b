"""jobspawner backend: slurm."""
