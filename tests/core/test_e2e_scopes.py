"""End to end (real hub, local backend): jobspawner's pages and APIs authorize by JupyterHub
scopes, as JupyterHub's own server APIs do; the endpoints a job's server reports to take
only that server's own token.

A token JupyterHub hands an OAuth client (identify scopes only), another user's token, a
service allowed ``read:servers!user=alice`` and an admin's token each ask for alice's
sessions; the answers must match what JupyterHub's own progress API answers the same token.
"""

from __future__ import annotations

import pytest
import requests
from forms.test_e2e_options import login
from harness.hub import Hub, running_hub

pytestmark = pytest.mark.e2e

WATCHER_TOKEN = "watcher-" + "0" * 24

#: a service that may read alice's servers and no one else's
WATCHER = f"""
c.JupyterHub.services.append({{"name": "watcher", "api_token": {WATCHER_TOKEN!r}}})
c.JupyterHub.load_roles.append(
    {{"name": "alice-watcher", "scopes": ["read:servers!user=alice"], "services": ["watcher"]}}
)
"""


def token_with(hub: Hub, owner: str, scopes: list[str]) -> str:
    """A new token of ``owner`` limited to ``scopes``."""
    hub.create_user(owner)
    r = hub.api("POST", f"/users/{owner}/tokens", json={"note": "scopes test", "scopes": scopes})
    assert r.status_code in (200, 201), r.text
    return str(r.json()["token"])


def get(hub: Hub, path: str, token: str) -> requests.Response:
    return requests.get(
        f"{hub.url}/hub{path}",
        headers={"Authorization": f"token {token}"},
        timeout=60,
        allow_redirects=False,
    )


def test_sessions_need_read_servers_on_their_user(tmp_path):
    with running_hub(tmp_path, config=WATCHER) as hub:
        hub.start_server("alice")
        job = hub.spawner_state("alice")["job_id"]
        identify = token_with(hub, "alice", ["read:users:name!user=alice",
                                             "read:users:groups!user=alice"])  # fmt: skip
        bob = hub.user_token("bob")
        alice_read = token_with(hub, "alice", ["read:servers!user=alice"])

        # JupyterHub's own answer to the identify-only token, and ours: 403, nothing shown
        assert get(hub, "/api/users/alice/server/progress", identify).status_code == 403
        for path in ("/api/jobspawner/sessions", "/api/jobspawner/sessions/alice"):
            r = get(hub, path, identify)
            assert r.status_code == 403, (path, r.status_code, r.text[:500])
            assert job not in r.text and "read:servers" in r.text, (path, r.text[:500])
        for path in ("/jobspawner/sessions", "/jobspawner/sessions/alice"):
            r = get(hub, path, identify)  # pages take no token (JupyterHub's rule): log in
            assert r.status_code == 302 and "/hub/login" in r.headers["Location"], path

        # another user: her own sessions only; alice's are not found (as JupyterHub answers)
        assert get(hub, "/api/users/alice/server/progress", bob).status_code == 404
        r = get(hub, "/api/jobspawner/sessions", bob)
        assert r.status_code == 200 and [c["job_id"] for c in r.json()["sessions"]] == [None]
        assert job not in r.text
        r = get(hub, "/api/jobspawner/sessions/alice", bob)
        assert r.status_code == 404 and job not in r.text, r.text

        # read:servers!user=alice, held by alice's token or by a service: alice's, no one else's
        for token in (alice_read, WATCHER_TOKEN):
            r = get(hub, "/api/jobspawner/sessions/alice", token)
            assert r.status_code == 200, r.text
            assert [c["job_id"] for c in r.json()["sessions"]] == [job]
            assert get(hub, "/api/jobspawner/sessions/bob", token).status_code == 404
        r = get(hub, "/api/jobspawner/sessions", alice_read)
        assert [c["job_id"] for c in r.json()["sessions"]] == [job]
        r = get(hub, "/api/jobspawner/sessions", WATCHER_TOKEN)  # a service has no sessions
        assert r.status_code == 403 and "at sessions/<name>" in r.text, r.text

        # an admin reads anyone's
        r = get(hub, "/api/jobspawner/sessions/alice", hub.token)
        assert r.status_code == 200 and r.json()["sessions"][0]["job_id"] == job
        assert get(hub, "/api/jobspawner/sessions/nobody", hub.token).status_code == 404

        # the endpoints for a server's own reports take its own token and no other one
        for path in ("/api/jobspawner/ending/alice", "/api/jobspawner/port/alice"):
            for token in (identify, bob, alice_read, hub.user_token("alice"), hub.token, ""):
                headers = {"Authorization": f"token {token}"}
                body = {"host": "127.0.0.1", "port": 1}
                r = requests.post(f"{hub.url}/hub{path}", json=body, headers=headers, timeout=60)
                assert r.status_code == 403, (path, r.status_code, r.text)

        # the page, with alice's login cookie: hers; bob's is not found
        browser = login(hub, "alice")
        page = browser.get(f"{hub.url}/hub/jobspawner/sessions", timeout=60)
        assert page.status_code == 200 and job in page.text
        assert '"alice"' in page.text  # the page's script asks for alice's cards
        other = browser.get(f"{hub.url}/hub/jobspawner/sessions/bob", timeout=60)
        assert other.status_code == 404
        # the page's own script: alice's cards through her cookie (and the XSRF token)
        xsrf = {"X-XSRFToken": browser.cookies.get("_xsrf", "")}
        r = browser.get(f"{hub.url}/hub/api/jobspawner/sessions/alice", headers=xsrf, timeout=60)
        assert r.status_code == 200 and r.json()["sessions"][0]["job_id"] == job, r.text
        hub.stop_server("alice")
