"""The server watch in JobSpawner's lifecycle on the local backend (no hub): opened when a
start succeeds and by a poll that finds none, ended by stop, a job's end, a new start and a
dropped spawner; a lost server makes poll report the end, with words for the user."""

from __future__ import annotations

import asyncio
import gc
import os
import signal
from pathlib import Path

from harness.fake_jupyter import fake_server, jupyter_api, spawn_server
from jobspawner.lifecycle import server_watch
from jobspawner.lifecycle.job_session import JobSession
from jobspawner.lifecycle.server_watch import ServerWatch
from jupyterhub.objects import Server

from core.test_spawner_unit import make_spawner


async def started(spawner, server) -> str:
    start = asyncio.ensure_future(spawner.start())
    for _ in range(200):
        if spawner.awaiting_port() and spawner.job_id:
            break
        await asyncio.sleep(0.05)
    spawner.port_reported("127.0.0.1", server.port)
    return await asyncio.wait_for(start, 20)


async def until(condition, timeout: float = 10.0) -> bool:
    for _ in range(int(timeout / 0.05)):
        if condition():
            return True
        await asyncio.sleep(0.05)
    return bool(condition())


async def test_a_succeeded_start_opens_the_watch_and_stop_ends_it(tmp_path):
    spawner = make_spawner(tmp_path, cmd=["sleep", "300"])
    async with fake_server(spawn_server("/user/root/", spawner)) as server:
        await started(spawner, server)
        watch = server_watch.watch_of(spawner)
        assert watch is not None and (watch.host, watch.port) == ("127.0.0.1", server.port)
        assert await until(lambda: watch.connections == 1)
        # a poll that finds the watch alive opens no other
        assert await spawner.poll() is None and server_watch.watch_of(spawner) is watch
        # a restarted hub's spawner has no watch: its first poll opens one at the routed
        # address JupyterHub stored
        server_watch.stop_watch(spawner)
        assert not watch.active
        spawner.server = Server(ip="127.0.0.1", port=server.port)
        assert await spawner.poll() is None
        again = server_watch.watch_of(spawner)
        assert again is not None and again is not watch and again.active
        await spawner.stop()
        assert server_watch.watch_of(spawner) is None and not again.active
        assert again not in server_watch.REGISTRY.watches


async def test_the_jobs_end_and_a_new_start_end_the_watch(tmp_path):
    spawner = make_spawner(tmp_path, cmd=["sleep", "300"])
    async with fake_server(spawn_server("/user/root/", spawner)) as server:
        await started(spawner, server)
        watch = server_watch.watch_of(spawner)
        os.killpg(int(spawner.job_id.split("-")[0]), signal.SIGKILL)
        for _ in range(100):
            if await spawner.poll() is not None:
                break
            await asyncio.sleep(0.1)
        assert not watch.active and server_watch.watch_of(spawner) is None
        await spawner.stop()
        old = server_watch.start_watch(spawner, "127.0.0.1", server.port)
        assert old is not None and old.active
        start = asyncio.ensure_future(spawner.start())
        assert await until(lambda: not old.active, timeout=2)
        start.cancel()
        await asyncio.gather(start, return_exceptions=True)
        await spawner.stop()


async def test_a_dropped_spawner_ends_its_watch(tmp_path):
    spawner = make_spawner(tmp_path)
    async with fake_server(jupyter_api("/user/root/")) as server:
        spawner.job_id = "1"
        watch = server_watch.start_watch(spawner, "127.0.0.1", server.port)
        assert watch is not None and await until(lambda: watch.connections == 1)
        del spawner
        gc.collect()
        assert await until(lambda: not watch.active, timeout=2)
        assert watch not in server_watch.REGISTRY.watches


async def test_watch_server_false_opens_none(tmp_path):
    spawner = make_spawner(tmp_path, watch_server=False)
    async with fake_server(jupyter_api("/user/root/")) as server:
        assert server_watch.start_watch(spawner, "127.0.0.1", server.port) is None
        spawner.server = Server(ip="127.0.0.1", port=server.port)
        server_watch.ensure_watch(spawner)
        assert server_watch.watch_of(spawner) is None


async def test_a_lost_server_is_reported_ended_while_its_job_runs(tmp_path):
    spawner = make_spawner(tmp_path, cmd=["sleep", "300"], lost_server_timeout=0.5)
    async with fake_server(spawn_server("/user/root/", spawner)) as server:
        await started(spawner, server)
        job_id = spawner.job_id
    # the server is gone, its job (sleep) runs on: unreachable, then lost
    spawner.server = Server(ip="127.0.0.1", port=server.port)
    watch = server_watch.watch_of(spawner)
    assert isinstance(watch, ServerWatch)
    assert await until(watch.lost, timeout=5)
    assert await spawner.poll() == 1
    words = spawner.record.last_end["words"]
    assert words.startswith("its server on 127.0.0.1 stopped answering for ")
    assert f"while batch job {job_id} was still running; the job was cancelled." in words
    # the job is cancelled by the poll that found it lost (the lost event's, or this one):
    # JupyterHub calls stop() only for a server whose poll says it still runs
    assert await until(lambda: spawner.job_id == "")
    assert not watch.active and not spawner.unconfirmed_cancels
    assert await spawner.poll() == 0
    assert await until(lambda: gone(int(job_id.split("-")[0])))


def gone(pid: int) -> bool:
    """The job's process has ended (or awaits reaping)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    except FileNotFoundError:
        return True


async def test_two_polls_that_find_a_server_lost_together_cancel_its_job_once(
    tmp_path, monkeypatch
):
    spawner = make_spawner(tmp_path, cmd=["sleep", "300"], lost_server_timeout=0.5)
    async with fake_server(spawn_server("/user/root/", spawner)) as server:
        await started(spawner, server)
    # the fresh question a poll asks before it declares the server lost waits until two polls
    # ask it (as when both wait for the same round), and every cancel is counted: the
    # watch's own poll (its lost event) included
    poller = spawner.poller()
    ask = poller.status
    asking: list[str] = []
    together = asyncio.Event()

    async def asked_together(job_id, max_age=0.0):
        if max_age == spawner.startup_poll_interval:  # server_watch.poll_running's question
            asking.append(job_id)
            if len(asking) >= 2:
                together.set()
            await asyncio.wait_for(together.wait(), 5)
        return await ask(job_id, max_age=max_age)

    poller.status = asked_together
    cancels = []
    cancel = JobSession.cancel

    async def counted(session, job_id, ctx=None):
        cancels.append(job_id)
        await cancel(session, job_id, ctx)

    monkeypatch.setattr(JobSession, "cancel", counted)
    spawner.server = Server(ip="127.0.0.1", port=server.port)
    watch = server_watch.watch_of(spawner)
    assert isinstance(watch, ServerWatch)
    try:
        assert await until(watch.lost, timeout=5)
        assert await asyncio.gather(spawner.poll(), spawner.poll()) == [1, 1]
        assert await until(lambda: spawner.job_id == "")
    finally:
        del poller.status
    assert together.is_set() and len(cancels) == 1, cancels
