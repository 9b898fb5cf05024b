"""A restarted hub follows a job with the settings of the profile it was started with."""

from __future__ import annotations

import os
import tempfile

import pytest
from core.test_e2e_local import _group_alive
from harness.hub import running_hub
from harness.jobenv import ensure_jobenv
from harness.waiting import wait_for

pytestmark = pytest.mark.e2e


def test_a_restarted_hub_uses_the_jobs_profile_settings_even_after_the_profile_is_gone(
    tmp_path,
):
    spool = tempfile.mkdtemp(prefix="jobspawner-forms-spool-", dir="/tmp")
    os.chmod(spool, 0o1777)
    python = str(ensure_jobenv() / "bin" / "python")
    small = '{"slug": "small", "display_name": "Small", "default": True}'
    big = ('{"slug": "big", "display_name": "Big", "overrides": {"backend_options": '
           f'{{"python": {python!r}, "spool": {spool!r}}}}}}}')  # fmt: skip
    with running_hub(tmp_path, config=f"c.JobSpawner.profiles = [{small}, {big}]\n") as hub:
        hub.start_server("alice", options={"profile": "big"})
        state = hub.spawner_state("alice")
        job_id = state["job_id"]
        assert state["profile"] == "big"
        assert state["job_settings"]["backend_options"]["spool"] == spool
        assert os.listdir(spool), "the job's record is in the profile's spool"
        hub.crash()
    assert _group_alive(job_id)
    # the admin removed the profile meanwhile: the job is still followed where it lives
    with running_hub(tmp_path, config=f"c.JobSpawner.profiles = [{small}]\n") as hub:
        hub.wait_ready("alice", timeout=60)
        assert hub.spawner_state("alice")["job_id"] == job_id
        assert hub.get_via_proxy("alice", "api/status").status_code == 200
        hub.stop_server("alice")
        assert wait_for(lambda: not _group_alive(job_id), timeout=30)
