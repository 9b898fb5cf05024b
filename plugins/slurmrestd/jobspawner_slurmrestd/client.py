"""A small asynchronous client for slurmrestd's JSON API (tornado's AsyncHTTPClient).

Every request carries ``X-SLURM-USER-NAME`` and ``X-SLURM-USER-TOKEN`` (slurmrestd's
``rest_auth/jwt``), has a timeout, and fails with :class:`~.errors.RestError` naming the
URL, the status and Slurm's error text. A refused token (401/403, or the 500 "Zero Bytes
were transmitted or received" slurmrestd 22.05 answers when slurmctld rejects a JWT) drops
the cached token and retries once with a new one (a token revoked or expired early); a
second refusal is reported as HTTP 401 "authentication refused".
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from tornado.httpclient import AsyncHTTPClient, HTTPRequest

from . import versions
from .errors import RestError, TokenError
from .tokens import TokenCache

#: What slurmrestd 22.05 answers (HTTP 500) when slurmctld refuses the request's JWT (a
#: forged, expired or revoked token): slurmctld closes the connection without a word.
_AUTH_REFUSED = "Zero Bytes were transmitted or received"


def _slurm_errors(body: Any) -> tuple[str, ...]:
    """Slurm's error texts from an answer's ``errors`` list (``error`` + ``description``)."""
    if not isinstance(body, Mapping):
        return ()
    out = []
    for item in body.get("errors") or []:
        if not isinstance(item, Mapping):
            continue
        words = [str(item[k]) for k in ("error", "description") if item.get(k)]
        if words:
            out.append(": ".join(dict.fromkeys(words)))
    return tuple(out)


class SlurmRestClient:
    """Requests to one slurmrestd, as a given Slurm user (tokens from ``tokens``)."""

    def __init__(
        self,
        url: str,
        tokens: TokenCache,
        api_version: str = "v0.0.38",
        timeout: float = 30.0,
        validate_cert: bool = True,
        ca_certs: str | None = None,
    ) -> None:
        self.root = url.rstrip("/")
        self.api_version = api_version
        self.base = self.root + f"/slurm/{api_version}"
        #: The accounting endpoints (slurmrestd's ``openapi/dbv...`` plugin).
        self.db_base = self.root + f"/slurmdb/{api_version}"
        self.tokens = tokens
        self.timeout = timeout
        self.validate_cert = validate_cert
        self.ca_certs = ca_certs
        self.requests = 0  # how many requests were sent (tests and benchmarks count them)
        self._version_served = False  # seen in slurmrestd's own description

    async def request(
        self,
        method: str,
        path: str,
        user: str,
        body: Mapping[str, Any] | None = None,
        params: Mapping[str, str] | None = None,
        accounting: bool = False,
    ) -> dict[str, Any]:
        """The JSON answer of ``method path`` made as ``user`` (``path`` below the
        accounting endpoints with ``accounting``); :class:`RestError` if it failed or Slurm
        reported an error."""
        base = self.db_base if accounting else self.base
        url = base + path + (f"?{urlencode(params)}" if params else "")
        for attempt in (0, 1):
            try:
                token = await self.tokens.get(user)
            except TokenError as e:
                raise RestError(method, url, None, str(e)) from e
            try:
                return await self._send(method, url, user, token, body)
            except RestError as e:
                if e.status in (401, 403) and attempt == 0:
                    self.tokens.drop(user)
                    continue
                if e.status == 404 and not self._version_served:  # not this API version?
                    await self._check_version(method, url, user, e)
                raise
        raise AssertionError("unreachable")  # pragma: no cover

    async def offered_versions(self, user: str) -> list[str]:
        """The API versions slurmrestd offers, from its own ``GET /openapi/v3``."""
        url = self.root + "/openapi/v3"
        try:
            token = await self.tokens.get(user)
        except TokenError as e:
            raise RestError("GET", url, None, str(e)) from e
        return versions.offered(await self._send("GET", url, user, token, None))

    async def _check_version(self, method: str, url: str, user: str, error: RestError) -> None:
        """After a 404 (slurmrestd 22.05: "Unable find requested URL"): raise the versions
        slurmrestd offers when the configured one is not among them."""
        try:
            offered = await self.offered_versions(user)
        except RestError:
            return  # the original error stands
        if self.api_version in offered:
            self._version_served = True  # a 404 about something else: not asked again
        elif offered:
            raise RestError(
                method, url, 404, versions.not_served(self.api_version, offered)
            ) from error

    async def _send(
        self, method: str, url: str, user: str, token: str, body: Mapping[str, Any] | None
    ) -> dict[str, Any]:
        headers = {
            "X-SLURM-USER-NAME": user,
            "X-SLURM-USER-TOKEN": token,
            "Accept": "application/json",
        }
        data = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            data = json.dumps(body)
        request = HTTPRequest(
            url,
            method=method,
            headers=headers,
            body=data,
            allow_nonstandard_methods=True,
            connect_timeout=self.timeout,
            request_timeout=self.timeout,
            validate_cert=self.validate_cert,
            ca_certs=self.ca_certs,
        )
        self.requests += 1
        try:
            response = await AsyncHTTPClient().fetch(request, raise_error=False)
        except (OSError, TimeoutError) as e:
            raise RestError(method, url, None, f"slurmrestd is unreachable: {e}") from e
        text = response.body.decode(errors="replace") if response.body else ""
        try:
            answer = json.loads(text) if text.strip() else {}
        except ValueError:
            answer = None
        errors = _slurm_errors(answer)
        if response.code == 599:  # tornado: no HTTP answer (refused, timed out, reset)
            cause = response.error if response.error is not None else "no answer"
            raise RestError(method, url, None, f"slurmrestd is unreachable: {cause}")
        refused = any(_AUTH_REFUSED in e for e in errors)
        if response.code in (401, 403) or refused:
            detail = errors or ((text.strip()[:200],) if text.strip() else ())
            raise RestError(
                method,
                url,
                401 if refused else response.code,
                "authentication refused: the JWT is invalid, expired or not for this user "
                "(check AuthAltTypes=auth/jwt and the jwt key in slurm.conf, and the "
                "token source)",
                detail,
            )
        if response.code >= 400 or errors:
            if not errors and text.strip():
                errors = (text.strip()[:300],)
            raise RestError(method, url, response.code, "Slurm refused the request", errors)
        if not isinstance(answer, dict):
            raise RestError(method, url, response.code, f"the answer is not JSON: {text[:200]!r}")
        return answer


__all__ = ["SlurmRestClient"]
