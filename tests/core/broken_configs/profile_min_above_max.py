# A bounded option no value can satisfy.
# check prints: [FAIL] c.JobSpawner.profiles: c.JobSpawner.profiles[p].options[runtime]: min '2h' is above max '1h', so no value is allowed; swap them
# exit: 1
c = get_config()  # noqa
c.JupyterHub.spawner_class = "jobspawner"
c.JobSpawner.allow_root_jobs = True
c.JobSpawner.profiles = [{"slug": "p", "options": {"runtime": {"min": "2h", "max": "1h"}}}]
