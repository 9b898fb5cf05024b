# check prints: [FAIL] c.JobSpawner.req_runtime: 08:00:00 is more than the limit of queue 'short' (01:00:00); the scheduler refuses or never starts such jobs
# exit: 1
c = get_config()  # noqa
c.JupyterHub.spawner_class = "jobspawner"
c.JobSpawner.allow_root_jobs = True
c.JobSpawner.plugins = ["core.site_plugins.two_queues"]
c.JobSpawner.req_runtime = "8h"
