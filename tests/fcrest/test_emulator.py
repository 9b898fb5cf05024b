"""The emulator answers as FirecREST v2 does (its server's source and OpenAPI description
2.5.6): paths, JSON shapes, status codes, error bodies and the F7T-AppVersion header."""

from __future__ import annotations

import time

import pytest
import requests
from harness.firecrest_emulator import MIN_REMAINING, sign

pytestmark = [pytest.mark.scheduler("slurm"), pytest.mark.root]


def get(emulator, path, token=None, **kw):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.get(emulator.url + path, headers=headers, timeout=10, **kw)


def test_authentication_answers(emulator):
    r = get(emulator, "/status/systems")
    assert r.status_code == 401 and r.json() == {"message": "Not authenticated"}
    r = get(emulator, "/status/systems", token="garbage")
    assert r.status_code == 401 and r.json()["message"] == "Access token is invalid."
    foreign = sign({"preferred_username": "alice", "exp": time.time() + 600}, b"other-key")
    assert get(emulator, "/status/systems", token=foreign).status_code == 401
    soon = emulator.state.mint("alice", lifespan=MIN_REMAINING - 5)
    r = get(emulator, "/status/systems", token=soon)
    assert r.status_code == 401
    assert r.json()["message"] == "expires too soon (less than 30s remaining)"
    assert get(emulator, "/status/liveness/").status_code == 200  # no auth


def test_status_endpoints_shapes(emulator):
    token = emulator.state.mint("alice")
    r = get(emulator, "/status/systems", token=token)
    assert r.status_code == 200 and r.headers["F7T-AppVersion"] == "2.5.6"
    assert [s["name"] for s in r.json()["systems"]] == ["cluster"]
    info = get(emulator, "/status/cluster/userinfo", token=token).json()
    assert info["user"]["name"] == "alice" and isinstance(info["user"]["id"], str)
    assert set(info["group"]) == {"id", "name"}
    r = get(emulator, "/status/nosuch/userinfo", token=token)
    assert r.status_code == 404
    assert set(r.json()) == {"errorType", "message", "causedBy", "data", "user"}


def test_job_endpoints_shapes(emulator, clean_queue):
    token = emulator.state.mint("alice")
    auth = {"Authorization": f"Bearer {token}"}
    r = requests.post(
        emulator.url + "/compute/cluster/jobs",
        headers=auth,
        timeout=30,
        json={"job": {"script": "#!/bin/bash\nsleep 60\n"}},
    )
    assert r.status_code == 422  # workingDirectory is required
    r = requests.post(
        emulator.url + "/compute/cluster/jobs",
        headers=auth,
        timeout=30,
        json={"job": {"workingDirectory": "/tmp", "script": "#!/bin/bash\nsleep 60\n"}},
    )
    assert r.status_code == 201
    job_id = r.json()["jobId"]
    assert isinstance(job_id, str) and job_id.isdigit()
    one = get(emulator, f"/compute/cluster/jobs/{job_id}", token=token)
    assert one.status_code == 200
    (job,) = one.json()["jobs"]
    assert {
        "jobId",
        "name",
        "status",
        "time",
        "allocationNodes",
        "cluster",
        "nodes",
        "partition",
        "user",
        "workingDirectory",
    } <= set(job)
    assert set(job["status"]) == {"state", "stateReason", "exitCode", "interruptSignal"}
    assert {"elapsed", "start", "end", "suspended", "limit"} <= set(job["time"])
    assert job["user"] == "alice" and job["workingDirectory"] == "/tmp"
    listed = get(emulator, "/compute/cluster/jobs", token=token).json()["jobs"]
    assert str(job["jobId"]) == job_id and job_id in {str(j["jobId"]) for j in listed}
    r = requests.delete(emulator.url + f"/compute/cluster/jobs/{job_id}", headers=auth, timeout=30)
    assert r.status_code == 204 and r.content == b""
    missing = get(emulator, "/compute/cluster/jobs/987654", token=token)
    assert missing.status_code == 404 and missing.json()["message"] == "Job not found."
    assert missing.json()["errorType"] == "error"


def test_token_endpoint_grants(emulator):
    st = emulator.state
    r = requests.post(
        emulator.token_url,
        data={
            "grant_type": "client_credentials",
            "client_id": "svc-jupyter",
            "client_secret": "svc-secret",
        },
        timeout=10,
    )
    assert r.status_code == 200 and {"access_token", "expires_in", "token_type"} <= set(r.json())
    bad = requests.post(
        emulator.token_url,
        data={
            "grant_type": "client_credentials",
            "client_id": "svc-jupyter",
            "client_secret": "wrong",
        },
        timeout=10,
    )
    assert bad.status_code == 401
    state = st.login("alice")
    form = {
        "grant_type": "refresh_token",
        "refresh_token": state["refresh_token"],
        "client_id": "jupyterhub",
        "client_secret": "hub-client-secret",
    }
    first = requests.post(emulator.token_url, data=form, timeout=10)
    assert first.status_code == 200 and first.json()["refresh_token"] != state["refresh_token"]
    again = requests.post(emulator.token_url, data=form, timeout=10)  # rotated: old one is dead
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
