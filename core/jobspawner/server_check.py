"""Is the server at host:port this spawn's Jupyter server? One probe of its API root.

Before ``start()`` returns its URL, the hub asks ``GET {url}{prefix}api`` without a token:
a Jupyter server whose base URL is this server's prefix answers 200 with JSON that holds
``"version"``. The hub's own API, another user's server (another prefix), a random port or
nothing at all do not. The probe follows no redirect and reads a small body only.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import socket
import ssl
from dataclasses import dataclass

from .routing import HostAllowList, IPAddress, check_resolved, ip_literal

MAX_BODY = 64 * 1024


@dataclass(frozen=True)
class ProbeResult:
    """What one probe found: ``ok`` when a Jupyter server answered; ``detail`` in words."""

    ok: bool
    detail: str


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


async def probe(url: str, timeout: float, ssl_context: ssl.SSLContext | None = None) -> ProbeResult:
    """GET ``url`` (the server's ``.../api``) once; a Jupyter server answers 200 + version."""
    from tornado.httpclient import HTTPClientError, HTTPRequest
    from tornado.simple_httpclient import SimpleAsyncHTTPClient

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
        return ProbeResult(False, f"something answered {label}{where}, not a Jupyter server")
    try:
        data = json.loads(response.body or b"null")
    except ValueError:
        return ProbeResult(False, f"something answered {label} that is not JSON")
    if not isinstance(data, dict) or "version" not in data:
        return ProbeResult(False, f"something answered {label} with JSON without a version")
    return ProbeResult(True, f"a Jupyter server (version {data['version']}) answered")
