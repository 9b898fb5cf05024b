"""The routing policy: which hosts a route may point at, the allow-list, the server URL."""

from __future__ import annotations

import ipaddress
import re

import pytest
from jobspawner.lifecycle.handshake import PortReportError, parse_report, valid_host
from jobspawner.transport.routing import (
    HostAllowList,
    RouteRefused,
    check_never_routable,
    check_reported_host,
    check_resolved,
    never_routable,
    server_url,
)


@pytest.mark.parametrize(
    ("host", "words"),
    [
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("169.254.169.254", "metadata"),
        ("fd00:ec2::254", "metadata"),
        ("169.254.1.2", "link-local"),
        ("fe80::1", "link-local"),
        ("::ffff:169.254.169.254", "metadata"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("255.255.255.255", "broadcast"),
    ],
)
def test_some_addresses_are_never_a_route(host, words):
    assert words in (never_routable(ipaddress.ip_address(host)) or "")
    with pytest.raises(RouteRefused) as e:
        check_never_routable(host, "the scheduler gave")
    assert host in str(e.value) and words in str(e.value)


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "10.1.2.3", "node01", "fd00::2"])
def test_ordinary_hosts_may_be_a_route(host):
    check_never_routable(host, "the scheduler gave")  # no exception


def test_allow_list_networks_and_patterns_match_in_full():
    allowed = HostAllowList.parse(["10.1.0.0/16", "fd00:1::/64", "node*.cluster.example.org"])
    assert allowed.allows("10.1.200.3") and allowed.allows("fd00:1::5")
    assert not allowed.allows("10.2.0.1") and not allowed.allows("127.0.0.1")
    assert allowed.allows("node17.cluster.example.org") and allowed.allows(
        "NODE1.Cluster.Example.ORG."
    )
    # '*' stays within one label; the whole name must match
    assert not allowed.allows("node1.evil.cluster.example.org")
    assert not allowed.allows("node1.cluster.example.org.evil.com")
    assert not allowed.allows("xnode1.cluster.example.org")
    assert not allowed.allows("node1.cluster.example.org\n")
    # an address matches only networks, never a name pattern
    assert not HostAllowList.parse(["*"]).allows("127.0.0.1")


@pytest.mark.parametrize("entry", ["10.1.0.1/16", "300.1.0.0/16", "a b", "node/x", "", "x\n"])
def test_a_bad_allow_list_entry_names_the_trait_and_the_entry(entry):
    with pytest.raises(ValueError) as e:
        HostAllowList.parse([entry])
    assert "c.JobSpawner.server_hosts_allowed" in str(e.value)


def test_a_reported_host_needs_the_allow_list():
    for host in ["127.0.0.1", "node01"]:
        with pytest.raises(RouteRefused) as e:
            check_reported_host(host, HostAllowList.parse([]))
        assert host in str(e.value) and "c.JobSpawner.server_hosts_allowed" in str(e.value)
    allowed = HostAllowList.parse(["10.0.0.0/8", "169.254.0.0/16", "0.0.0.0/0"])
    check_reported_host("10.3.4.5", allowed)
    with pytest.raises(RouteRefused, match=r"not in c\.JobSpawner\.server_hosts_allowed"):
        check_reported_host("node01", allowed)
    # never, even when the admin's networks hold them
    for host in ["169.254.169.254", "0.0.0.0", "224.0.0.1"]:
        with pytest.raises(RouteRefused, match=re.escape(host)):
            check_reported_host(host, allowed)


def test_a_reported_name_may_not_resolve_to_loopback_or_link_local():
    loopback = [ipaddress.ip_address("127.0.0.1")]
    with pytest.raises(RouteRefused, match="loopback"):
        check_resolved("localhost", loopback, HostAllowList.parse(["*"]))
    check_resolved("localhost", loopback, HostAllowList.parse(["*", "127.0.0.0/8"]))
    check_resolved("localhost", loopback, None)  # the scheduler's host (local backend)
    with pytest.raises(RouteRefused, match="metadata"):
        check_resolved("metadata.internal", [ipaddress.ip_address("169.254.169.254")], None)


def test_ipv6_literals_are_bracketed_in_the_server_url():
    assert server_url("::1", 8888) == "http://[::1]:8888"
    assert server_url("fd00:0:0::2", 1, "https") == "https://[fd00::2]:1"
    assert server_url("127.0.0.1", 8888) == "http://127.0.0.1:8888"
    assert server_url("node01.cluster", 40000) == "http://node01.cluster:40000"


def test_a_reported_host_with_a_line_terminator_is_not_a_host():
    assert not valid_host("node01\n") and not valid_host("node01\r") and not valid_host("a/b")
    with pytest.raises(PortReportError):
        parse_report(b'{"host": "node01\\n", "port": 80}')
