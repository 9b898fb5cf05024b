"""In Chromium: the form and the session view in the admin's and the user's words (issue
#20, 11-14). A refused choice is never "the same options as last time", the browser really
applies the options' patterns, a refused field is marked, a failure keeps its log lines
once, a stopped server's card shows the job that ran, and every hub page links the session
view."""

from __future__ import annotations

import os
import re
import shutil
import tempfile

import pytest
from forms.test_html_pattern import TRANSLATIONS
from harness.hub import running_hub
from harness.waiting import wait_for

from browser.test_spawn_page import browser, signed_in  # noqa: F401 - the fixture

pytestmark = pytest.mark.e2e

SAMPLES = ["", "a", "abc", "A", "my-env_1", "my env", "x.y", "+12", "é", "٣", "proj-123",
           "proj-12", "a-b", "a{b", "]a", "-", "gpus", "cpu", "&&", "xxx", "xxxx", "n",
           "a" * 41]  # fmt: skip


def config(gate: str) -> str:
    """Profiles for the flow; the broken one fails (exit 137, two log lines) once ``gate``
    exists, so the browser watches it fail on the progress page."""
    broken = (
        f"while [ ! -e {gate} ]; do sleep 0.1; done; "
        "printf 'first line\\n<i>second line</i>\\n' >&2; exit 137"
    )
    return f"""
c.JupyterHub.tornado_settings = {{"slow_spawn_timeout": 2}}
c.JobSpawner.req_runtime = "8h"
c.JobSpawner.profiles = [
    {{"display_name": "Small", "slug": "small", "default": True,
      "overrides": {{"req_runtime": "1h"}}}},
    {{"display_name": "Tuned", "slug": "tuned", "overrides": {{"req_runtime": "2h"}},
      "options": {{
        "memory": {{"display_name": "Memory", "min": "512M", "max": "4G", "default": "1G"}},
        "runtime": {{"display_name": "Run time", "min": "15m", "max": "12h"}},
        "env": {{"display_name": "Conda environment", "regex": "[A-Za-z0-9_-]{{1,40}}",
                 "validation_message": "letters, digits, _ and - only", "default": "base"}},
      }}}},
    {{"display_name": "Broken", "slug": "broken",
      "overrides": {{"cmd": ["/bin/sh", "-c", {broken!r}]}}}},
]
"""


def test_chromium_applies_the_patterns_as_python_matches(browser):  # noqa: F811
    page = browser.new_page()
    compiles = "p => { try { new RegExp(p, 'v'); return true; } catch (e) { return false; } }"
    # the regex as admins write it is no pattern for the browser: it ignores it, silently
    assert not page.evaluate(compiles, "[A-Za-z0-9_-]{1,40}")
    cases = [(r, p, s) for r, p in TRANSLATIONS if p is not None for s in SAMPLES]
    assert all(page.evaluate(f"ps => ps.map({compiles})", [p for _, p, _ in cases]))
    test = "cs => cs.map(([p, s]) => new RegExp('^(?:' + p + ')$', 'v').test(s))"
    matched = page.evaluate(test, [[p, s] for _, p, s in cases])
    for (regex, pattern, sample), js in zip(cases, matched, strict=True):
        assert js == (re.fullmatch(regex, sample) is not None), (regex, pattern, sample)


def border(locator) -> str:
    return str(locator.evaluate("e => getComputedStyle(e).borderTopColor"))


def relaunch(page) -> str:
    link = page.locator(".jobspawner-relaunch")
    return str(link.get_attribute("href")) if link.count() else ""


