"""Where the proxy may point a user's route: the host policy and the server's URL.

The route's host is the job's own host as the scheduler says (the ``get_host`` hook); the
job only chooses its port. With ``c.JobSpawner.host_source = "server"`` the host the job
reports is used instead, but only when it is inside the admin's allow-list
(``c.JobSpawner.server_hosts_allowed``). Whatever the source, some addresses are never a
route's target: unspecified (``0.0.0.0``, ``::``), link-local (``169.254.0.0/16`` with the
cloud metadata address, ``fe80::/10``), multicast and broadcast addresses.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

ALLOW_TRAIT = "c.JobSpawner.server_hosts_allowed"

#: metadata services that are not link-local (AWS's IPv6 instance metadata address)
_METADATA = frozenset({ipaddress.ip_address("fd00:ec2::254")})
_BROADCAST = ipaddress.ip_address("255.255.255.255")
_PATTERN = re.compile(r"(?:\*\.)?[A-Za-z0-9*](?:[A-Za-z0-9*-]{0,62})(?:\.[A-Za-z0-9*-]{1,63})*")


class RouteRefused(ValueError):
    """A host may not be the target of a route; the message says which and why."""


def ip_literal(host: str) -> IPAddress | None:
    """The address ``host`` spells (IPv6 with or without brackets), or None for a name."""
    text = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def never_routable(address: IPAddress) -> str | None:
    """Why ``address`` can never be a route's target, or None when it may be."""
    mapped = getattr(address, "ipv4_mapped", None)
    if mapped is not None:  # ::ffff:169.254.169.254 is 169.254.169.254
        address = mapped
    if address.is_unspecified:
        return "an unspecified address (it means 'any', not a host)"
    if address in _METADATA or address == ipaddress.ip_address("169.254.169.254"):
        return "the cloud metadata address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_multicast:
        return "a multicast address"
    if address == _BROADCAST:
        return "the broadcast address"
    return None


def check_never_routable(host: str, source: str) -> None:
    """Raise :class:`RouteRefused` when ``host`` is an address no route may point at."""
    address = ip_literal(host)
    reason = never_routable(address) if address is not None else None
    if reason:
        raise RouteRefused(f"the host {host} {source} is {reason}; no route may point there")


@dataclass(frozen=True)
class HostAllowList:
    """The admin's allow-list of reported hosts: networks and host-name patterns.

    Networks are in CIDR form (``10.1.0.0/16``, ``fd00:1::/64``, a single address is a /32 or
    /128); patterns are host names where ``*`` stands for any run of letters, digits and
    hyphens within one label (``node*.cluster.example.org``, ``*.ib.example.org``).
    Names match case-insensitively and in full; an address matches only the networks.
    """

    networks: tuple[IPNetwork, ...] = ()
    patterns: tuple[re.Pattern[str], ...] = ()
    entries: tuple[str, ...] = ()

    @classmethod
    def parse(cls, entries: Iterable[str]) -> HostAllowList:
        """Parse the trait's entries; a bad entry raises :class:`ValueError` naming it."""
        networks: list[IPNetwork] = []
        patterns: list[re.Pattern[str]] = []
        kept: list[str] = []
        for entry in entries:
            if not isinstance(entry, str) or not entry:
                raise ValueError(f"{ALLOW_TRAIT}: {entry!r} is neither a network nor a name")
            text = entry
            kept.append(text)
            if re.fullmatch(r"[0-9A-Fa-f.:]+(?:/[0-9]{1,3})?", text) and (
                ":" in text or re.fullmatch(r"[0-9./]+", text)
            ):
                try:
                    networks.append(ipaddress.ip_network(text, strict=True))
                except ValueError as e:
                    raise ValueError(
                        f"{ALLOW_TRAIT}: {text!r} is not a network in CIDR form ({e})"
                    ) from None
                continue
            if not _PATTERN.fullmatch(text) or len(text) > 253:
                raise ValueError(
                    f"{ALLOW_TRAIT}: {text!r} is neither a network in CIDR form "
                    "(10.1.0.0/16) nor a host-name pattern (node*.cluster.example.org)"
                )
            label = "[A-Za-z0-9-]*"
            regex = r"\.".join(
                label.join(re.escape(part) for part in piece.split("*"))
                for piece in text.split(".")
            )
            patterns.append(re.compile(regex, re.IGNORECASE))
        return cls(tuple(networks), tuple(patterns), tuple(kept))

    def allows(self, host: str) -> bool:
        """True when ``host`` (an address or a name) is inside the allow-list."""
        address = ip_literal(host)
        if address is not None:
            return any(address in network for network in self.networks)
        name = host[:-1] if host.endswith(".") else host
        return any(pattern.fullmatch(name) for pattern in self.patterns)

    def allows_address(self, address: IPAddress) -> bool:
        """True when ``address`` is inside one of the allowed networks."""
        return any(address in network for network in self.networks)


def check_reported_host(host: str, allowed: HostAllowList) -> None:
    """Refuse a host a job reported (``host_source = "server"``) unless the admin allows it."""
    check_never_routable(host, "reported by the job")
    if not allowed.entries:
        raise RouteRefused(
            f"the host {host} reported by the job is refused: with "
            f'c.JobSpawner.host_source = "server" the admin must list the hosts jobs may '
            f"report in {ALLOW_TRAIT} (networks such as 10.1.0.0/16 or names such as "
            "node*.cluster.example.org)"
        )
    if not allowed.allows(host):
        raise RouteRefused(
            f"the host {host} reported by the job is not in {ALLOW_TRAIT} "
            f"({', '.join(allowed.entries)}); an admin can add it there"
        )


def check_resolved(
    host: str, addresses: Iterable[IPAddress], allowed: HostAllowList | None
) -> None:
    """Refuse a host name that resolves to an address no route may point at.

    ``allowed`` is the allow-list for a reported host (None for the scheduler's host): a
    reported name may resolve to a loopback address only when an allowed network holds it.
    """
    for address in addresses:
        reason = never_routable(address)
        loopback_refused = (
            allowed is not None and address.is_loopback and not allowed.allows_address(address)
        )
        if reason is None and loopback_refused:
            reason = f"a loopback address, which no network in {ALLOW_TRAIT} holds"
        if reason:
            raise RouteRefused(f"the host {host} resolves to {address}, {reason}")


def server_url(host: str, port: int, scheme: str = "http") -> str:
    """``scheme://host:port``, with an IPv6 literal in brackets (``http://[::1]:8888``)."""
    address = ip_literal(host)
    if isinstance(address, ipaddress.IPv6Address):
        return f"{scheme}://[{address.compressed}]:{port}"
    return f"{scheme}://{host}:{port}"
