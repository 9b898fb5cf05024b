"""jobspawner backend: torque."""
