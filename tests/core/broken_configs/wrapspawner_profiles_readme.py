# The shape of wrapspawner's ProfilesSpawner example: profiles as 4-tuples.
# check prints: [FAIL] c.JupyterHub.spawner_class: wrapspawner.ProfilesSpawner is a batchspawner/wrapspawner class
# check prints: [FAIL] c.ProfilesSpawner: jobspawner does not read this section (profiles)
# check prints:        fix: c.JobSpawner.profiles = from_profiles_spawner([...the same entries...]) (from jobspawner import from_profiles_spawner)
# exit: 1
c = get_config()  # noqa
c.JupyterHub.spawner_class = "wrapspawner.ProfilesSpawner"
c.JobSpawner.allow_root_jobs = True
c.ProfilesSpawner.profiles = [
    ("Local server", "local", "jupyterhub.spawner.LocalProcessSpawner", {"ip": "0.0.0.0"}),
    (
        "Two cores, 4 GB, 8 hours",
        "c2m4t8",
        "batchspawner.TorqueSpawner",
        dict(req_nprocs="2", req_queue="batch", req_runtime="8:00:00", req_memory="4gb"),
    ),
]
