# A queue the scheduler does not have, and a run time above the default queue's limit.
# check prints: [FAIL] c.JobSpawner.req_queue: 'interactive' is not a queue of this cluster (short, long); every spawn is refused
# exit: 1
c = get_config()  # noqa
c.JupyterHub.spawner_class = "jobspawner"
c.JobSpawner.allow_root_jobs = True
c.JobSpawner.plugins = ["core.site_plugins.two_queues"]
c.JobSpawner.req_queue = "interactive"
