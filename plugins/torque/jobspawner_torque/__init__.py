"""jobspawner backends for the PBS family: ``torque``, ``pbspro`` and ``moab``."""
