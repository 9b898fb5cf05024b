"""The form and the session view in the admin's and the user's words (issue #20, 11-14):
only starts that came up are "the same options as last time", refusals name the field's
label and the admin's bounds and messages, the refused field is marked, failures keep their
log lines, exit codes read as words."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from jobspawner.choices.options_form import options_form, options_from_form
from jobspawner.contract.status import JobState, JobStatus
from jobspawner.facade.end_words import end_words
from jobspawner.facade.hub_compat import SpawnException
from jobspawner.lifecycle.failed_start import record_failure
from jobspawner.web.session_view import describe

from forms.kit import SMALL, came_up, make_spawner

ENV = {
    "display_name": "Conda environment",
    "regex": "[A-Za-z0-9_-]{1,40}",
    "validation_message": "letters, digits, _ and - only (at most 40)",
}
LONG = {
    "display_name": "Long jobs",
    "slug": "long",
    "overrides": {"req_runtime": "1h"},
    "options": {
        "runtime": {"display_name": "Run time", "min": "15m", "max": "12h"},
        "memory": {"display_name": "Memory", "min": "1G", "max": "4G"},
        "env": ENV,
    },
}


def refused(spawner, options) -> SpawnException:
    with pytest.raises(SpawnException) as e:
        spawner.apply_user_options(spawner, options)
    return e.value


def relaunch_of(page: str) -> str:
    found = re.search(r'id="jobspawner-relaunch" href="([^"]+)"', page)
    return html.unescape(found.group(1)) if found else ""


async def test_a_refused_choice_is_never_the_same_options_as_last_time(tmp_path):
    spawner = make_spawner(tmp_path, profiles=[SMALL, LONG])
    came_up(spawner, {"profile": "long", "runtime": "2h", "memory": "2G"})
    # JupyterHub keeps what was asked last, refused or not: jobspawner does not use it
    spawner.user_options = {"profile": "long", "memory": "9G"}
    refused(spawner, spawner.user_options)
    page = await options_form(spawner)
    assert 'name="long--memory" type="text" value="2G"' in page and "9G" not in page
    assert relaunch_of(page) == "/hub/spawn/root?opt-profile=long&opt-runtime=2h&opt-memory=2G"
    card = await describe(spawner)
    assert card["relaunch"] == relaunch_of(page)
    # a start that failed after it was accepted is not remembered either
    spawner.apply_user_options(spawner, {"profile": "small"})
    record_failure(spawner.record, SpawnException("Job 7 ended early.", reason="job_ended"))
    assert relaunch_of(await options_form(spawner)) == card["relaunch"]
    # and the memory survives a hub restart (JupyterHub clears a stopped spawner's state)
    spawner.clear_state()
    restarted = make_spawner(tmp_path, profiles=[SMALL, LONG])
    restarted.load_state(spawner.get_state())
    assert relaunch_of(await options_form(restarted)) == card["relaunch"]
    # nothing ever came up: no preselection and no link, the default profile is checked
    fresh = make_spawner(tmp_path, profiles=[SMALL, LONG])
    fresh.user_options = {"profile": "long", "memory": "9G"}
    page = await options_form(fresh)
    assert relaunch_of(page) == "" and re.search(r'id="profile-small" value="small" checked', page)


async def test_a_stopped_servers_card_shows_the_job_that_ran(tmp_path):
    spawner = make_spawner(tmp_path, profiles=[SMALL, LONG], req_runtime="8h")
    spawner.orm_spawner = None
    came_up(spawner, {"profile": "long", "runtime": "1h", "memory": "2G"})
    refused(spawner, {"profile": "long", "memory": "9G"})  # the next try was refused
    card = await describe(spawner)
    assert card["state"] == "stopped" and card["profile"] == "long"
    assert card["resources"]["runtime"] == "01:00:00", card  # not the config's 08:00:00
    assert card["resources"]["memory"] == "2048 MiB"
    assert card["options"] == {"profile": "long", "runtime": "1h", "memory": "2G"}


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"runtime": "13h"}, "Run time: '13h' is more than the maximum, 12h"),
        ({"runtime": "5m"}, "Run time: '5m' is less than the minimum, 15m"),
        ({"memory": "9G"}, "Memory: '9G' is more than the maximum, 4G"),
        ({"env": "my env"}, "Conda environment: 'my env' is not allowed here (letters, digits, "
                            "_ and - only (at most 40))"),
    ],
)  # fmt: skip
def test_refusals_name_the_label_and_the_admins_bounds_and_words(tmp_path, options, expected):
    spawner = make_spawner(tmp_path, profiles=[LONG])
    e = refused(spawner, {"profile": "long", **options})
    assert e.log_message == expected
    assert e.jobspawner_field == next(iter(options))


def test_without_profiles_refusals_name_the_forms_label(tmp_path):
    spawner = make_spawner(tmp_path, user_options_allowed=["runtime", "gpu_type"])
    assert refused(spawner, {"runtime": "soon"}).log_message.startswith("Runtime: 'soon'")


async def test_the_form_speaks_the_admins_words(tmp_path):
    spawner = make_spawner(tmp_path, profiles=[LONG], req_runtime="8h")
    page = await options_form(spawner)
    assert "at least 15m, at most 12h" in page and "12:00:00" not in page
    assert "letters, digits, _ and - only (at most 40)" in page
    assert "[A-Za-z0-9_-]{1,40}" not in html.unescape(page)  # no raw regex for users
    assert r'pattern="[A-Za-z0-9_\-]{1,40}"' in page  # the browser can compile it (v flag)
    assert 'title="letters, digits, _ and - only (at most 40)"' in page
    # an empty field means the profile's value: that is the placeholder, not an example
    assert re.search(r'name="long--runtime"[^>]* placeholder="1h"', page)


async def test_the_demos_runtime_placeholder_is_its_default(tmp_path):
    from jobspawner import demo

    runtime = re.search(r'^c\.JobSpawner\.req_runtime = "(.+)"$', demo.CONFIG, re.M)
    assert runtime and 'user_options_allowed = ["runtime"]' in demo.CONFIG
    spawner = make_spawner(tmp_path, user_options_allowed=["runtime"], req_runtime=runtime[1])
    page = await options_form(spawner)
    assert re.search(rf'name="runtime"[^>]* placeholder="{runtime[1]}"', page), page


async def test_the_form_shown_again_after_a_refusal_marks_the_field_once(tmp_path):
    spawner = make_spawner(tmp_path, profiles=[SMALL, LONG])
    came_up(spawner, {"profile": "small"})
    submitted = options_from_form(
        {"profile": ["long"], "long--memory": ["9G"], "long--env": ["ok"]}, spawner=spawner
    )
    refused(spawner, submitted)
    page = await options_form(spawner)  # what JupyterHub shows with its error
    field = re.search(r'<input class="form-control is-invalid" id="long--memory"[^>]*>', page)
    assert field and 'aria-invalid="true"' in field.group(0) and 'value="9G"' in field.group(0)
    assert 'aria-describedby="long--memory-error long--memory-help"' in field.group(0)
    assert "Memory: &#39;9G&#39; is more than the maximum, 4G" in page
    assert page.count('aria-invalid="true"') == 1
    later = await options_form(spawner)  # the next visit: the last start that came up
    assert "aria-invalid" not in later and "9G" not in later
    assert re.search(r'id="profile-small" value="small" checked', later)
    # a refusal through the REST API or ?opt- marks nothing on a later form
    refused(spawner, {"profile": "long", "memory": "9G"})
    assert "aria-invalid" not in await options_form(spawner)


async def test_a_failures_log_lines_stay_lines_shown_once_and_escaped(tmp_path):
    from jobspawner.lifecycle.failed_start import failure_html

    spawner = make_spawner(tmp_path)
    spawner.orm_spawner = None
    tail = "Traceback:\n  <script>alert(1)</script>\nnumpy: version conflict"
    e = SpawnException(f"Job 12 ended before the notebook server started (failed).\n"
                       f"Last lines of /x.log:\n{tail}", reason="job_ended")  # fmt: skip
    record_failure(spawner.record, e)
    shown = e.jupyterhub_html_message
    assert "<script>" not in shown and "&lt;script&gt;alert(1)&lt;/script&gt;" in shown
    assert re.search(r"<pre class='jobspawner-failure-log[^>]*>Last lines of /x.log:\n", shown)
    assert shown.count("numpy: version conflict") == 1
    card = await describe(spawner)
    assert card["state_text"] == (
        "Your server could not start. Job 12 ended before the notebook server started (failed)."
    )
    assert card["failure_log"] == f"Last lines of /x.log:\n{tail}"
    one_line = SpawnException("Submitting the job failed: sbatch: error", reason="submit")
    record_failure(spawner.record, one_line)
    assert not hasattr(one_line, "jupyterhub_html_message")  # JupyterHub's text stays
    assert failure_html("a\nb <i>") == (
        "<p class='mb-1'>a</p><pre class='jobspawner-failure-log small bg-body-tertiary p-2 "
        "text-start' style='white-space: pre-wrap; max-height: 24em; overflow: auto'>b &lt;i&gt;"
        "</pre><style>#progress-log .jobspawner-failure-log { display: none; }</style>"
    )


def test_exit_codes_read_as_words_on_every_surface(tmp_path):
    from jobspawner.contract import exit_words

    killed = JobStatus(JobState.FAILED, exit_code=137)
    words = "exit code 137 (killed: signal 9, e.g. out of memory or at its time limit)"
    assert exit_words.exit_code_text(137) == words
    assert words in end_words("5", killed)  # why the last server stopped
    spawner = make_spawner(tmp_path)
    assert words in spawner.load().describe_status(killed)  # the progress page, the card
    assert exit_words.exit_code_text(3) == "exit code 3"  # the program's own: as it is
    assert exit_words.exit_code_text(138) == "exit code 138 (ended by signal 10)"
    assert exit_words.exit_code_text(200) == "exit code 200"
    for code, said in ((143, "terminated"), (124, "timed out"), (139, "segmentation fault")):
        assert said in exit_words.exit_code_text(code)


def test_the_sessions_link_comes_after_the_sites_templates_and_only_for_jobspawner(tmp_path):
    from types import SimpleNamespace

    from jobspawner.spawner import JobSpawner
    from jobspawner.web import nav_link

    default = str(tmp_path / "share" / "templates")
    app = SimpleNamespace(spawner_class=JobSpawner, data_files_path=str(tmp_path / "share"),
                          template_paths=["/etc/site-templates", default])  # fmt: skip
    nav_link.add_template_path(app)
    assert app.template_paths == ["/etc/site-templates", nav_link.TEMPLATES, default]
    nav_link.add_template_path(app)  # once
    assert app.template_paths.count(nav_link.TEMPLATES) == 1
    page = Path(nav_link.TEMPLATES, "page.html").read_text()
    assert '{% extends "templates/page.html" %}' in page and "nav_bar_left_items" in page
    other = SimpleNamespace(spawner_class=object, data_files_path="", template_paths=[default])
    nav_link.add_template_path(other)  # a hub whose spawner is another: left alone
    assert other.template_paths == [default]


async def test_the_form_preselects_the_options_of_a_job_kept_across_a_hub_restart(tmp_path):
    from jobspawner.lifecycle.job_record import QueuedStart

    spawner = make_spawner(tmp_path, profiles=[SMALL, LONG])
    came_up(spawner, {"profile": "small"})
    spawner.record.queued = QueuedStart(
        job_id="77",
        server_token="t",
        options={"profile": "long", "runtime": "2h", "memory": "3G"},
    )
    page = await options_form(spawner)  # launching these resumes job 77
    assert re.search(r'id="profile-long" value="long" checked', page), page
    assert 'name="long--memory" type="text" value="3G"' in page
    spawner.record.queued = None  # adopted or dropped: the last start that came up again
    page = await options_form(spawner)
    assert re.search(r'id="profile-small" value="small" checked', page)
