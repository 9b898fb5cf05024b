"""OIDC access tokens for FirecREST: the user's (from JupyterHub's auth state, refreshed
with the refresh token) and the optional service account's (client credentials).

A token is renewed ``refresh_margin`` seconds before its ``exp`` (FirecREST refuses tokens
with less than 30 s left). Providers may rotate refresh tokens (the old one dies when the new
one is issued): the renewed tokens are kept in memory, in one :class:`UserTokens` per user
and OAuth client shared by every gateway of the hub process, and saved into the user's
JupyterHub auth state (encrypted in the hub's database, see
:mod:`jobspawner.lifecycle.auth_state_sync`), so a restarted hub and the authenticator's own
refresh go
on from the live refresh token. An auth state older than the tokens in memory (a snapshot
read before a renewal) never replaces them. When a refresh fails the user must log in again
(:class:`.errors.LoginRequired`).

The service account's token (client credentials) is only kept in memory: the grant needs no
earlier token, so a restarted hub simply asks for a new one.
"""

from __future__ import annotations

import asyncio
import base64
import collections
import json
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import httpx

from .errors import GatewayError, LoginRequired


def jwt_expiry(token: str) -> float | None:
    """The unverified ``exp`` claim of a JWT, or None."""
    try:
        part = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
        exp = claims.get("exp")
        return float(exp) if isinstance(exp, (int, float)) else None
    except (IndexError, ValueError, AttributeError):
        return None


class TokenEndpoint:
    """The OIDC provider's token endpoint, with the OAuth client's credentials."""

    def __init__(
        self, url: str, client_id: str, client_secret: str = "", timeout: float = 30.0
    ) -> None:
        self.url, self.client_id, self.client_secret = url, client_id, client_secret
        self.timeout = timeout
        self.requests = 0

    async def grant(self, form: Mapping[str, str]) -> dict[str, Any]:
        data = {"client_id": self.client_id, **form}
        if self.client_secret:
            data["client_secret"] = self.client_secret
        self.requests += 1
        try:
            async with httpx.AsyncClient(timeout=self.timeout) as client:
                response = await client.post(self.url, data=data)
        except httpx.HTTPError as e:
            raise GatewayError("POST", self.url, None, f"token endpoint unreachable: {e}") from e
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code != 200 or not isinstance(body, dict):
            said = (
                body.get("error_description") or body.get("error") if isinstance(body, dict) else ""
            )
            raise GatewayError(
                "POST",
                self.url,
                response.status_code,
                f"token request refused: {said or response.text[:200]}",
            )
        if not isinstance(body.get("access_token"), str):
            raise GatewayError("POST", self.url, 200, "the answer has no access_token")
        return body


def _expiry(token: str, answer: Mapping[str, Any] | None = None) -> float:
    exp = jwt_expiry(token)
    if exp is not None:
        return exp
    expires_in = (answer or {}).get("expires_in")
    if isinstance(expires_in, (int, float)):
        return time.time() + float(expires_in)
    return 0.0  # unknown: renew before use


#: Saves renewed tokens into the user's auth state (``BackendContext.save_auth_state`` bound
#: to the user); True when saved.
Persist = Callable[[Mapping[str, Any]], Awaitable[bool]]


