"""The Prometheus metrics on a real hub's /hub/metrics (local backend): each moves as the
scenario says, and the endpoint stays JupyterHub's (read:metrics)."""

from __future__ import annotations

import pytest
import requests
from harness.hub import Hub, SpawnFailed, running_hub
from harness.waiting import wait_for
from prometheus_client.parser import text_string_to_metric_families

from .test_e2e_scopes import token_with

pytestmark = pytest.mark.e2e

P = "jupyterhub_jobspawner_"
MARKER = "metrics-test: no server today"
# profiles: a working one, one whose job exits before its server, one whose submit is
# refused (the local backend's program is /bin/false, which exits 1)
CONFIG = f"""
c.JobSpawner.status_interval = 1
c.JobSpawner.profiles = [
    {{"display_name": "Standard", "slug": "std", "default": True}},
    {{"display_name": "Dies", "slug": "dies",
      "overrides": {{"prologue": "echo {MARKER} >&2; exit 3"}}}},
    {{"display_name": "Refused", "slug": "refused",
      "overrides": {{"backend_options": {{"python": "/bin/false"}}}}}},
]
"""

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(hub: Hub) -> Samples:
    r = requests.get(
        f"{hub.url}/hub/metrics", headers={"Authorization": f"token {hub.token}"}, timeout=30
    )
    assert r.status_code == 200, r.text
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(r.text)
        for s in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((P + name, frozenset(labels.items())), 0.0)


def failures(samples: Samples, profile: str, reason: str) -> float:
    return value(samples, "spawn_failures_total", backend="local", profile=profile, reason=reason)


def test_metrics_move_with_spawns_rounds_and_commands(tmp_path):
    with running_hub(tmp_path, config=CONFIG) as hub:
        before = scrape(hub)
        # from the hub's start, every configured profile's series exist at 0 (so that
        # increase() counts the first event too)
        for profile in ("std", "dies", "refused"):
            key = frozenset({"backend": "local", "profile": profile, "reason": "job_ended"}.items())
            assert before[(P + "spawn_failures_total", key)] == 0
        hub.start_server("alice", options={"profile": "std"})
        ready = scrape(hub)
        std = {"backend": "local", "profile": "std"}
        for metric in ("spawn_queue_wait_seconds_count", "spawn_server_start_seconds_count"):
            assert value(ready, metric, **std) == value(before, metric, **std) + 1, metric
        assert value(ready, "spawn_server_start_seconds_sum", **std) > 0
        # the scheduler commands (the local backend's helper) and the status rounds
        assert value(ready, "command_duration_seconds_count", command="local_jobs") > 0
        assert value(ready, "status_round_duration_seconds_count", backend="local") > 0
        assert value(ready, "status_round_jobs_sum", backend="local") > 0
        # the running job, counted at the scrape; its server watched
        assert value(ready, "jobs", backend="local", state="running") >= 1
        assert value(ready, "watched_servers") == 1
        # no failure counted for the good spawn, every reason present at 0
        assert failures(ready, "std", "job_ended") == 0
        assert failures(ready, "std", "submit_refused") == 0

        # a job that exits before its server: reason job_ended
        with pytest.raises(SpawnFailed, match=MARKER):
            hub.start_server("alice", "dies", options={"profile": "dies"}, timeout=60)
        ended = scrape(hub)
        assert failures(ended, "dies", "job_ended") == 1
        assert failures(ended, "dies", "submit_refused") == 0

        # a submit the scheduler refuses: reason submit_refused, and the command's error
        with pytest.raises(SpawnFailed, match="Submitting the job failed"):
            hub.start_server("alice", "refused", options={"profile": "refused"}, timeout=60)
        refused = scrape(hub)
        assert failures(refused, "refused", "submit_refused") == 1
        assert failures(refused, "refused", "scheduler_unreachable") == 0
        errors = value(refused, "command_errors_total", command="local_jobs", error="exit_status")
        assert errors >= 1

        hub.stop_server("alice")
        assert wait_for(lambda: value(scrape(hub), "watched_servers") == 0, timeout=20)
        text = requests.get(
            f"{hub.url}/hub/metrics", headers={"Authorization": f"token {hub.token}"}, timeout=30
        ).text
        named = [line for line in text.splitlines() if "alice" in line]
        assert not named, named[:5]  # no user name in any label


def test_metrics_need_read_metrics(tmp_path):
    """JupyterHub's rule, unchanged: read:metrics, which no user token here holds."""
    with running_hub(tmp_path) as hub:
        identify = token_with(hub, "alice", ["read:users:name!user=alice",
                                             "read:users:groups!user=alice"])  # fmt: skip
        url = f"{hub.url}/hub/metrics"
        for token in (identify, hub.user_token("alice")):
            r = requests.get(url, headers={"Authorization": f"token {token}"}, timeout=30)
            assert r.status_code == 403, r.text
        assert requests.get(url, timeout=30).status_code == 403
        r = requests.get(url, headers={"Authorization": f"token {hub.token}"}, timeout=30)
        assert r.status_code == 200 and f"{P}watched_servers" in r.text
