"""The server watch against real TCP listeners: what ends a watch, what only re-opens it."""

from __future__ import annotations

import asyncio
import logging
import resource
import socket
import time

import pytest
from jobspawner.lifecycle import server_watch, watch_registry
from jobspawner.lifecycle.server_watch import Events, Keepalive, Registry, ServerWatch


class Listener:
    """A TCP server in the test's loop that accepts and holds connections; ``close_after``
    closes each connection that many seconds after accepting it (None: never)."""

    def __init__(self, close_after: float | None = None, send: bytes = b"") -> None:
        self.close_after = close_after
        self.send = send
        self.accepted = 0
        self.writers: list[asyncio.StreamWriter] = []
        self.ended = asyncio.Event()  # a client closed its end
        self.server: asyncio.base_events.Server | None = None
        self.port = 0

    async def start(self, port: int = 0) -> Listener:
        self.server = await asyncio.start_server(self._accept, "127.0.0.1", port)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        self.writers.append(writer)
        if self.send:
            writer.write(self.send)
        if self.close_after is not None:
            await asyncio.sleep(self.close_after)
            writer.close()
            return
        if not await reader.read(1):
            self.ended.set()

    async def go_away(self) -> None:
        """The process dies: the listener and every connection close."""
        assert self.server is not None
        self.server.close()
        for writer in self.writers:
            writer.close()
        await self.server.wait_closed()


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, float]] = []

    def events(self) -> Events:
        return Events(
            gone=lambda: self.calls.append(("gone", time.monotonic())),
            unreachable=lambda: self.calls.append(("unreachable", time.monotonic())),
            lost=lambda: self.calls.append(("lost", time.monotonic())),
        )

    def count(self, kind: str) -> int:
        return sum(1 for k, _ in self.calls if k == kind)


