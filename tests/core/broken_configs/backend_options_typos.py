# Four typos in backend_options: all four in one run, each once, each with a fix.
# check prints: [FAIL] c.JobSpawner.backend_options: c.JobSpawner.backend_options has the key "sbacth", which the "slurm" backend does not know. Did you mean "sbatch"?
# check prints: [FAIL] c.JobSpawner.backend_options: c.JobSpawner.backend_options has the key "squeu", which the "slurm" backend does not know. Did you mean "squeue"?
# check prints: [FAIL] c.JobSpawner.backend_options: c.JobSpawner.backend_options has the key "use_sruns", which the "slurm" backend does not know. Did you mean "use_srun"?
# check prints: [FAIL] c.JobSpawner.backend_options: c.JobSpawner.backend_options has the key "scancle", which the "slurm" backend does not know. Did you mean "scancel"?
# exit: 1
c = get_config()  # noqa
c.JupyterHub.spawner_class = "jobspawner"
c.JobSpawner.allow_root_jobs = True
c.JobSpawner.backend = "slurm"
c.JupyterHub.hub_connect_ip = "10.0.0.5"
c.JobSpawner.backend_options = {
    "sbacth": "/usr/bin/sbatch",
    "squeu": "/usr/bin/squeue",
    "use_sruns": True,
    "scancle": "/usr/bin/scancel",
}
