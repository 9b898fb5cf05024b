"""jobspawner backend: lsf."""
