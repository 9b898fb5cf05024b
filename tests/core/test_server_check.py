"""The port report decides the port only; start() returns once this spawn's own server
answers there, proving that it holds the key the start gave its job.

JobSpawner on the local backend without a hub; the "servers" are tiny HTTP servers
(harness.fake_jupyter), the job is a real local job. A server that "the job started" reads the
key from the job's secrets file, as jobspawner-singleuser does.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from harness.fake_jupyter import (
    closed_port,
    fake_server,
    jupyter_api,
    silent_server,
    spawn_key,
    spawn_server,
)
from jobspawner.facade.hub_compat import SpawnException
from jobspawner.jobside import server_proof
from jobspawner.lifecycle import server_check
from jobspawner.transport.routing import RouteRefused

from .site_plugins import route_hosts
from .test_spawner_unit import make_spawner

PREFIX = "/user/root/"
PROOF = "/user/root/api/jobspawner/proof"
#: A service that answers like a Jupyter server's API root on every path (issue #19, item 8).
ROGUE = (200, {"version": "5.0"})
PLUGIN = "core.site_plugins.route_hosts"


@pytest.fixture(autouse=True)
def _reset_plugin():
    route_hosts.STATE.update(host=None, withheld=0)
    yield
    route_hosts.STATE.update(host=None, withheld=0)


async def _submitted(spawner, start):
    for _ in range(200):
        if spawner.awaiting_port() and spawner.job_id:
            return spawner.job_id
        if start.done():
            await start
        await asyncio.sleep(0.02)
    raise AssertionError("no job submitted")


async def _job_finished(spawner, job_id, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (await spawner.poller().status(job_id)).state.finished:
            return True
        await asyncio.sleep(0.1)
    return False


async def test_the_reported_host_is_ignored_even_before_the_scheduler_knows_the_host(tmp_path):
    route_hosts.STATE["withheld"] = 5  # five running statuses without a host
    spawner = make_spawner(tmp_path, cmd=["sleep", "300"], plugins=[PLUGIN])
    async with fake_server(spawn_server(PREFIX, spawner)) as server:
        start = asyncio.ensure_future(spawner.start())
        await _submitted(spawner, start)
        spawner.port_reported("10.9.9.9", server.port)  # the job's word, before any host
        url = await asyncio.wait_for(start, 15)
    assert url == f"http://127.0.0.1:{server.port}"  # the scheduler's host, the job's port
    assert route_hosts.STATE["withheld"] == 0  # it waited for the scheduler to say
    assert server.seen and server.seen[-1] == PROOF
    await spawner.stop()


async def test_an_ipv6_host_is_bracketed_in_the_url(tmp_path):
    route_hosts.STATE["host"] = "::1"
    spawner = make_spawner(tmp_path, cmd=["sleep", "300"], plugins=[PLUGIN])
    async with fake_server(spawn_server(PREFIX, spawner), host="::1") as server:
        start = asyncio.ensure_future(spawner.start())
        await _submitted(spawner, start)
        spawner.port_reported("node01", server.port)
        url = await asyncio.wait_for(start, 15)
    assert url == f"http://[::1]:{server.port}"
    await spawner.stop()


@pytest.mark.parametrize(
    ("answers", "words"),
    [
        ({"/hub/api": (200, {"version": "6.0"})}, "HTTP 404"),  # the hub's API, another path
        (jupyter_api("/user/bob/"), "HTTP 404"),  # another user's server
        (jupyter_api(PREFIX), "HTTP 404"),  # a Jupyter server that is not jobspawner's
        ({PROOF: (302, b"")}, "HTTP 302"),  # the hub's user redirect
        ({PROOF: (200, b"<html>")}, "not JSON"),
        ({PROOF: (200, {"name": "x"})}, "without a version"),
    ],
)
async def test_a_port_without_this_servers_jupyter_fails_the_spawn_and_cancels(
    tmp_path, answers, words
):
    spawner = make_spawner(tmp_path, cmd=["sleep", "300"], server_check_timeout=1.5)
    async with fake_server(answers) as server:
        start = asyncio.ensure_future(spawner.start())
        job_id = await _submitted(spawner, start)
        spawner.port_reported("127.0.0.1", server.port)
        with pytest.raises(SpawnException) as e:
            await asyncio.wait_for(start, 15)
    message = e.value.log_message
    assert f"127.0.0.1:{server.port}" in message and words in message, message
    assert "c.JobSpawner.server_check_timeout" in message
    await spawner.stop()  # as JupyterHub does after a failed start: waits for the cancel
    assert await _job_finished(spawner, job_id), "the job was not cancelled"


async def test_a_closed_port_fails_the_spawn_saying_nothing_listens(tmp_path):
    spawner = make_spawner(tmp_path, cmd=["sleep", "300"], server_check_timeout=1.0)
    start = asyncio.ensure_future(spawner.start())
    await _submitted(spawner, start)
    port = closed_port()
    spawner.port_reported("127.0.0.1", port)
    with pytest.raises(SpawnException) as e:
        await asyncio.wait_for(start, 15)
    assert f"127.0.0.1:{port}" in e.value.log_message
    assert "connection refused" in e.value.log_message
    await spawner.stop()


async def test_a_server_that_dies_after_reporting_fails_within_a_round(tmp_path):
    cmd = ["bash", "-c", "sleep 0.5; echo 'server: fatal error' >&2; exit 5"]
    spawner = make_spawner(tmp_path, cmd=cmd)
    start = asyncio.ensure_future(spawner.start())
    await _submitted(spawner, start)
    spawner.port_reported("127.0.0.1", closed_port())
    began = time.monotonic()
    with pytest.raises(SpawnException) as e:
        await asyncio.wait_for(start, 15)
    assert time.monotonic() - began < 3
    assert "exit code 5" in e.value.log_message and "server: fatal error" in e.value.log_message
    assert spawner.job_id == ""


@pytest.mark.parametrize(
    ("allowed", "host", "words"),
    [
        ([], "127.0.0.1", "c.JobSpawner.server_hosts_allowed"),
        ([], "node01", "c.JobSpawner.server_hosts_allowed"),
        (["169.254.0.0/16"], "169.254.169.254", "metadata"),
        (["0.0.0.0/0"], "0.0.0.0", "unspecified"),
        (["10.0.0.0/8"], "127.0.0.1", "not in c.JobSpawner.server_hosts_allowed"),
    ],
)
async def test_server_host_source_refuses_hosts_outside_the_allow_list(
    tmp_path, allowed, host, words
):
    spawner = make_spawner(
        tmp_path, cmd=["sleep", "300"], host_source="server", server_hosts_allowed=allowed
    )
    start = asyncio.ensure_future(spawner.start())
    job_id = await _submitted(spawner, start)
    with pytest.raises(RouteRefused) as refused:
        spawner.port_reported(host, 8888)
    assert host in str(refused.value) and words in str(refused.value)
    with pytest.raises(SpawnException) as e:
        await asyncio.wait_for(start, 15)
    assert host in e.value.log_message and words in e.value.log_message
    await spawner.stop()
    assert await _job_finished(spawner, job_id)


async def test_server_host_source_uses_an_allowed_reported_host(tmp_path):
    spawner = make_spawner(
        tmp_path, cmd=["sleep", "300"], host_source="server", server_hosts_allowed=["::1/128"]
    )
    async with fake_server(spawn_server(PREFIX, spawner), host="::1") as server:
        start = asyncio.ensure_future(spawner.start())
        await _submitted(spawner, start)
        spawner.port_reported("::1", server.port)
        assert await asyncio.wait_for(start, 15) == f"http://[::1]:{server.port}"
    await spawner.stop()


async def test_a_bad_allow_list_fails_before_a_job_is_submitted(tmp_path):
    spawner = make_spawner(tmp_path, host_source="server", server_hosts_allowed=["10.0.0.1/8"])
    with pytest.raises(SpawnException) as e:
        await spawner.start()
    assert "c.JobSpawner.server_hosts_allowed" in e.value.log_message and "10.0.0.1/8" in (
        e.value.log_message
    )
    assert spawner.job_id == ""


@pytest.mark.parametrize("host", ["169.254.169.254", "0.0.0.0", "fe80::1"])
async def test_a_scheduler_host_no_route_may_point_at_fails_the_spawn(tmp_path, host):
    route_hosts.STATE["host"] = host
    spawner = make_spawner(tmp_path, cmd=["sleep", "300"], plugins=[PLUGIN])
    start = asyncio.ensure_future(spawner.start())
    await _submitted(spawner, start)
    spawner.port_reported("127.0.0.1", 8888)
    with pytest.raises(SpawnException) as e:
        await asyncio.wait_for(start, 15)
    assert f"the host {host} the scheduler gave" in e.value.log_message
    assert "get_host" in e.value.log_message
    await spawner.stop()


async def test_probe_tells_what_answered():
    async with fake_server(jupyter_api(PREFIX)) as server:
        base = f"http://127.0.0.1:{server.port}"
        assert (await server_check.probe(f"{base}/user/root/api", 2)).ok
        result = await server_check.probe(f"{base}/user/bob/api", 2)
        assert not result.ok and "HTTP 404" in result.detail
    async with silent_server() as port:
        result = await server_check.probe(f"http://127.0.0.1:{port}/user/root/api", 0.5)
        assert not result.ok and "no answer within 0.5 seconds" in result.detail


# --- only the server this start launched passes (issue #19, item 8) -------------------------


async def test_a_rogue_answering_a_version_on_every_path_is_refused_at_once(tmp_path):
    spawner = make_spawner(tmp_path, cmd=["sleep", "300"], server_check_timeout=20)
    async with fake_server({}, otherwise=ROGUE) as server:
        start = asyncio.ensure_future(spawner.start())
        job_id = await _submitted(spawner, start)
        began = time.monotonic()
        spawner.port_reported("127.0.0.1", server.port)
        with pytest.raises(SpawnException) as e:
            await asyncio.wait_for(start, 15)
    assert time.monotonic() - began < 5  # refused, not retried until the check's time limit
    message = e.value.log_message
    assert f"127.0.0.1:{server.port}" in message and "no proof" in message, message
    assert "nothing was routed there" in message and "jobspawner-singleuser" in message
    assert "c.JobSpawner.require_server_proof" in message
    assert e.value.reason == "server_check"
    await spawner.stop()
    assert await _job_finished(spawner, job_id), "the job was not cancelled"


async def test_a_server_with_another_starts_key_is_refused(tmp_path):
    """A server of an earlier start of the same user (its key is not this start's)."""
    spawner = make_spawner(tmp_path, cmd=["sleep", "300"])
    old_key = server_proof.new_key()
    async with fake_server(jupyter_api(PREFIX, key=lambda: old_key)) as server:
        start = asyncio.ensure_future(spawner.start())
        await _submitted(spawner, start)
        spawner.port_reported("127.0.0.1", server.port)
        with pytest.raises(SpawnException) as e:
            await asyncio.wait_for(start, 15)
    assert "wrong proof" in e.value.log_message, e.value.log_message
    await spawner.stop()


async def test_each_start_has_a_new_key_in_its_secrets_file_only(tmp_path):
    spawner = make_spawner(tmp_path, cmd=["sleep", "300"])
    scripts: list[str] = []
    prepare = spawner.prepare_job

    def prepare_job():  # the script each start submits
        job = prepare()
        scripts.append(job.script)
        return job

    spawner.prepare_job = prepare_job
    keys = []
    for _ in range(2):
        async with fake_server(spawn_server(PREFIX, spawner)) as server:
            start = asyncio.ensure_future(spawner.start())
            await _submitted(spawner, start)
            keys.append(spawn_key(spawner)())
            spawner.port_reported("127.0.0.1", server.port)
            await asyncio.wait_for(start, 15)
        assert keys[-1] not in scripts[-1] and "JOBSPAWNER_SECRETS_FILE" in scripts[-1]
        await spawner.stop()
    assert keys[0] != keys[1] and all(server_proof.valid_key(k) for k in keys)


async def test_require_server_proof_false_keeps_the_version_check(tmp_path):
    """The admin's explicit choice for a custom server command that cannot answer the
    proof: any JSON with a version under the prefix passes, as before (the risk is in the
    setting's help and docs/security.md); no key is made or written."""
    spawner = make_spawner(tmp_path, cmd=["sleep", "300"], require_server_proof=False)
    async with fake_server({}, otherwise=ROGUE) as server:
        start = asyncio.ensure_future(spawner.start())
        await _submitted(spawner, start)
        spawner.port_reported("127.0.0.1", server.port)
        assert await asyncio.wait_for(start, 15) == f"http://127.0.0.1:{server.port}"
    assert server.seen[-1] == "/user/root/api"
    assert server_proof.KEY_NAME not in spawner.build_spec().secrets
    await spawner.stop()


async def test_probe_with_a_key_wants_the_proof_of_a_new_challenge():
    key = server_proof.new_key()
    async with fake_server(jupyter_api(PREFIX, key=lambda: key)) as server:
        api = f"http://127.0.0.1:{server.port}/user/root/api"
        result = await server_check.probe(api, 2, key=key)
        assert result.ok and not result.unproven, result.detail
        other = await server_check.probe(api, 2, key=server_proof.new_key())
        assert not other.ok and other.unproven and "wrong proof" in other.detail
    assert set(server.seen) == {PROOF}
    challenges = [uri.split("challenge=", 1)[1] for uri in server.uris]
    assert len(set(challenges)) == 2 and all(server_proof.valid_challenge(c) for c in challenges)
    async with fake_server({}, otherwise=ROGUE) as rogue:
        api = f"http://127.0.0.1:{rogue.port}/user/root/api"
        refused = await server_check.probe(api, 2, key=key)
        assert not refused.ok and refused.unproven and "no proof" in refused.detail
        assert (await server_check.probe(api, 2)).ok  # the version-only check passes it
