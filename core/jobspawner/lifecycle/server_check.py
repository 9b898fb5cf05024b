"""Is the server at host:port this spawn's Jupyter server? One probe of its API.

Before ``start()`` returns its URL, the hub asks, without a token,
``GET {url}{prefix}api/jobspawner/proof?challenge=<new random>``: the server this spawn
started answers 200 with JSON that holds ``"version"`` and the proof that it holds the key
the hub gave this start (:mod:`jobspawner.jobside.server_proof`). The hub's own API, another user's
server (another prefix), a service that answers ``{"version": ...}`` on every path, a random
port or nothing at all do not. With ``c.JobSpawner.require_server_proof = False`` the probe is
``GET {url}{prefix}api`` and any JSON with a version passes. The probe follows no redirect
and reads a small body only.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import socket
import ssl
from dataclasses import dataclass

from jobspawner.jobside import server_proof
from jobspawner.transport.routing import HostAllowList, IPAddress, check_resolved, ip_literal

MAX_BODY = 64 * 1024


@dataclass(frozen=True)
class ProbeResult:
    """What one probe found: ``ok`` when this spawn's server answered; ``detail`` in words;
    ``unproven`` when a server answered but did not prove it is this spawn's (final: the
    server this start launched answers with the proof from its first request on)."""

    ok: bool
    detail: str
    unproven: bool = False


async def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address ``host`` resolves to (an address resolves to itself)."""
    literal = ip_literal(host)
    if literal is not None:
        return [literal]
    infos = await asyncio.get_running_loop().getaddrinfo(
        host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
    )
    out: list[IPAddress] = []
    for info in infos:
        text = str(info[4][0]).split("%", 1)[0]
        address = ipaddress.ip_address(text)
        if address not in out:
            out.append(address)
    return out


async def check_host_addresses(host: str, port: int, allowed: HostAllowList | None) -> None:
    """Resolve ``host`` and refuse it (``RouteRefused``) when an address may not be routed.

    An unresolvable name raises :class:`OSError` (the probe then reports it).
    """
    check_resolved(host, await resolve(host, port), allowed)


def probe_url(api_url: str, key: str | None) -> str:
    """The URL a probe asks (its challenge shown as ``<challenge>``), for messages."""
    return server_proof.proof_url(api_url, "<challenge>") if key else api_url


async def probe(
    url: str,
    timeout: float,
    ssl_context: ssl.SSLContext | None = None,
    key: str | None = None,
) -> ProbeResult:
    """Probe the server whose API is at ``url`` (``.../api``) once.

    With ``key`` (this start's server-check key) the server must answer a new challenge
    with the proof of that key; without it, any 200 with JSON holding a version passes.
    """
    from tornado.httpclient import HTTPClientError, HTTPRequest
    from tornado.simple_httpclient import SimpleAsyncHTTPClient

    challenge = server_proof.new_challenge() if key else ""
    if key:
        url = server_proof.proof_url(url, challenge)
    client = SimpleAsyncHTTPClient(force_instance=True, max_body_size=MAX_BODY)
    request = HTTPRequest(
        url,
        method="GET",
        headers={"Accept": "application/json"},
        follow_redirects=False,
        connect_timeout=timeout,
        request_timeout=timeout,
        ssl_options=ssl_context,
    )
    try:
        response = await client.fetch(request, raise_error=False)
    except ConnectionRefusedError:
        return ProbeResult(False, "nothing listens there (connection refused)")
    except HTTPClientError as e:  # tornado's timeouts (599) and stream errors
        if e.code == 599 and "Timeout" in str(e):
            return ProbeResult(False, f"no answer within {timeout:g} seconds")
        return ProbeResult(False, f"no answer ({e})")
    except (OSError, ssl.SSLError, ValueError) as e:
        return ProbeResult(False, f"no answer ({type(e).__name__}: {e})")
    finally:
        client.close()
    server = response.headers.get("Server", "")
    label = f"HTTP {response.code}" + (f" from {server!r}" if server else "")
    if response.code != 200:
        location = response.headers.get("Location")
        where = f", redirecting to {location}" if location else ""
        what = "the server this spawn started" if key else "a Jupyter server"
        return ProbeResult(False, f"something answered {label}{where}, not {what}")
    try:
        data = json.loads(response.body or b"null")
    except ValueError:
        return ProbeResult(False, f"something answered {label} that is not JSON")
    if not isinstance(data, dict) or "version" not in data:
        return ProbeResult(False, f"something answered {label} with JSON without a version")
    version = str(data["version"])[:40]
    if not key:
        return ProbeResult(True, f"a Jupyter server (version {version}) answered")
    if "proof" not in data:
        return ProbeResult(
            False,
            f"something answered {label} with a version ({version!r}) but no proof that it "
            "is the server this spawn started, so it was not trusted",
            unproven=True,
        )
    if not server_proof.verify(key, challenge, data["proof"]):
        return ProbeResult(
            False,
            f"something answered {label} with a wrong proof: it is not the server this "
            "spawn started, so it was not trusted",
            unproven=True,
        )
    return ProbeResult(True, f"this spawn's server (version {version}) answered")
