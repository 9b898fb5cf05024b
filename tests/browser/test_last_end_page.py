"""In a real browser: the spawn page says why the last server stopped, and the job's log
shown there cannot run script (jobspawner.lifecycle.last_end).

With ``JOBSPAWNER_SCREENSHOTS=docs/screenshots`` the page is written to ``last-end.png``
(docs/profiles.md).
"""

from __future__ import annotations

import os
import signal

import pytest
from harness.hub import running_hub
from harness.waiting import wait_for

from browser.test_spawn_page import browser, shots, signed_in  # noqa: F401 - the fixture

pytestmark = pytest.mark.e2e

# what a hostile (or careless) job prints: it must show as text and never run
PAYLOAD = "<script>window.__pwned = 1</script><img src=x onerror='window.__pwned = 2'>"
CONFIG = f"""
c.JobSpawner.status_interval = 2
c.JobSpawner.prologue = "echo \\"{PAYLOAD}\\""
c.JobSpawner.profiles = [
    {{"display_name": "Small: 1 core, 1 GB", "slug": "small", "default": True,
     "overrides": {{"req_memory": "1G", "req_runtime": "1h"}}}},
    {{"display_name": "Bigger", "slug": "big", "overrides": {{"req_memory": "2G"}}}},
]
"""


def test_the_spawn_page_tells_why_and_the_log_stays_text(tmp_path, browser):  # noqa: F811
    with running_hub(tmp_path, config=CONFIG) as hub:
        hub.start_server("alice", options={"profile": "small"})
        job_id = hub.spawner_state("alice")["job_id"]
        os.killpg(int(job_id.split("-")[0]), signal.SIGKILL)
        assert wait_for(lambda: "last_end" in hub.spawner_state("alice"), timeout=60)
        page = signed_in(browser, hub, "alice")
        page.goto(f"{hub.url}/hub/spawn/alice")
        notice = page.locator("#jobspawner-last-end")
        assert notice.is_visible()
        text = notice.inner_text()
        assert text.startswith("Your last server stopped at ") and f"job {job_id} failed" in text
        page.get_by_text("Last lines of its log").click()
        assert PAYLOAD in page.locator(".jobspawner-last-end-log").inner_text()
        assert page.evaluate("window.__pwned") is None  # neither the script nor onerror ran
        # the notice sits above the form, whose profiles are still there
        assert page.get_by_label("Bigger").is_visible()
        page.screenshot(path=str(shots(tmp_path) / "last-end.png"), full_page=True)
