# check prints:        fix: correct the file at the place named; it is loaded as JupyterHub loads it
# exit: 1
c = get_config()  # noqa
c.JupyterHub.spawner_class = "jobspawner"
c.JobSpawner.req_runtime = undefined_name  # noqa: F821
