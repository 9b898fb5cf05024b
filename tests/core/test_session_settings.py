"""The settings a start reads are frozen when it begins: a setting changed meanwhile (by a
reloaded configuration, by another start's profile) does not change a running start."""

from __future__ import annotations

import asyncio
import dataclasses
import time

import pytest
from jobspawner.choices.overridden import overridden
from jobspawner.facade.hub_compat import SpawnException

from .test_spawner_unit import make_spawner


def test_the_snapshot_is_frozen_and_copies_what_it_holds(tmp_path):
    spawner = make_spawner(tmp_path, host_map={"a": "b"}, server_hosts_allowed=["10.0.0.0/8"])
    settings = spawner.session_settings()
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.queue_timeout = 1.0  # type: ignore[misc]
    with pytest.raises(TypeError):
        settings.host_map["c"] = "d"  # type: ignore[index]
    spawner.host_map = {"x": "y"}
    spawner.server_hosts_allowed = []
    assert dict(settings.host_map) == {"a": "b"}
    assert settings.server_hosts_allowed == ("10.0.0.0/8",)


def test_a_start_snapshot_holds_the_overrides_in_force_when_taken(tmp_path):
    spawner = make_spawner(tmp_path, queue_timeout=100.0)
    with overridden(spawner, {"queue_timeout": 5.0, "keep_queued_on_restart": False}):
        settings = spawner.session_settings(starting=True)
    assert settings.queue_timeout == 5.0 and not settings.keep_queued_on_restart
    assert settings.request is None  # nothing to keep, nothing kept to compare with
    assert spawner.session_settings(starting=True).request is not None  # kept: asked for
    assert settings.job_settings["backend"] == "local"


async def test_a_setting_changed_after_the_start_began_does_not_change_it(tmp_path):
    """The job runs but its server never reports: the start's own server_start_timeout
    (1 s) ends it, although the setting was raised to an hour once the job was submitted."""
    spawner = make_spawner(tmp_path, cmd=["sleep", "300"], server_start_timeout=1.0)
    began = time.monotonic()
    start = asyncio.ensure_future(spawner.start())
    try:
        for _ in range(100):
            if spawner.job_id:
                break
            await asyncio.sleep(0.05)
        assert spawner.job_id, "no job submitted"
        spawner.server_start_timeout = 3600.0
        spawner.queue_timeout = 3600.0
        with pytest.raises(SpawnException) as e:
            await asyncio.wait_for(start, timeout=60)
    finally:
        if not start.done():
            start.cancel()
        await asyncio.gather(start, return_exceptions=True)
        await spawner.stop()
    assert "did not start within 1 seconds" in e.value.jupyterhub_message
    assert time.monotonic() - began < 60
