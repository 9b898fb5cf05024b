"""Renewed credentials are merged into a user's JupyterHub auth state (one save at a time)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from jobspawner.lifecycle.auth_state_sync import saver


class HubUser:
    """The part of JupyterHub's User the module uses; the state kept as JupyterHub would."""

    def __init__(self, state: dict[str, Any] | None, fail: bool = False) -> None:
        self.state, self.fail, self.saves = state, fail, 0

    async def get_auth_state(self) -> dict[str, Any] | None:
        await asyncio.sleep(0)
        return None if self.state is None else dict(self.state)

    async def save_auth_state(self, state: dict[str, Any]) -> None:
        await asyncio.sleep(0)
        if self.fail:
            raise RuntimeError("auth state is not enabled")
        self.state, self.saves = dict(state), self.saves + 1


async def test_changes_are_merged_saved_and_shared(caplog):
    alice = HubUser({"access_token": "a1", "refresh_token": "r1", "oauth_user": {"sub": "1"}})
    states: dict[str, dict[str, Any]] = {}
    save = saver({"alice": alice}, states, logging.getLogger("t"))
    assert await save("alice", {"access_token": "a2", "refresh_token": "r2"})
    assert alice.state == {"access_token": "a2", "refresh_token": "r2", "oauth_user": {"sub": "1"}}
    assert states["alice"] == alice.state


async def test_concurrent_saves_keep_every_change():
    alice = HubUser({"keep": 1})
    save = saver({"alice": alice}, {}, logging.getLogger("t"))
    await asyncio.gather(*(save("alice", {f"k{i}": i}) for i in range(5)))
    assert alice.state == {"keep": 1, **{f"k{i}": i for i in range(5)}}


async def test_unknown_user_and_failed_save_are_logged_not_raised(caplog):
    broken = HubUser({"access_token": "a1"}, fail=True)
    states: dict[str, dict[str, Any]] = {}
    save = saver({"bob": broken}, states, logging.getLogger("t"))
    with caplog.at_level(logging.WARNING):
        assert not await save("alice", {"access_token": "x"})
        assert not await save("bob", {"access_token": "x"})
    assert "alice" in caplog.text and "in memory until the hub restarts" in caplog.text
    assert "JUPYTERHUB_CRYPT_KEY" in caplog.text and states == {}
