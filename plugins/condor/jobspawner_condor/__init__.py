"""jobspawner backend: condor."""