class UserTokens:
    """One user's access token, seeded from their auth state and refreshed as needed."""

    #: How many access tokens this object moved past are remembered (stale auth states).
    REPLACED_KEPT = 16

    def __init__(self, username: str, endpoint: TokenEndpoint | None, margin: float) -> None:
        self.username = username
        self.endpoint = endpoint
        self.margin = margin
        self.access_token = ""
        self.refresh_token = ""
        self.expires = 0.0
        self._replaced: collections.deque[str] = collections.deque(maxlen=self.REPLACED_KEPT)
        self._lock = asyncio.Lock()
        self.refreshes = 0
        self.saved = 0
        #: Where renewed tokens are saved; None keeps them in memory only.
        self.persist: Persist | None = None

    def seed(self, auth_state: Mapping[str, Any] | None) -> None:
        """Take the tokens of a login (or of an auth state saved since): a state holding the
        current access token, or one this object has already moved past, changes nothing."""
        if not auth_state:
            return
        access = auth_state.get("access_token")
        if not isinstance(access, str) or not access:
            return
        if access == self.access_token or access in self._replaced:
            return
        if self.access_token:
            self._replaced.append(self.access_token)
        self.access_token = access
        refresh = auth_state.get("refresh_token")
        self.refresh_token = refresh if isinstance(refresh, str) else ""
        self.expires = _expiry(access, auth_state.get("token_response"))

    async def get(self) -> str:
        if self.access_token and self.expires - self.margin > time.time():
            return self.access_token
        async with self._lock:
            if self.access_token and self.expires - self.margin > time.time():
                return self.access_token
            url = self.endpoint.url if self.endpoint else "(no token_url configured)"
            if not self.refresh_token or self.endpoint is None:
                why = (
                    "no access token in the auth state"
                    if not self.access_token
                    else ("the access token expires and there is no refresh token")
                )
                raise LoginRequired(url, f"user {self.username}: {why}")
            try:
                answer = await self.endpoint.grant(
                    {"grant_type": "refresh_token", "refresh_token": self.refresh_token}
                )
            except GatewayError as e:
                raise LoginRequired(url, f"user {self.username}: {e.problem}") from e
            if self.access_token:
                self._replaced.append(self.access_token)
            self.access_token = answer["access_token"]
            rotated = answer.get("refresh_token")
            if isinstance(rotated, str) and rotated:
                self.refresh_token = rotated
            self.expires = _expiry(self.access_token, answer)
            self.refreshes += 1
            await self._save(answer)
            return self.access_token

    async def _save(self, answer: Mapping[str, Any]) -> None:
        """Save the renewed tokens into the auth state (the refresh token may have rotated:
        the one the auth state holds is dead then)."""
        if self.persist is None:
            return
        response = {**answer, "refresh_token": self.refresh_token}
        changes = {
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
            "token_response": response,
        }
        if await self.persist(changes):
            self.saved += 1


#: Every user's tokens, by (token endpoint, OAuth client, user): one refresh token has one
#: holder in the hub process, whatever gateways (profiles' backend options) use it.
_user_tokens: dict[tuple[str, str, str], UserTokens] = {}


def user_tokens(endpoint: TokenEndpoint | None, username: str, margin: float) -> UserTokens:
    """The shared :class:`UserTokens` of ``username`` for this token endpoint and client."""
    key = (endpoint.url if endpoint else "", endpoint.client_id if endpoint else "", username)
    tokens = _user_tokens.get(key)
    if tokens is None:
        tokens = _user_tokens[key] = UserTokens(username, endpoint, margin)
    return tokens


class ServiceAccount:
    """The service account's token (client-credentials grant), renewed before it expires."""

    def __init__(self, endpoint: TokenEndpoint, margin: float) -> None:
        self.endpoint = endpoint
        self.margin = margin
        self.access_token = ""
        self.expires = 0.0
        self._lock = asyncio.Lock()

    async def get(self) -> str:
        if self.access_token and self.expires - self.margin > time.time():
            return self.access_token
        async with self._lock:
            if not (self.access_token and self.expires - self.margin > time.time()):
                answer = await self.endpoint.grant({"grant_type": "client_credentials"})
                self.access_token = answer["access_token"]
                self.expires = _expiry(self.access_token, answer)
            return self.access_token


class BearerAuth:
    """pyfirecrest's authorization object: ``auth_headers()`` (awaited by its v2 client)."""

    def __init__(self, source: UserTokens | ServiceAccount) -> None:
        self.source = source

    async def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {await self.source.get()}"}
