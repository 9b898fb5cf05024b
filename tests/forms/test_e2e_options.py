"""Every path user options take, through a real JupyterHub on the local backend.

REST ``user_options``, ``GET /hub/spawn?opt-...`` and options stored with ``PATCH`` (JupyterHub
6) reach
the same validator: a refusal is a 400 naming the field and the limit and submits nothing;
an accepted choice runs with the profile's settings, kept in the state.
"""

from __future__ import annotations

import json
import time

import pytest
import requests
from harness.hub import running_hub
from jobspawner.facade import hub_compat
from jobspawner.facade.hub_compat import start_request_body

pytestmark = pytest.mark.e2e

PROFILES = """
# as at a site: a refusal (which comes at once) is the answer to the request itself
c.JupyterHub.tornado_settings = {"slow_spawn_timeout": 5}
c.JobSpawner.profiles = [
    {"display_name": "Small", "slug": "small", "default": True,
     "overrides": {"req_memory": "1G"}},
    {"display_name": "Bigger", "slug": "big",
     "overrides": {"req_memory": "2G", "template_vars": {"site": "e2e"}},
     "options": {
        "memory": {"display_name": "Memory", "min": "512M", "max": "4G"},
        "env": {"display_name": "Environment", "regex": "[a-z]{1,16}"},
        "flavour": {"display_name": "Flavour",
                    "choices": {"plain": "Plain", "fancy": {"display_name": "Fancy",
                                "overrides": {"req_cpus": 2}}}},
     }},
]
"""


def login(hub, name: str) -> requests.Session:
    """A browser-like session: the hub's pages take the login cookie, not API tokens."""
    s = requests.Session()
    s.get(f"{hub.url}/hub/login", timeout=60)
    form = {"username": name, "password": "x", "_xsrf": s.cookies.get("_xsrf", "")}
    r = s.post(f"{hub.url}/hub/login", data=form, allow_redirects=False, timeout=60)
    assert r.status_code == 302, r.text[:1000]
    return s


def spawn_page(hub, name: str, query: str) -> requests.Response:
    return login(hub, name).get(
        f"{hub.url}/hub/spawn/{name}?{query}", allow_redirects=False, timeout=60
    )


def sessions(hub, name: str) -> list[dict]:
    headers = {"Authorization": f"token {hub.user_token(name)}"}
    r = requests.get(f"{hub.url}/hub/api/jobspawner/sessions", headers=headers, timeout=60)
    assert r.status_code == 200, r.text
    return list(r.json()["sessions"])


def no_job_submitted(hub, name: str) -> bool:
    return "job_id" not in hub.spawner_state(name) and f"{name}: Submitted" not in hub.log_text()


def test_every_path_validates_the_same_way(tmp_path):
    with running_hub(tmp_path, config=PROFILES) as hub:
        hub.create_user("alice")
        # REST: refused with the field and the limit, nothing submitted
        r = hub.api("POST", "/users/alice/server",
                    json=start_request_body({"profile": "big", "memory": "8G"}))  # fmt: skip
        assert r.status_code == 400, r.text
        assert "Memory: '8G' is more than the maximum, 4G" in r.json()["message"]
        r = hub.api("POST", "/users/alice/server", json=start_request_body({"profile": "root"}))
        assert r.status_code == 400 and "Profile: 'root' is not a profile" in r.json()["message"]
        assert no_job_submitted(hub, "alice")
        # GET ?opt-: the same refusal, on the page
        r = spawn_page(hub, "alice", "opt-profile=big&opt-env=Bad%0Aline")
        assert r.status_code == hub_compat.FORM_REFUSAL_STATUS and "Environment: " in r.text, (
            r.text[:2000]
        )
        assert no_job_submitted(hub, "alice")
        # PATCH stores options (JupyterHub 6); the next start validates them
        if hub_compat.HAS_SERVER_PATCH:
            r = hub.api("PATCH", "/users/alice/servers/",
                        json={"user_options": {"profile": "big", "flavour": "huge"}})  # fmt: skip
            assert r.status_code == 200, r.text
            r = hub.api("POST", "/users/alice/server", json={})
            assert r.status_code == 400, r.text
            assert "Flavour: 'huge' is not one of the choices: plain (Plain), fancy" in r.text
            assert no_job_submitted(hub, "alice")
        # GET ?opt- accepted: the profile's settings and the choice are used
        r = spawn_page(hub, "alice", "opt-profile=big&opt-flavour=fancy&opt-memory=3G")
        assert r.status_code == 302 and "spawn-pending" in r.headers["Location"], r.status_code
        hub.wait_ready("alice")
        state = hub.spawner_state("alice")
        assert state["profile"] == "big"
        assert state["options"] == {"profile": "big", "flavour": "fancy", "memory": "3G"}
        assert state["job_settings"]["backend"] == "local"
        hub.stop_server("alice")
        # REST accepted, plain values; the server's user_options hold what was chosen
        hub.start_server("bob", options={"profile": "big", "env": "base"})
        assert hub.spawner_state("bob")["options"]["env"] == "base"
        assert hub.server_model("bob")["user_options"]["profile"] == "big"
        # the session view's API: each user sees their own servers, and only those
        bob_job = hub.spawner_state("bob")["job_id"]
        cards = sessions(hub, "bob")
        assert [c["job_id"] for c in cards] == [bob_job] and cards[0]["state"] == "running"
        assert cards[0]["profile"] == "big" and cards[0]["log_file"].endswith(".log")
        assert bob_job not in json.dumps(sessions(hub, "alice"))
        hub.stop_server("bob")


