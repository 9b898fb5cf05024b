# A profile override that is not a setting: every spawn page would answer 500.
# check prints: [FAIL] c.JobSpawner.profiles: c.JobSpawner.profiles[small]: 'req_memroy' is not a JobSpawner setting a profile can override
# exit: 1
c = get_config()  # noqa
c.JupyterHub.spawner_class = "jobspawner"
c.JobSpawner.allow_root_jobs = True
c.JobSpawner.profiles = [
    {"slug": "small", "display_name": "Small", "overrides": {"req_memroy": "4G"}},
]
