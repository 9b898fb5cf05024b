"""End to end (real hub, local backend): every way a site names the spawner in
``c.JupyterHub.spawner_class`` gets jobspawner's hub integration (jobspawner.web.hub_start):
the start-up checks ran, the server reports its port to jobspawner's handler, the session
page, its API and the *Sessions* link are there."""

from __future__ import annotations

import pytest
from forms.test_e2e_options import login, sessions
from harness.hub import running_hub

from .test_e2e_metrics import P, scrape

pytestmark = pytest.mark.e2e

SUBCLASS = """
from jobspawner import JobSpawner

class SiteSpawner(JobSpawner):
    '''A site's own spawner class, as a jupyterhub_config.py writes one.'''

c.JupyterHub.spawner_class = SiteSpawner
"""

NAMINGS = {
    "entry-point": 'c.JupyterHub.spawner_class = "jobspawner"\n',
    "package": 'c.JupyterHub.spawner_class = "jobspawner.JobSpawner"\n',
    "subclass": SUBCLASS,
    "module-path": 'c.JupyterHub.spawner_class = "jobspawner.spawner.JobSpawner"\n',
}


@pytest.mark.parametrize("naming", list(NAMINGS))
def test_each_naming_of_the_spawner_class_gets_the_hub_integration(tmp_path, naming):
    with running_hub(tmp_path, config=NAMINGS[naming]) as hub:
        # the start-up check ran: it declared the backend's series before any spawn
        assert (P + "lost_servers_total", frozenset({("backend", "local")})) in scrape(hub)
        events = hub.start_server("alice")  # the job's server reported its port
        assert any("listening on" in e["message"] for e in events), events
        job = hub.spawner_state("alice")["job_id"]
        assert [s["job_id"] for s in sessions(hub, "alice")] == [job]
        browser = login(hub, "alice")
        home = browser.get(f"{hub.url}/hub/home", timeout=60)
        assert home.status_code == 200 and 'id="jobspawner-nav-sessions"' in home.text
        page = browser.get(f"{hub.url}/hub/jobspawner/sessions", timeout=60)
        assert page.status_code == 200 and job in page.text, page.text[:1000]
        hub.stop_server("alice")
        log = hub.log_text()
        assert "hub integration is not installed" not in log
        (used,) = [line for line in log.splitlines() if "Using Spawner:" in line]
        assert ("SiteSpawner" if naming == "subclass" else "jobspawner.spawner.JobSpawner") in used
