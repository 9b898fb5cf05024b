"""End to end through a real JupyterHub 6 and configurable-http-proxy on the local backend."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from harness.hub import running_hub
from jobspawner.lifecycle.job_record import STATE_VERSION

pytestmark = pytest.mark.e2e


def _group_alive(job_id: str) -> bool:
    """True while any process of the job's group lives (zombies awaiting reaping don't)."""
    pgid = int(job_id.split("-")[0])
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


def test_spawn_reach_and_stop(tmp_path):
    with running_hub(tmp_path) as hub:
        events = hub.start_server("alice")
        messages = [e["message"] for e in events]
        assert any(m.startswith("Submitted as local job") for m in messages), messages
        assert any("listening on" in m for m in messages), messages
        state = hub.spawner_state("alice")
        assert state["version"] == STATE_VERSION and state["backend"] == "local"
        job_id = state["job_id"]
        r = hub.get_via_proxy("alice", "api/status")
        assert r.status_code == 200, r.text
        assert "started" in r.json()
        # the server runs as alice, not root
        uid = os.stat(f"/proc/{job_id.split('-')[0]}").st_uid
        assert uid == __import__("pwd").getpwnam("alice").pw_uid
        hub.stop_server("alice")
        assert not _group_alive(job_id)
        assert hub.spawner_state("alice").get("job_id") is None
