# check prints: [FAIL] resources: Invalid resource request: req_memory: 'lots' is not a memory size (examples: 4G, 512M, 2048)
# exit: 1
c = get_config()  # noqa
c.JupyterHub.spawner_class = "jobspawner"
c.JobSpawner.allow_root_jobs = True
c.JobSpawner.req_memory = "lots"
