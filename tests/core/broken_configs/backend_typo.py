# check prints: [FAIL] backend: No jobspawner backend named "slrum" is installed. Installed backends: condor, firecrest, local, lsf, moab, pbspro, sge, slurm, slurmrestd, torque. Did you mean "slurm" (installed)? Fix c.JobSpawner.backend.
# exit: 1
c = get_config()  # noqa
c.JupyterHub.spawner_class = "jobspawner"
c.JobSpawner.backend = "slrum"