async def until(condition, timeout: float = 5.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return True
        await asyncio.sleep(0.02)
    return bool(condition())


def new_watch(port: int, rec: Recorder, registry: Registry, lost: float = 10.0) -> ServerWatch:
    watch = ServerWatch("127.0.0.1", port, rec.events(), lost, registry=registry,
                        connect_timeout=0.5)  # fmt: skip
    assert watch.start()
    return watch


@pytest.fixture
def registry() -> Registry:
    return Registry(limit=10_000, reserve=0)


async def test_a_server_that_goes_away_hints_the_jobs_end(registry):
    listener = await Listener().start()
    rec = Recorder()
    watch = new_watch(listener.port, rec, registry)
    assert await until(lambda: listener.accepted == 1)
    await asyncio.sleep(0.2)
    assert rec.calls == []  # an idle server costs nothing and tells nothing
    began = time.monotonic()
    await listener.go_away()
    assert await until(lambda: rec.count("gone") == 1, timeout=3), rec.calls
    assert rec.calls[0][1] - began < 1.0, "the hint should follow the close at once"
    assert watch.unreachable_since is not None
    watch.close()


async def test_an_idle_connection_closed_by_a_live_server_is_reopened_without_a_hint(
    registry, monkeypatch
):
    monkeypatch.setattr(server_watch, "QUICK_CLOSE", 0.2)
    listener = await Listener(close_after=0.5).start()
    rec = Recorder()
    watch = new_watch(listener.port, rec, registry)
    assert await until(lambda: listener.accepted >= 3, timeout=4)
    assert rec.calls == [] and watch.hints == 0 and watch.backoff == 0
    assert watch.unreachable_since is None
    watch.close()


async def test_a_server_that_closes_at_once_cannot_make_the_hub_spin(registry, monkeypatch):
    monkeypatch.setattr(server_watch, "MAX_BACKOFF", 2.0)
    listener = await Listener(close_after=0.0).start()
    rec = Recorder()
    watch = new_watch(listener.port, rec, registry)
    await asyncio.sleep(3.5)
    # pauses of 1 s, then 2 s (the cap): a spinning watch would have made hundreds
    assert 2 <= listener.accepted <= 6, listener.accepted
    assert watch.backoff == 2.0
    assert rec.count("gone") == 1  # one hint per HINT_EVERY, not one per close
    watch.close()


async def test_stop_ends_the_watch_and_its_connection(registry):
    listener = await Listener().start()
    watch = new_watch(listener.port, Recorder(), registry)
    assert await until(lambda: listener.accepted == 1)
    assert watch.active and watch in registry.watches
    watch.close()
    await asyncio.wait_for(listener.ended.wait(), 2)  # the server sees the connection end
    assert not watch.active and watch not in registry.watches
    await asyncio.sleep(0.3)
    assert listener.accepted == 1


async def test_unreachable_for_the_lost_timeout_is_lost_and_zero_never_is(registry):
    listener = await Listener().start()
    rec, rec0 = Recorder(), Recorder()
    watch = new_watch(listener.port, rec, registry, lost=0.6)
    never = new_watch(listener.port, rec0, registry, lost=0.0)
    assert await until(lambda: listener.accepted == 2)
    await listener.go_away()
    assert await until(lambda: rec.count("lost") == 1, timeout=4), rec.calls
    kinds = [k for k, _ in rec.calls]
    assert kinds.index("gone") < kinds.index("lost") and kinds.count("unreachable") == 1
    took = rec.calls[-1][1] - dict(rec.calls)["unreachable"]
    assert 0.55 <= took <= 1.6, took
    assert watch.lost() and watch.unreachable_for() >= 0.6
    assert rec0.count("gone") == 1 and rec0.count("lost") == 0 and not never.lost()
    # the server comes back on the same port: reachable, no longer lost
    back = await Listener().start(listener.port)
    assert await until(lambda: watch.unreachable_since is None, timeout=4)
    assert not watch.lost() and back.accepted >= 1
    watch.close()
    never.close()


async def test_most_watches_unreachable_at_once_is_a_hub_fault_and_stops_nobody(registry, caplog):
    listeners = [await Listener().start() for _ in range(4)]
    recs = [Recorder() for _ in listeners]
    watches = [
        new_watch(li.port, r, registry, lost=0.4) for li, r in zip(listeners, recs, strict=True)
    ]
    assert await until(lambda: all(li.accepted == 1 for li in listeners))
    with caplog.at_level(logging.ERROR, logger="jobspawner.lifecycle.server_watch"):
        for li in listeners[:3]:
            await li.go_away()
        await asyncio.sleep(1.5)
    # the first two hurried the rounds; from the third on it is the hub's fault: no more
    # hints (a thousand at once would hurry the rounds for nothing)
    assert sum(r.count("unreachable") for r in recs[:3]) == 2, [r.calls for r in recs]
    assert sum(r.count("gone") for r in recs[:3]) == 2, [r.calls for r in recs]
    assert not any(r.count("lost") for r in recs), "a hub-side fault must stop nobody"
    assert not any(w.lost() for w in watches)
    errors = [r for r in caplog.records if "3 of the 4" in r.getMessage()]
    assert len(errors) == 1 and "hub's side" in errors[0].getMessage()
    # two come back: 1 of 4 unreachable is that server's own fault again
    for li in listeners[1:3]:
        await Listener().start(li.port)
    assert await until(lambda: recs[0].count("lost") == 1, timeout=8)  # retries slow down
    assert recs[1].count("lost") == 0 and recs[2].count("lost") == 0
    for w in watches:
        w.close()


async def test_watches_stay_within_the_fd_budget(caplog):
    registry = Registry(limit=100, reserve=98)
    listener = await Listener().start()
    first = new_watch(listener.port, Recorder(), registry)
    second = new_watch(listener.port, Recorder(), registry)
    with caplog.at_level(logging.ERROR, logger="jobspawner.lifecycle.server_watch"):
        extra = [ServerWatch("127.0.0.1", listener.port, Recorder().events(), 10,
                             registry=registry) for _ in range(3)]  # fmt: skip
        assert [w.start() for w in extra] == [False, False, False]
    assert len([r for r in caplog.records if "file-descriptor" in r.getMessage()]) == 1
    assert await until(lambda: listener.accepted == 2)
    assert len(registry.watches) == 2
    first.close()
    assert extra[0].start()  # a freed slot is used again
    assert await until(lambda: listener.accepted == 3)
    second.close()
    extra[0].close()


def test_the_soft_fd_limit_is_raised_towards_the_hard_one():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    lowered = min(soft, 512)
    resource.setrlimit(resource.RLIMIT_NOFILE, (lowered, hard))
    try:
        got = watch_registry.raise_fd_limit()
        now_soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
        want = min(hard, 1 << 20) if hard != resource.RLIM_INFINITY else 1 << 20
        assert got == now_soft == want
        assert Registry().budget() == want - max(256, want // 4)
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


async def test_what_the_job_sends_is_read_bounded_and_never_kept(registry, monkeypatch):
    monkeypatch.setattr(server_watch, "QUICK_CLOSE", 0.0)
    listener = await Listener(send=b"x" * (server_watch.MAX_READ * 4)).start()
    rec = Recorder()
    watch = new_watch(listener.port, rec, registry)
    # more than MAX_READ bytes: the watch closes that connection and opens another
    assert await until(lambda: listener.accepted >= 2, timeout=3)
    assert rec.calls == [] and watch.unreachable_since is None
    watch.close()


def test_keepalive_follows_the_lost_timeout():
    assert Keepalive.for_timeout(10) == Keepalive(idle=2, interval=1, count=3)
    assert Keepalive.for_timeout(60) == Keepalive(idle=12, interval=6, count=3)
    assert Keepalive.for_timeout(0) == Keepalive.for_timeout(10)
    with socket.socket() as sock:
        Keepalive.for_timeout(30).apply(sock)
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE) == 6
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL) == 3
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT) == 3


def test_the_routed_address_comes_from_the_servers_url():
    assert server_watch.routed_address("http://10.1.2.3:8888") == ("10.1.2.3", 8888)
    assert server_watch.routed_address("https://node1.example.org") == ("node1.example.org", 443)
    assert server_watch.routed_address("http://[fd00::1]:9000") == ("fd00::1", 9000)
    assert server_watch.routed_address("not a url") is None
