"""JobSpawner without a hub: state, options, prefix safety, and the lifecycle on local."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import pytest
from harness.fake_jupyter import fake_server, spawn_server
from jobspawner.facade.hub_compat import SpawnException
from jobspawner.lifecycle.handshake import PortReportError, parse_report
from jobspawner.lifecycle.job_record import STATE_VERSION
from jobspawner.spawner import JobSpawner
from jupyterhub.objects import Hub


def make_spawner(tmp_path, name="", **config):
    user = SimpleNamespace(name=os.environ.get("USER_UNDER_TEST", "root"), url="/user/root/",
                           escaped_name="root", id=1)  # fmt: skip
    spawner = JobSpawner(
        user=user,
        hub=Hub(ip="127.0.0.1", port=8081, base_url="/hub/"),
        orm_spawner=SimpleNamespace(name=name, server=None, state=None) if name else None,
        api_token="secret-token",
        oauth_client_id="jupyterhub-user-root",
        log_dir=str(tmp_path / "logs"),
        workdir=str(tmp_path),
        backend_options={"python": sys.executable, "spool": str(tmp_path / "spool")},
        startup_poll_interval=0.1,
        **{"allow_root_jobs": True, **config},  # jobs of the user under test, as root
    )
    return spawner


async def progress_until(
    spawner: JobSpawner, wanted: Callable[[str], bool], timeout: float = 5.0
) -> list[str]:
    """The messages of the spawner's progress stream, read as JupyterHub's progress API
    reads it (a start's from its beginning), up to the first that ``wanted`` accepts, or
    until the stream ends (no start runs) or ``timeout`` seconds pass."""
    seen: list[str] = []

    async def read() -> None:
        async for event in spawner.progress():
            seen.append(event["message"])
            if wanted(event["message"]):
                return

    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(read(), timeout)
    return seen


def test_state_round_trip_with_version(tmp_path):
    spawner = make_spawner(tmp_path)
    spawner.job_id, spawner.job_output = "1234", "/home/x/out.log"
    spawner.unconfirmed_cancels = ["99"]
    state = spawner.get_state()
    assert state["version"] == STATE_VERSION and state["job_id"] == "1234"
    other = make_spawner(tmp_path)
    other.load_state(state)
    assert (other.job_id, other.job_output, other.unconfirmed_cancels) == (
        "1234", "/home/x/out.log", ["99"],
    )  # fmt: skip
    other.clear_state()
    assert other.job_id == "" and other.unconfirmed_cancels == ["99"]


def test_state_without_version_still_loads(tmp_path):
    spawner = make_spawner(tmp_path)
    spawner.load_state({"job_id": "77"})
    assert spawner.job_id == "77"


def test_user_options_are_validated_with_field_and_reason(tmp_path):
    spawner = make_spawner(tmp_path, user_options_allowed=["runtime", "memory"])
    spawner.backend, spawner.backend_options = "slurm", {}  # a backend that honours both
    apply = spawner.apply_user_options
    apply(spawner, {"runtime": "2h", "memory": "8G"})
    assert spawner.resources()["runtime_s"] == 7200 and spawner.resources()["memory_mb"] == 8192
    with pytest.raises(SpawnException) as e:
        apply(spawner, {"queue": "admin"})
    assert "'queue' cannot be chosen" in e.value.log_message
    with pytest.raises(SpawnException) as e:
        apply(spawner, {"memory": "lots"})
    assert e.value.log_message.startswith("Memory: 'lots' is not a memory size")


def test_config_resource_errors_name_the_trait(tmp_path):
    spawner = make_spawner(tmp_path, req_runtime="tomorrow")
    with pytest.raises(SpawnException) as e:
        spawner.build_spec()
    assert "req_runtime: 'tomorrow' is not a duration" in e.value.log_message


def test_exec_prefix_formats_username_and_refuses_option_like_names(tmp_path):
    spawner = make_spawner(tmp_path, exec_prefix="sudo -E -u {username}")
    assert spawner.command_prefix(spawner.exec_prefix) == ["sudo", "-E", "-u", "root"]
    spawner.user.name = "-oProxyCommand=x"
    with pytest.raises(SpawnException):
        spawner.command_prefix(spawner.exec_prefix)


def test_template_error_is_a_clear_spawn_error(tmp_path):
    spawner = make_spawner(tmp_path, batch_script="#!/bin/bash\n{{ no_such_var }}\n")
    with pytest.raises(SpawnException) as e:
        spawner.render(spawner.build_spec())
    assert "c.JobSpawner.batch_script" in e.value.log_message
    assert "line 2" in e.value.log_message and "no_such_var" in e.value.log_message


def test_named_server_job_name_and_output(tmp_path):
    spawner = make_spawner(tmp_path, name="gpu-1")
    spec = spawner.build_spec()
    assert spec.job_name == "jupyter-root-gpu-1"
    assert os.path.basename(spec.output_file).startswith("jupyter-root-gpu-1.")


def test_handshake_body_must_be_exactly_a_typed_host_and_port():
    assert parse_report(b'{"host": "node01.cluster", "port": 40123}') == ("node01.cluster", 40123)
    assert parse_report(b'{"host": "10.1.2.3", "port": 1}') == ("10.1.2.3", 1)
    for bad in [b'{"host": "n", "port": "80"}', b'{"host": "n", "port": true}',
                b'{"host": "n", "port": 0}', b'{"host": "n", "port": 80, "ip": "x"}',
                b'{"host": "n; rm", "port": 80}', b'{"port": 80}', b"[]", b"nope"]:  # fmt: skip
        with pytest.raises(PortReportError):
            parse_report(bad)


async def test_lifecycle_on_local(tmp_path):
    """start -> (port report) -> poll None -> stop -> poll 0; the job really runs and ends."""
    spawner = make_spawner(tmp_path, cmd=["sleep", "300"])
    start = asyncio.ensure_future(spawner.start())
    for _ in range(100):
        if spawner.awaiting_port() and spawner.job_id:
            break
        await asyncio.sleep(0.05)
    job_id = spawner.job_id
    assert job_id
    # until the poller has seen it running
    messages = await progress_until(spawner, lambda m: "running" in m)
    assert messages[0] == f"Submitted as local job {job_id}."
    assert "running" in messages[-1], messages
    # start() returns once a Jupyter server answers on the reported port under this prefix
    async with fake_server(spawn_server("/user/root/", spawner)) as server:
        spawner.port_reported("127.0.0.1", server.port)
        url = await asyncio.wait_for(start, 10)
    assert url == f"http://127.0.0.1:{server.port}"
    assert await spawner.poll() is None
    await spawner.stop()
    assert spawner.job_id == ""
    assert await spawner.poll() == 0
    pid = int(job_id.split("-")[0])
    stat = Path(f"/proc/{pid}/stat")
    assert not stat.exists() or stat.read_text().split()[2] == "Z"  # gone, or awaiting reaping


async def test_job_that_dies_fails_start_within_a_poll(tmp_path):
    spawner = make_spawner(tmp_path, cmd=["bash", "-c", "echo boom: bad config >&2; exit 7"])
    with pytest.raises(SpawnException) as e:
        await asyncio.wait_for(spawner.start(), 10)
    assert "exit code 7" in e.value.log_message and "boom: bad config" in e.value.log_message
    assert spawner.job_id == ""
    # the server never read its secrets file: the hub removed it
    assert not list((tmp_path / "logs").glob(".*.secrets"))


async def test_cancelled_start_cancels_the_job(tmp_path):
    spawner = make_spawner(tmp_path, cmd=["sleep", "300"])
    start = asyncio.ensure_future(spawner.start())
    for _ in range(100):
        if spawner.job_id:
            break
        await asyncio.sleep(0.05)
    job_id = spawner.job_id
    await asyncio.sleep(0.3)
    start.cancel()
    with pytest.raises(asyncio.CancelledError):
        await start
    # as JupyterHub does after cancelling a pending spawn: poll (alive while the cancel is
    # being confirmed), then stop, which waits for the confirmed cancel
    assert await spawner.poll() is None
    await spawner.stop()
    status = await spawner.poller().status(job_id)
    assert status.state.finished, status
    assert not list((tmp_path / "logs").glob(".*.secrets"))  # the queued job's, removed
    assert spawner.job_id == ""


async def test_a_scheduler_that_does_not_answer_means_unknown_not_gone(tmp_path):
    spawner = make_spawner(tmp_path)
    spawner.backend_options = {"python": "/nonexistent/python3", "spool": str(tmp_path)}
    spawner.job_id = "12345-678"
    assert await spawner.poll() is None  # still considered alive
    status = await spawner.poller().status(spawner.job_id)
    assert status.state.value == "unknown" and "nonexistent" in (status.reason or "")


@pytest.mark.skipif(os.geteuid() != 0, reason="the refusal is for a hub running as root")
async def test_root_hub_without_exec_prefix_refuses_to_spawn(tmp_path):
    spawner = make_spawner(tmp_path, allow_root_jobs=False)
    assert "exec_prefix is empty" in (spawner.root_jobs_refusal() or "")
    with pytest.raises(SpawnException) as info:
        await spawner.start()
    assert "not configured to start servers safely" in info.value.log_message
    assert not spawner.job_id and not list((tmp_path / "spool").glob("*"))
    prefixed = make_spawner(tmp_path, allow_root_jobs=False, exec_prefix="runuser -u {username} --")
    assert prefixed.root_jobs_refusal() is None


async def test_rename_keeps_the_state_and_refuses_while_a_job_is_recorded(tmp_path):
    spawner = make_spawner(tmp_path, name="one")
    spawner.unconfirmed_cancels = ["41"]
    await spawner.rename("one", "two")  # a stopped server: allowed, the state untouched
    assert spawner.unconfirmed_cancels == ["41"]
    spawner.job_id = "42"
    with pytest.raises(SpawnException, match="job 42 has not been confirmed ended") as e:
        await spawner.rename("two", "three")
    assert e.value.status_code == 409
    spawner.job_id = ""
    with pytest.raises(SpawnException, match="Invalid server name"):
        await spawner.rename("two", "a\nb")


def test_an_unfinished_start_is_marked_in_the_state_only_with_its_job(tmp_path):
    spawner = make_spawner(tmp_path)
    spawner.start_unfinished = True
    assert "start_unfinished" not in spawner.get_state()  # no job: nothing to end
    spawner.job_id = "5"
    state = spawner.get_state()
    assert state["start_unfinished"] is True
    other = make_spawner(tmp_path)
    other.load_state(state)
    assert other.start_unfinished and other.job_id == "5"
    other.clear_state()
    assert not other.start_unfinished


async def test_a_start_in_this_process_is_not_taken_for_an_interrupted_one(tmp_path):
    """The state of a start that runs here marks it unfinished, as that of a start a hub
    restart cut off: JupyterHub's poll while it runs leaves it alone; a restarted hub's poll
    of the same state ends it (keeps the job for the next start, and stops the server)."""
    spawner = make_spawner(tmp_path, cmd=["sleep", "300"])
    start = asyncio.ensure_future(spawner.start())
    try:
        for _ in range(100):
            if spawner.awaiting_port() and spawner.job_id:
                break
            await asyncio.sleep(0.05)
        job_id = spawner.job_id
        assert job_id and spawner.starting and spawner.start_unfinished
        assert await spawner.poll() is None  # start() runs here: poll must not end it
        assert spawner.job_id == job_id and not start.done() and spawner.record.queued is None
        restarted = make_spawner(tmp_path, cmd=["sleep", "300"])
        restarted.load_state(spawner.get_state())  # loaded from the database by a restarted hub
        assert not restarted.starting and restarted.start_unfinished
        assert await restarted.poll() == 1  # ended: JupyterHub then stops the server
        assert restarted.job_id == "" and restarted.record.queued.job_id == job_id
    finally:
        start.cancel()
        await asyncio.gather(start, return_exceptions=True)
        await spawner.stop()  # cancels the job and confirms it
    assert (await spawner.poller().status(job_id, max_age=0)).state.finished
