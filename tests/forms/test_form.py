"""The spawn form's HTML, the form-to-options mapping, and the live queue view's cache."""

from __future__ import annotations

import asyncio
import html
import re

import pytest
from jobspawner.choices import resource_cache
from jobspawner.choices.options_form import options_form, options_from_form
from jobspawner.facade.hub_compat import SpawnException

from forms.kit import GPU, SMALL, came_up, make_spawner

PLUGIN = ["forms.live_plugin"]


@pytest.fixture(autouse=True)
def fresh_caches():
    resource_cache._caches.clear()
    yield
    resource_cache._caches.clear()


def live_spawner(tmp_path, mode="ok", **config):
    spawner = make_spawner(tmp_path, plugins=PLUGIN, **config)
    spawner.backend_options = {**spawner.backend_options, "fake_queues": mode}
    return spawner


async def test_form_has_a_labelled_radio_per_profile_and_the_last_choice_checked(tmp_path):
    spawner = make_spawner(tmp_path, profiles=[GPU, SMALL])
    came_up(spawner, {"profile": "gpu", "gpu": "a100", "memory": "16G"})
    page = await options_form(spawner)
    for slug in ("gpu", "small"):
        assert f'<label class="form-check-label fw-bold" for="profile-{slug}">' in page
    assert re.search(r'id="profile-gpu" value="gpu" checked', page)
    assert not re.search(r'id="profile-small" value="small" checked', page)
    assert '<option value="a100" selected>NVIDIA A100</option>' in page
    assert 'name="gpu--memory" type="text" value="16G"' in page
    assert "One <b>GPU</b> for up to 8 hours." in page  # the admin's HTML is kept
    cpus = 'name="gpu--cpus" type="number" value="" data-resource="cpus" min="1" max="16"'
    assert cpus in page
    assert r'pattern="[a-z][a-z0-9_\-]{0,31}"' in page  # valid under the browser's v flag
    relaunch = html.unescape(re.search(r'id="jobspawner-relaunch" href="([^"]+)"', page).group(1))
    assert relaunch == "/hub/spawn/root?opt-profile=gpu&opt-gpu=a100&opt-memory=16G"


async def test_user_values_in_the_form_are_escaped(tmp_path):
    spawner = make_spawner(tmp_path, profiles=[GPU])
    spawner.choices.form_refusal = {
        "values": {"profile": "gpu", "memory": '"><script>alert(1)</script>'},
        "field": "memory",
        "message": "<b>refused</b>",
    }
    page = await options_form(spawner)
    assert "<b>refused" not in page and "&lt;b&gt;refused" in page
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)" in page


async def test_without_profiles_the_allowed_resources_are_the_form(tmp_path):
    spawner = make_spawner(tmp_path, user_options_allowed=["runtime", "memory"])
    page = await options_form(spawner)
    assert 'name="runtime"' in page and 'name="memory"' in page and 'name="profile"' not in page
    assert make_spawner(tmp_path).options_form == ""  # nothing to choose: no form


def test_form_data_keeps_only_the_chosen_profiles_fields():
    form = {"_xsrf": ["t"], "profile": ["gpu"], "gpu--memory": ["8G"], "small--memory": ["2G"],
            "gpu--gpu": ["a100"], "extra": ["1", "2"]}  # fmt: skip
    assert options_from_form(form) == {
        "profile": "gpu",
        "memory": "8G",
        "gpu": "a100",
        "extra": ["1", "2"],
    }


async def test_the_live_view_shows_the_schedulers_queues(tmp_path):
    gpu = {**GPU, "overrides": {"req_queue": "gpu"}}  # same backend options: same live view
    spawner = live_spawner(tmp_path, profiles=[gpu, SMALL])
    page = await options_form(spawner)
    assert page.count('<th scope="row">gpu') == 2 and "08:00:00" in page
    assert resource_cache._caches and all(c.fetches == 1 for c in resource_cache._caches.values())
    assert "12 of 16" in page and "gpu:a100:4" in page
    assert "Live view unavailable" not in page


async def test_a_scheduler_that_fails_or_hangs_never_blocks_the_form(tmp_path):
    for mode, said in (("fail", "Unable to contact slurm"), ("hang", "still asking")):
        resource_cache._caches.clear()
        spawner = live_spawner(tmp_path, mode, profiles=[SMALL], options_form_wait=0.2)
        page = await options_form(spawner)
        assert "Live view unavailable right now" in page and said in page
        assert 'id="profile-small"' in page
    # while the hung query goes on, later pages do not wait for it again: as if it began an
    # hour ago, with a wait of a minute, the page comes back without waiting
    (cache,) = resource_cache._caches.values()
    cache._task_started -= 3600
    spawner.options_form_wait = 60
    page = await asyncio.wait_for(options_form(spawner), timeout=30)  # liveness guard only
    assert "still asking" in page and cache.fetches == 1


async def test_the_cache_is_reused_within_its_ttl_and_refreshed_in_the_background():
    calls = []

    async def fetch():
        calls.append(1)
        await asyncio.sleep(0.05)
        return []

    cache = resource_cache.ResourceCache(fetch, ttl=0.3)
    assert not cache.snapshot().available  # first call: nothing yet, a refresh starts
    await asyncio.sleep(0.1)
    for _ in range(20):
        assert cache.snapshot().available
    assert len(calls) == 1
    await asyncio.sleep(0.35)
    stale = cache.snapshot()  # stale: answered at once with the old data, refreshed behind
    assert stale.available and stale.age_s is not None and stale.age_s >= 0.3
    await asyncio.sleep(0.1)
    assert len(calls) == 2 and cache.snapshot().age_s < 0.3


async def test_the_server_enforces_the_queues_existence_and_max_runtime(tmp_path):
    allowed = ["queue", "runtime", "cpus", "memory"]
    spawner = live_spawner(tmp_path, user_options_allowed=allowed)
    await options_form(spawner)  # fills the cache
    cases = {
        ("debug", "2h"): "Runtime: 02:00:00 is more than the limit of queue 'debug', 01:00:00",
        ("nosuch", "1h"): "Queue: 'nosuch' is not a queue of this cluster (debug, gpu)",
    }
    for (queue, runtime), message in cases.items():
        with pytest.raises(SpawnException) as e:
            spawner.apply_user_options(spawner, {"queue": queue, "runtime": runtime})
        assert e.value.status_code == 400 and e.value.log_message == message
    # per-node CPUs/memory are hints (queues mix node types): the scheduler decides
    spawner.apply_user_options(spawner, {"cpus": "9"})
    spawner.apply_user_options(spawner, {"queue": "gpu", "runtime": "7h", "cpus": "30"})
    assert spawner.resources()["runtime_s"] == 7 * 3600
