"""The real jupyterhub-idle-culler, as a hub-managed service, against jobspawner servers."""

from __future__ import annotations

import sys
import time

import pytest
from harness.hub import running_hub
from harness.strict import need

from .test_e2e_local import _group_alive

pytestmark = pytest.mark.e2e

TIMEOUT = 10  # seconds of inactivity before the culler stops a server


def _culler_config() -> str:
    command = [
        sys.executable,
        "-m",
        "jupyterhub_idle_culler",
        f"--timeout={TIMEOUT}",
        "--cull-every=2",
    ]
    return f"""
c.JupyterHub.services.append({{"name": "idle-culler", "command": {command!r}}})
c.JupyterHub.load_roles.append({{
    "name": "idle-culler",
    "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"],
    "services": ["idle-culler"],
}})
# activity reaches the hub within seconds (defaults: 5 minutes)
c.JupyterHub.last_activity_interval = 2
c.Spawner.environment = {{"JUPYTERHUB_ACTIVITY_INTERVAL": "2"}}
"""


def test_the_idle_culler_stops_an_idle_server_and_its_job_and_keeps_an_active_one(tmp_path):
    try:
        import jupyterhub_idle_culler  # noqa: F401
    except ImportError:
        need(False, "jupyterhub-idle-culler is not installed in the test environment")
    with running_hub(tmp_path, config=_culler_config()) as hub:
        hub.start_server("alice")
        hub.start_server("bob")
        idle = hub.spawner_state("alice")["job_id"]
        active = hub.spawner_state("bob")["job_id"]
        # bob works all along (an API request through the proxy, as his browser sends), for
        # three culler timeouts after his server started: idle, it would be culled twice over
        began = time.monotonic()
        culled_after = None
        while time.monotonic() < began + 3 * TIMEOUT:
            assert hub.get_via_proxy("bob", "api/contents").status_code == 200
            alice_gone = not (hub.server_model("alice") or {}).get("ready")
            if culled_after is None and alice_gone and not _group_alive(idle):
                culled_after = time.monotonic() - began
            time.sleep(1)
        assert culled_after is not None, f"alice's idle server was not culled:\n{hub.log_text()}"
        assert "job_id" not in hub.spawner_state("alice")
        assert "Culling server alice" in hub.log_text()
        assert "Culling server bob" not in hub.log_text()
        # bob's server, used all along, is kept, with the same job
        bob = hub.server_model("bob") or {}
        assert bob.get("ready"), bob
        assert hub.spawner_state("bob")["job_id"] == active and _group_alive(active)
        hub.stop_server("bob")
