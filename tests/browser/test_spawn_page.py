"""The spawn page, the progress page and the session view in a real browser.

Debian's chromium (``.ci/install-forms.sh``) driven by Playwright for Python; no browser is
downloaded. With ``JOBSPAWNER_SCREENSHOTS=docs/screenshots`` the screenshots of the form,
a refusal, the progress page and the session view are written there (docs/profiles.md).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from harness.hub import running_hub
from harness.strict import need

pytestmark = pytest.mark.e2e

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip

CONFIG = """
c.JupyterHub.tornado_settings = {"slow_spawn_timeout": 5}
c.JobSpawner.default_url = "/lab"
c.JobSpawner.profiles = [
    {"display_name": "Small: 1 core, 1 GB", "slug": "small", "default": True,
     "description": "For notebooks and light work. Starts at once.",
     "overrides": {"req_memory": "1G", "req_runtime": "1h"}},
    {"display_name": "Bigger", "slug": "big",
     "description": "Up to <b>4 GB</b> and 8 hours; pick a flavour.",
     "overrides": {"req_memory": "2G", "req_runtime": "2h"},
     "options": {
        "memory": {"display_name": "Memory", "min": "512M", "max": "4G", "default": "2G",
                   "help": "e.g. 2G"},
        "flavour": {"display_name": "Flavour",
                    "choices": {"plain": "Plain", "fancy": "Fancy"}},
     }},
    {"display_name": "Broken (for the failure view)", "slug": "broken",
     "overrides": {"cmd": ["/bin/sh", "-c", "echo 'numpy: version conflict' >&2; exit 3"]}},
]
"""


@pytest.fixture
def browser():
    need(os.path.exists(CHROMIUM), f"{CHROMIUM} is missing: run .ci/install-forms.sh as root")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        need(False, "Playwright for Python is missing from the test environment")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


def shots(tmp_path: Path) -> Path:
    out = Path(os.environ.get("JOBSPAWNER_SCREENSHOTS") or tmp_path / "screenshots")
    out.mkdir(parents=True, exist_ok=True)
    return out


def signed_in(browser, hub, user: str):
    """A new page of ``browser`` where ``user`` signed in through the hub's login form."""
    page = browser.new_page(viewport={"width": 1000, "height": 900})
    page.goto(f"{hub.url}/hub/login")
    page.get_by_label("Username").fill(user)
    page.get_by_label("Password").fill("x")
    page.get_by_role("button", name="Sign in").click()
    return page


def open_progress_details(page) -> bool:
    """Open the progress page's details, if the page still shows them.

    The server may come up, and the page move on to it, at any moment: a locator would then
    wait on the next page for an element it never gets (a CI run timed out so). One
    evaluation in the current document either opens the details or finds none, and a
    navigation during it counts as "moved on".
    """
    from playwright.sync_api import Error

    try:
        return bool(
            page.evaluate(
                """() => { const e = document.querySelector('#progress-details');
                           if (e) { e.open = true; } return !!e; }"""
            )
        )
    except Error as e:  # the document went away under the evaluation
        if "context was destroyed" not in str(e) and "navigat" not in str(e):
            raise
        return False


