"""Per-user JWTs for slurmrestd, from ``scontrol token`` or a site's own source, cached.

Sources (backend option ``token_source``):

``"scontrol"`` (default)
    ``scontrol token username=<user> lifespan=<token_lifespan>``, run by the hub through
    the core's :class:`~jobspawner.CommandRunner` with no exec prefix: the hub must run as
    root or SlurmUser (slurmctld refuses tokens for other users otherwise). The token comes
    back on standard output (``SLURM_JWT=...``), never on a command line.
a list of arguments
    A site command printing the token (alone or as ``SLURM_JWT=...``) for ``{username}``,
    e.g. ``["/usr/local/sbin/site-jwt", "{username}"]``; run like ``scontrol``.
a callable
    ``f(username) -> str`` or an awaitable of one, e.g. a call to a site token service.

Tokens are kept per user until ``token_refresh_margin`` seconds before they expire (the
``exp`` claim when the token has one, otherwise the configured lifespan). A request refused
with 401/403 drops the user's token, and the next one fetches a new token.
"""

from __future__ import annotations

import asyncio
import base64
import inspect
import json
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from jobspawner import Command, CommandError, CommandRunner

from .errors import TokenError

#: User names a token may be asked for (they reach a command line).
USERNAME = re.compile(r"[a-z_][a-z0-9_.-]{0,63}", re.IGNORECASE)
#: A JWT: three base64url parts.
_JWT = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")

TokenSource = str | Sequence[str] | Callable[[str], "str | Awaitable[str]"]


def jwt_expiry(token: str) -> float | None:
    """The ``exp`` claim of a JWT (seconds since the epoch), unverified; None if absent."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        exp = claims.get("exp")
        return float(exp) if isinstance(exp, (int, float)) else None
    except (IndexError, ValueError, AttributeError):
        return None


def read_token(text: str) -> str | None:
    """The token from a command's output: ``SLURM_JWT=<jwt>`` or a bare JWT on a line."""
    for line in text.splitlines():
        value = line.strip().removeprefix("SLURM_JWT=").strip()
        if _JWT.fullmatch(value):
            return value
    return None


class TokenCache:
    """Fetches and caches one JWT per Slurm user."""

    def __init__(
        self,
        source: TokenSource = "scontrol",
        lifespan: int = 3600,
        refresh_margin: float = 120.0,
        scontrol: str = "scontrol",
        timeout: float = 30.0,
        env_keep: Sequence[str] = (),
    ) -> None:
        if isinstance(source, str) and source != "scontrol":
            raise TokenError(
                f'token_source {source!r} is not understood: use "scontrol", a list of '
                "arguments (a command printing the token) or a callable"
            )
        self.source = source
        self.lifespan = int(lifespan)
        self.refresh_margin = float(refresh_margin)
        self.scontrol = scontrol
        self.runner = CommandRunner((), timeout=timeout, env_keep=env_keep)
        self._tokens: dict[str, tuple[str, float]] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self.fetched = 0  # how many tokens were fetched (tests count them)

    def drop(self, user: str) -> None:
        """Forget ``user``'s token (slurmrestd refused it)."""
        self._tokens.pop(user, None)

    async def get(self, user: str) -> str:
        """A token for ``user`` with more than the refresh margin left."""
        cached = self._tokens.get(user)
        if cached is not None and cached[1] - self.refresh_margin > time.time():
            return cached[0]
        lock = self._locks.setdefault(user, asyncio.Lock())
        async with lock:
            cached = self._tokens.get(user)
            if cached is not None and cached[1] - self.refresh_margin > time.time():
                return cached[0]
            token = await self._fetch(user)
            expires = jwt_expiry(token) or time.time() + self.lifespan
            self._tokens[user] = (token, expires)
            self.fetched += 1
            return token

    async def _fetch(self, user: str) -> str:
        if not USERNAME.fullmatch(user):
            raise TokenError(f"user name {user!r} cannot be passed to a token source safely")
        source = self.source
        if callable(source):
            try:
                value: Any = source(user)
                if inspect.isawaitable(value):
                    value = await value
            except Exception as e:
                raise TokenError(f"the token source for {user} failed: {e}") from e
            token = str(value or "").strip().removeprefix("SLURM_JWT=")
            if not _JWT.fullmatch(token):
                raise TokenError(f"the token source returned no JWT for {user}")
            return token
        if source == "scontrol":
            argv = [self.scontrol, "token", f"username={user}", f"lifespan={self.lifespan}"]
            how = "`scontrol token` (the hub must run as root or SlurmUser, and slurm.conf "
            how += "needs AuthAltTypes=auth/jwt with a jwt_key)"
        else:
            argv = [str(a).replace("{username}", user) for a in source]
            how = f"the token command {argv[0]}"
        try:
            result = await self.runner.run(Command(argv), check=True)
        except CommandError as e:
            raise TokenError(f"no slurmrestd token for {user} from {how}: {e}") from e
        found = read_token(result.stdout)
        if found is None:
            raise TokenError(f"{how} printed no token for {user}")
        return found