def test_refusals_failures_and_the_session_view_in_plain_words(tmp_path, browser):  # noqa: F811
    gates = tempfile.mkdtemp(prefix="jobspawner-gate-")  # where the job (alice) can look
    os.chmod(gates, 0o755)
    gate = os.path.join(gates, "go")
    try:
        with running_hub(tmp_path, config=config(gate)) as hub:
            hub.create_user("alice")
            page = signed_in(browser, hub, "alice")
            spawn = f"{hub.url}/hub/spawn/alice"
            # every hub page links the session view
            for where in ("home", "token"):
                page.goto(f"{hub.url}/hub/{where}")
                page.get_by_role("link", name="Sessions").click()
                page.wait_for_url(re.compile(r".*/hub/jobspawner/sessions$"))

            page.goto(spawn)
            page.get_by_label("Tuned").check()
            assert page.get_by_label("Run time").get_attribute("placeholder") == "2h"
            env = page.get_by_label("Conda environment")
            assert "letters, digits, _ and - only" in page.locator("#tuned--env-help").inner_text()
            # the browser itself blocks a value the pattern refuses
            env.fill("my env")
            page.get_by_role("button", name="Start").click()
            assert env.evaluate("e => e.validity.patternMismatch")
            assert page.locator(".spawn-error-msg").count() == 0
            assert "refused a user option" not in hub.log_text()

            # the hub refuses: the label, the admin's bound, the field marked
            env.fill("my-env")
            memory = page.get_by_label("Memory")
            memory.fill("9G")
            page.get_by_role("button", name="Start").click()
            page.wait_for_load_state()
            error = page.locator(".spawn-error-msg").inner_text()
            assert "Memory: '9G' is more than the maximum, 4G" in error, error
            memory = page.get_by_label("Memory")
            assert memory.get_attribute("aria-invalid") == "true"
            assert memory.input_value() == "9G"
            assert border(memory) != border(page.get_by_label("Conda environment"))
            assert page.locator("#tuned--memory-error").is_visible()
            # the next visit: nothing started yet, so nothing refused is preselected
            page.goto(spawn)
            assert page.get_by_label("Small").is_checked() and relaunch(page) == ""
            assert page.locator("[aria-invalid]").count() == 0

            # a start that comes up is "the same options as last time"
            page.get_by_label("Tuned").check()
            page.get_by_label("Run time").fill("1h")
            page.get_by_label("Conda environment").fill("my-env")
            page.get_by_role("button", name="Start").click()
            page.wait_for_url(re.compile(r".*/spawn-pending/alice.*|.*/user/alice/.*"))
            page.goto("about:blank")  # the server is what counts here, not JupyterLab's page
            hub.wait_ready("alice")
            hub.stop_server("alice")
            page.goto(f"{hub.url}/hub/jobspawner/sessions")
            card = page.locator(".jobspawner-session").first
            text = card.inner_text()
            assert "runtime 01:00:00" in text and "08:00:00" not in text, text
            assert "Last run with" in text and "runtime 1h" in text, text
            started = relaunch(page)
            for part in ("opt-profile=tuned", "opt-memory=1G", "opt-runtime=1h", "opt-env=my-env"):
                assert part in started, started
            # a refusal after it changes neither the form's choice nor "Launch again"
            page.goto(spawn)
            page.get_by_label("Memory").fill("9G")
            page.get_by_role("button", name="Start").click()
            page.wait_for_load_state()
            assert "more than the maximum" in page.locator(".spawn-error-msg").inner_text()
            page.goto(spawn)
            assert page.get_by_label("Tuned").is_checked()
            assert page.get_by_label("Memory").input_value() == "1G"
            assert page.get_by_label("Run time").input_value() == "1h"

            # a failure: its log's lines once, preformatted, and the exit code in words
            page.get_by_label("Broken").check()
            page.get_by_role("button", name="Start").click()
            page.wait_for_url(re.compile(r".*/spawn-pending/alice.*"), timeout=30_000)
            page.get_by_text("Submitted as local job").first.wait_for(
                state="attached", timeout=30_000
            )
            open(gate, "w").close()
            message = page.locator("#progress-message")
            message.get_by_text("Your server could not start").wait_for(timeout=60_000)
            assert "exit code 137 (killed: signal 9" in message.inner_text()
            lines = page.locator("pre.jobspawner-failure-log:visible")
            assert lines.count() == 1
            assert "first line\n<i>second line</i>" in lines.inner_text()  # text, not HTML
            assert page.locator("#progress-message i").count() == 0
            assert page.locator("body").inner_text().count("second line") == 1
            assert wait_for(lambda: "last_failure" in hub.spawner_state("alice"), timeout=30)
            page.goto(f"{hub.url}/hub/jobspawner/sessions")
            card = page.locator(".jobspawner-session").first
            first = card.locator(".jobspawner-state-text").inner_text()
            assert first.startswith("Your server could not start. Job ") and "second" not in first
            log = card.locator("pre.jobspawner-failure-log").inner_text()
            assert "first line\n<i>second line</i>" in log
            assert relaunch(page) == started  # the last start that came up, still
    finally:
        shutil.rmtree(gates, ignore_errors=True)