def test_pick_refuse_launch_watch_and_stop(tmp_path, browser):
    out = shots(tmp_path)
    with running_hub(tmp_path, config=CONFIG) as hub:
        hub.create_user("alice")
        page = signed_in(browser, hub, "alice")
        page.goto(f"{hub.url}/hub/spawn/alice")
        # keyboard and labels: the profile radios are reachable by their names
        page.get_by_label("Bigger").check()
        memory = page.get_by_label("Memory")
        assert memory.is_enabled() and memory.input_value() == "2G"
        assert page.locator("fieldset.jobspawner-options[data-profile=small]").evaluate(
            "e => e.disabled"
        )
        page.get_by_label("Flavour").select_option("fancy")
        memory.fill("9G")
        page.screenshot(path=str(out / "form.png"), full_page=True)
        page.get_by_role("button", name="Start").click()
        page.wait_for_load_state()
        body = page.locator("body").inner_text()
        assert "Memory: '9G' is more than the maximum, 4G" in body, body[:2000]
        assert "SpawnException" not in body
        assert page.get_by_label("Memory").get_attribute("aria-invalid") == "true"
        page.screenshot(path=str(out / "error.png"), full_page=True)
        assert "job_id" not in hub.spawner_state("alice")

        # a refused choice is not "the last choice": the next visit offers the default
        page.goto(f"{hub.url}/hub/spawn/alice")
        assert page.get_by_label("Small: 1 core, 1 GB").is_checked()
        page.get_by_label("Bigger").check()
        page.get_by_label("Flavour").select_option("fancy")
        page.get_by_label("Memory").fill("1G")
        page.get_by_role("button", name="Start").click()
        page.wait_for_url(re.compile(r".*/spawn-pending/alice.*|.*/user/alice/.*"))
        if "spawn-pending" in page.url:
            # the progress names the log file, unless the server came up (and the page
            # moved on to it) first: whichever happens, within 30 s
            page.wait_for_function(
                """() => !location.pathname.includes('/spawn-pending/')
                   || document.body.textContent.includes("The job's log file is")""",
                timeout=30_000,
            )
            if open_progress_details(page):
                page.screenshot(path=str(out / "progress.png"), full_page=True)
        page.wait_for_url(re.compile(r".*/user/alice/.*"), timeout=120_000)
        hub.wait_ready("alice")
        state = hub.spawner_state("alice")
        assert state["options"] == {"profile": "big", "memory": "1G", "flavour": "fancy"}
        # the browser landed on the user's server (OAuth done) and JupyterLab runs there
        assert page.url.startswith(f"{hub.url}/user/alice/"), page.url
        assert hub.get_via_proxy("alice", "api/status").status_code == 200
        page.locator("#jp-main-dock-panel").wait_for(timeout=120_000)
        assert "/user/alice/lab" in page.url, page.url
        page.screenshot(path=str(out / "jupyterlab.png"))

        page.goto(f"{hub.url}/hub/home")  # every hub page links the session view
        page.get_by_role("link", name="Sessions").click()
        page.wait_for_url(re.compile(r".*/hub/jobspawner/sessions$"))
        card = page.locator(".jobspawner-session").first
        assert state["job_id"] in card.inner_text()
        text = card.inner_text()
        assert (
            "running" in text and "memory 1024 MiB" in text and "left before the walltime" in text
        )
        assert "Log file" in text and "Your server is running on " in text
        page.screenshot(path=str(out / "sessions.png"), full_page=True)
        card.get_by_role("button", name="Stop").click()
        page.locator(".jobspawner-state", has_text="stopped").wait_for(timeout=60_000)
        relaunch = page.get_by_role("link", name="Launch again with the same options")
        assert "opt-memory=1G" in (relaunch.get_attribute("href") or "")

        # a start that fails keeps its reason, in plain words, across a reload
        page.goto(f"{hub.url}/hub/spawn/alice")
        page.get_by_label("Broken (for the failure view)").check()
        page.get_by_role("button", name="Start").click()
        page.wait_for_load_state()
        # a failure within the hub's slow_spawn_timeout comes back on the form, later ones
        # on the progress page: both in plain words
        open_progress_details(page)
        page.get_by_text("Your server could not start").first.wait_for(timeout=60_000)
        progress_text = page.locator("body").inner_text()
        assert "SpawnException" not in progress_text
        page.goto(f"{hub.url}/hub/jobspawner/sessions")
        page.reload()
        text = page.locator(".jobspawner-session").first.inner_text()
        assert "Your server could not start. Job " in text and "exit code 3" in text
        assert "numpy: version conflict" in text and "SpawnException" not in text
        page.screenshot(path=str(out / "failed.png"), full_page=True)

        # usable on a phone: the form fits a narrow screen without sideways scrolling
        phone = browser.new_page(viewport={"width": 390, "height": 844})
        phone.context.add_cookies(page.context.cookies())
        phone.goto(f"{hub.url}/hub/spawn/alice")
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, width
        phone.screenshot(path=str(out / "form-phone.png"), full_page=True)
