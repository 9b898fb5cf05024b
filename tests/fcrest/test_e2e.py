"""End to end: a real JupyterHub spawning through FirecREST (the emulator on the real test
Slurm) with the user's OIDC tokens in JupyterHub's auth state.

The hub keeps auth state (``c.Authenticator.enable_auth_state`` with a crypt key); the test
stores a login's tokens in alice's auth state through the admin API, as an OAuthenticator
does at login. The spawner hands them to the backend; every request to FirecREST carries
alice's access token, refreshed through the token endpoint when it runs short.
"""

from __future__ import annotations

import secrets
import time

import pytest
from harness.hub import running_hub
from slurm.helpers import squeue

from .conftest import gateway_options

pytestmark = [pytest.mark.e2e, pytest.mark.scheduler("slurm"), pytest.mark.root]


def test_spawn_with_auth_state_tokens(tmp_path, emulator, clean_queue):
    options = gateway_options(emulator)
    config = "c.Authenticator.enable_auth_state = True\n"
    env = {"JUPYTERHUB_CRYPT_KEY": secrets.token_hex(32)}
    with running_hub(
        tmp_path,
        backend="firecrest",
        config=config,
        env=env,
        keep_env=False,
        backend_options=options,
    ) as hub:
        hub.create_user("alice")
        # a short-lived access token: the backend must refresh it before using it
        login = emulator.state.login("alice", lifespan=40)
        r = hub.api("PATCH", "/users/alice", json={"auth_state": login})
        assert r.status_code == 200, r.text
        grants = emulator.state.token_grants["refresh_token"]
        events = hub.start_server("alice", timeout=90)
        messages = [e["message"] for e in events]
        assert any(m.startswith("Submitted as firecrest job") for m in messages), messages
        assert emulator.state.token_grants["refresh_token"] > grants
        job_id = hub.spawner_state("alice")["job_id"]
        assert squeue(job_id, "%T|%u") == "RUNNING|alice"
        assert hub.get_via_proxy("alice", "api/status").status_code == 200
        hub.stop_server("alice")
        deadline = time.monotonic() + 10
        while squeue(job_id, "%T|%u") and time.monotonic() < deadline:
            time.sleep(0.2)
        assert squeue(job_id, "%T|%u") == ""
        assert squeue(job_id, "%T", states="all") == "CANCELLED"


def test_spawn_without_tokens_tells_the_user_to_log_in(tmp_path, emulator, clean_queue):
    options = gateway_options(emulator)
    env = {"JUPYTERHUB_CRYPT_KEY": secrets.token_hex(32)}
    with running_hub(
        tmp_path,
        backend="firecrest",
        config="c.Authenticator.enable_auth_state = True\n",
        env=env,
        keep_env=False,
        backend_options=options,
        expect_start_failure=True,
    ) as hub:
        hub.begin_start("alice")
        events = hub.progress("alice", timeout=60)
        text = " ".join(e["message"] for e in events)
        assert "log in again" in text, events


def test_rotated_tokens_survive_a_hub_restart(tmp_path, emulator, clean_queue):
    """The provider rotates refresh tokens; the hub saves the renewed ones into alice's auth
    state, so after a crash and restart it still follows and stops her job."""
    options = gateway_options(emulator, refresh_margin=85)
    env = {"JUPYTERHUB_CRYPT_KEY": secrets.token_hex(32)}  # the same key after the restart
    config = "c.Authenticator.enable_auth_state = True\n"
    lifespan = emulator.state.access_lifespan
    emulator.state.access_lifespan = 90  # each token is fresh for 5 s (margin 85 s)
    try:
        with running_hub(
            tmp_path, backend="firecrest", config=config, env=env, keep_env=False,
            backend_options=options,
        ) as hub:  # fmt: skip
            hub.create_user("alice")
            login = emulator.state.login("alice", lifespan=40)
            r = hub.api("PATCH", "/users/alice", json={"auth_state": login})
            assert r.status_code == 200, r.text
            hub.start_server("alice", timeout=90)
            job_id = hub.spawner_state("alice")["job_id"]
            hub.crash()
        assert login["refresh_token"] not in emulator.state.refresh_tokens  # rotated: dead
        assert squeue(job_id, "%T|%u") == "RUNNING|alice"
        time.sleep(6)  # the saved access token is now due for renewal
        with running_hub(
            tmp_path, backend="firecrest", config=config, env=env, keep_env=False,
            backend_options=options,
        ) as hub:  # fmt: skip
            saved = hub.api("GET", "/users/alice").json().get("auth_state") or {}
            assert saved.get("refresh_token") in emulator.state.refresh_tokens, saved.keys()
            hub.wait_ready("alice", timeout=60)
            hub.stop_server("alice")
            deadline = time.monotonic() + 10
            while squeue(job_id, "%T|%u") and time.monotonic() < deadline:
                time.sleep(0.2)
            assert squeue(job_id, "%T|%u") == "", hub.log_text()[-3000:]
            assert "log in again" not in hub.log_text()
    finally:
        emulator.state.access_lifespan = lifespan
