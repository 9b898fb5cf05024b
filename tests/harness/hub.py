"""A real JupyterHub 6 + configurable-http-proxy for end-to-end tests (API contract).

Usage (synchronous, from a normal test function)::

    from harness.hub import running_hub

    def test_spawn(tmp_path):
        with running_hub(tmp_path, backend="slurm", config='c.JobSpawner.req_queue = "debug"',
                         env={"PATH": emulator_bin + ":" + os.environ["PATH"]}) as hub:
            hub.create_user("alice")
            events = hub.start_server("alice")          # follows the progress stream
            assert hub.get_via_proxy("alice", "api/status").status_code == 200
            job_id = hub.spawner_state("alice")["job_id"]
            hub.stop_server("alice")

Jobs run as the test users (``alice``, ``bob``; see harness.users) through
``exec_prefix = runuser -u {username} --`` and execute ``jobspawner-singleuser`` from the job
environment (harness.jobenv), which is built from Debian's /usr/bin/python3.
"""
