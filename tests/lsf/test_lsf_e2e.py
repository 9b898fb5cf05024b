"""End to end: a real JupyterHub (as root) spawning notebook servers as LSF jobs on the
emulator, jobs running as alice through runuser."""

from __future__ import annotations

import re

import pytest
from harness.hub import running_hub
from harness.scenarios import expect_fast_failure, failing_prologue
from lsf.lsfkit import Emulator

pytestmark = [pytest.mark.e2e, pytest.mark.scheduler("lsf"), pytest.mark.root]


def _field(emulator: Emulator, job_id: str, field: str) -> str:
    out = emulator.run(None, "bjobs", "-noheader", "-o", field, job_id).stdout.split()
    return out[-1] if out else ""


def test_spawn_reach_stop(tmp_path, emulator: Emulator) -> None:
    with running_hub(tmp_path, backend="lsf", env=emulator.env) as hub:
        events = hub.start_server("alice")
        messages = [e["message"] for e in events]
        assert any(re.match(r"Submitted as lsf job \d+\.", m) for m in messages), messages
        job_id = hub.spawner_state("alice")["job_id"]
        assert _field(emulator, job_id, "stat") == "RUN"
        assert _field(emulator, job_id, "user") == "alice"
        assert _field(emulator, job_id, "job_name") == "jupyter-alice"
        response = hub.get_via_proxy("alice", "api/status")
        assert response.status_code == 200, response.text
        hub.stop_server("alice")
        assert emulator.wait_for(job_id, ("EXIT", "DONE")) in ("EXIT", "DONE")
        assert not hub.spawner_state("alice").get("job_id")


def test_failing_job_fails_fast_with_its_log_tail(tmp_path, emulator: Emulator) -> None:
    marker = "lsf-e2e: No module named jupyterhub"
    config = failing_prologue(marker)
    with running_hub(tmp_path, backend="lsf", env=emulator.env, config=config) as hub:
        expect_fast_failure(hub, "alice", marker, within=20)


def test_pending_job_shows_its_reason_and_is_removed_on_stop(tmp_path, emulator: Emulator) -> None:
    emulator.configure(slots=1)
    blocker = emulator.run("bob", "bsub", "-J", "blocker", "sleep", "300")
    blocker_id = re.search(r"<(\d+)>", blocker.stdout).group(1)
    emulator.wait_for(blocker_id, ("RUN",))
    with running_hub(tmp_path, backend="lsf", env=emulator.env) as hub:
        hub.begin_start("alice")
        events = hub.progress(
            "alice", until=lambda e: "job slots are busy" in e["message"], timeout=60
        )
        assert "job slots are busy" in events[-1]["message"], events
        assert "Not enough job slot(s)" in events[-1]["message"]
        job_id = hub.spawner_state("alice")["job_id"]
        assert _field(emulator, job_id, "stat") == "PEND"
        hub.stop_server("alice")
        assert emulator.wait_for(job_id, ("EXIT",)) == "EXIT"
        assert _field(emulator, blocker_id, "stat") == "RUN"  # bob's job is untouched
