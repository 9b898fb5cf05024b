# The jobs run on compute nodes but are given the hub's loopback address.
# check prints: [FAIL] c.JupyterHub.hub_connect_ip: jobs get JUPYTERHUB_API_URL=http://127.0.0.1:8081/hub/api: on a compute node that address is the node itself, so no server can report to the hub
# exit: 1
c = get_config()  # noqa
c.JupyterHub.spawner_class = "jobspawner"
c.JobSpawner.allow_root_jobs = True
c.JobSpawner.backend = "lsf"
