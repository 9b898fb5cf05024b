"""Saving a user's auth state when a backend renews the credentials it holds.

A backend acting with the user's own credentials (FirecREST's OIDC tokens) renews them with
the refresh token, and identity providers may *rotate* refresh tokens: the old one stops
working the moment the new one is issued. Kept only in the hub's memory, the new one is lost
when the hub restarts (the auth state still holds the dead one), and the authenticator's own
refresh (OAuthenticator's ``refresh_user``) would use the dead one too. So the backend hands the
renewed tokens to :func:`saver`'s function, which merges them into the user's JupyterHub auth
state: encrypted in the hub's database with ``JUPYTERHUB_CRYPT_KEY``, where the authenticator
keeps them, never in a file or anywhere a user can read.

The spawners of one hub process register their users here as they load their auth states,
so the shared status poller (acting for every user) can save any of them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol

#: ``save(username, changes) -> saved``: merge ``changes`` into the user's auth state.
SaveAuthState = Callable[[str, Mapping[str, Any]], Awaitable[bool]]


class AuthStateUser(Protocol):
    """What JupyterHub's ``User`` offers for its auth state."""

    async def get_auth_state(self) -> Any: ...

    async def save_auth_state(self, auth_state: Any) -> Any: ...


_locks: dict[str, asyncio.Lock] = {}


def saver(
    users: Mapping[str, AuthStateUser],
    states: dict[str, dict[str, Any]],
    log: logging.Logger,
) -> SaveAuthState:
    """The function that saves ``changes`` into a user's auth state: read, merge, save (one
    at a time per user), and keep ``states`` (what backends read) current. False when the
    user is unknown to this hub process or JupyterHub could not save (logged)."""

    async def save(username: str, changes: Mapping[str, Any]) -> bool:
        user = users.get(username)
        if user is None:
            log.warning(
                "renewed credentials of user %s cannot be saved: no spawner of theirs has run "
                "in this hub process; they live in memory until the hub restarts",
                username,
            )
            return False
        lock = _locks.setdefault(username, asyncio.Lock())
        async with lock:
            try:
                current = await user.get_auth_state() or {}
                merged = {**current, **changes}
                await user.save_auth_state(merged)
            except Exception as e:  # the request goes on with the tokens in memory
                log.warning(
                    "renewed credentials of user %s could not be saved in the auth state "
                    "(%s: %s); check c.Authenticator.enable_auth_state and "
                    "JUPYTERHUB_CRYPT_KEY",
                    username,
                    type(e).__name__,
                    e,
                )
                return False
            states[username] = dict(merged)
        return True

    return save