def test_the_form_page_renders_and_posting_it_spawns(tmp_path):
    with running_hub(tmp_path, config=PROFILES) as hub:
        hub.create_user("alice")
        s = login(hub, "alice")
        page = s.get(f"{hub.url}/hub/spawn/alice", timeout=60)
        assert page.status_code == 200 and 'id="profile-big"' in page.text
        xsrf = s.cookies.get("_xsrf", "")
        form = {"profile": "big", "big--memory": "9G", "small--x": "1", "_xsrf": xsrf}
        r = s.post(f"{hub.url}/hub/spawn/alice", data=form, allow_redirects=False, timeout=60)
        assert r.status_code == hub_compat.FORM_REFUSAL_STATUS, r.text[:2000]
        assert "Memory: &#39;9G&#39; is more than the maximum" in r.text
        assert no_job_submitted(hub, "alice")
        form["big--memory"] = "1G"
        r = s.post(f"{hub.url}/hub/spawn/alice", data=form, allow_redirects=False, timeout=60)
        assert r.status_code == 302, r.text[:2000]
        hub.wait_ready("alice")
        assert hub.spawner_state("alice")["options"] == {"profile": "big", "memory": "1G",
                                                           "flavour": "plain"}  # fmt: skip
        # the form preselects the last choice
        deadline = time.monotonic() + 30
        hub.stop_server("alice")
        while time.monotonic() < deadline and hub.server_model("alice"):
            time.sleep(0.3)
        page = s.get(f"{hub.url}/hub/spawn/alice", timeout=60)
        assert 'id="profile-big" value="big" checked' in page.text
        assert 'name="big--memory" type="text" value="1G"' in page.text


def test_a_refused_option_logs_one_warning_line(tmp_path):
    """A refusal is the user's mistake, not the hub's: one WARNING line naming the user,
    the field and the reason, no traceback and no ERROR; she still reads the plain 400."""
    with running_hub(tmp_path, config=PROFILES) as hub:
        hub.create_user("alice")
        before = len(hub.log_text().splitlines())
        body = hub_compat.start_request_body({"profile": "big", "memory": "8G"})
        r = hub.api("POST", "/users/alice/server", json=body)
        assert r.status_code == 400, r.text
        assert "Memory: '8G' is more than the maximum, 4G" in r.json()["message"]
        time.sleep(0.5)  # the log lines after the answer (the request's own access line)
        lines = hub.log_text().splitlines()[before:]
        text = "\n".join(lines)
        assert "Traceback" not in text and not any(line.startswith("[E") for line in lines), text
        said = [line for line in lines if "Memory: '8G' is more than the maximum" in line]
        assert len(said) == 1 and said[0].startswith("[W"), text
        assert "refused a user option of alice: Memory: '8G'" in said[0], said
        if hub_compat.HUB_VERSION < (6,):
            return  # JupyterHub 5's spawn page asks differently (test_options_* cover it there)
        # the spawn page's paths (?opt- and the form): the same, and the page says it plainly
        r = spawn_page(hub, "alice", "opt-profile=big&opt-memory=9G")
        assert r.status_code == hub_compat.FORM_REFUSAL_STATUS
        assert "Memory: &#39;9G&#39; is more than the max" in r.text
        s = login(hub, "alice")
        form = {"profile": "big", "big--memory": "10G", "_xsrf": s.cookies.get("_xsrf", "")}
        r = s.post(f"{hub.url}/hub/spawn/alice", data=form, allow_redirects=False, timeout=60)
        assert r.status_code == hub_compat.FORM_REFUSAL_STATUS
        assert "Memory: &#39;10G&#39; is more than the max" in r.text
        time.sleep(0.5)
        lines = hub.log_text().splitlines()[before:]
        text = "\n".join(lines)
        assert "Traceback" not in text and not any(line.startswith("[E") for line in lines), text
        for value in ("9G", "10G"):
            said = [line for line in lines if f"'{value}' is more than the maximum" in line]
            assert len(said) == 1 and "refused a user option of alice" in said[0], text
