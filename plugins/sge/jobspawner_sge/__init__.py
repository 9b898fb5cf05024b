"""jobspawner backend: sge."""
