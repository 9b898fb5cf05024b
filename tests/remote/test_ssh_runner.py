"""The SSH runner on a real OpenSSH server: quoting, stdin, environment, timeouts, errors,
one shared connection, host-key checking, login hosts in order, reconnecting."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from jobspawner.contract.commands import Command, CommandError, CommandNotFound
from jobspawner.transport import ssh
from remote.fixtures import running_sshd
from remote.sshd import SSHServer
from remote.sshkit import connection, runner

pytestmark = pytest.mark.timeout(120)


async def test_commands_run_as_the_user_with_stdin_and_quoted_arguments(sshd: SSHServer) -> None:
    run = runner(sshd, "alice")
    result = await run.run(Command(["id", "-un"]))
    assert result.stdout.strip() == "alice"
    tricky = "$(touch /tmp/pwned) ; `id` 'q' \"d\" \\ *"
    echoed = await run.run(Command(["printf", "%s|", tricky, "two words", ""]))
    assert echoed.stdout == f"{tricky}|two words||"
    body = '{"token": "s3cr3t $HOME `x`"}\n' * 2000  # larger than one SSH window packet
    cat = await run.run(Command(["cat"], stdin=body))
    assert cat.stdout == body
    bob = await runner(sshd, "bob").run(Command(["id", "-un"]))
    assert bob.stdout.strip() == "bob"


async def test_the_remote_environment_is_explicit_never_the_hubs(
    sshd: SSHServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JUPYTERHUB_CRYPT_KEY", "hub-secret-must-not-travel")
    monkeypatch.setenv("SLURM_CONF", "/hub/only/slurm.conf")
    run = runner(sshd, "alice", env={"SITE_VAR": "x y"})
    result = await run.run(Command(["env"], env={"FROM_COMMAND": "1"}))
    env = dict(line.split("=", 1) for line in result.stdout.splitlines())
    assert set(env) == {"PATH", "LANG", "SITE_VAR", "FROM_COMMAND"}
    assert env["SITE_VAR"] == "x y" and env["LANG"] == "C.UTF-8"
    with pytest.raises(ValueError, match="cannot be passed"):
        await run.run(Command(["true"], env={"BAD NAME": "1"}))


async def test_exit_codes_missing_programs_and_timeouts(sshd: SSHServer) -> None:
    run = runner(sshd, "alice", timeout=1.5)
    failed = await run.run(Command(["sh", "-c", "echo out; echo err >&2; exit 3"]), check=False)
    assert (failed.returncode, failed.stdout, failed.stderr) == (3, "out\n", "err\n")
    with pytest.raises(CommandError, match="exited with status 3"):
        await run.run(Command(["sh", "-c", "exit 3"]))
    with pytest.raises(CommandNotFound, match=r"on 127\.0\.0\.1.*not on the login node's PATH"):
        await run.run(Command(["sbatch-not-installed", "--parsable"]))
    marker = f"{time.time_ns() % 10**6 + 1000}"
    began = time.monotonic()
    with pytest.raises(CommandError, match=r"timed out after 1\.5 s on alice@127\.0\.0\.1"):
        await run.run(Command(["sleep", marker]))
    assert time.monotonic() - began < 6
    # the hanging command was killed on the login node, and the connection still works
    deadline = time.monotonic() + 5
    while subprocess.run(["pgrep", "-f", f"sleep {marker}"], capture_output=True).returncode == 0:
        assert time.monotonic() < deadline, "the timed-out command still runs"
        await asyncio.sleep(0.1)
    assert (await run.run(Command(["true"]))).ok


async def test_one_connection_serves_every_command(sshd: SSHServer) -> None:
    conn = connection(sshd, "alice")
    results = await asyncio.gather(
        *(runner(sshd, "alice").run(Command(["echo", str(i)])) for i in range(20))
    )
    assert [r.stdout.strip() for r in results] == [str(i) for i in range(20)]
    assert conn.connects == 1
    await runner(sshd, "bob").run(Command(["true"]))
    assert conn.connects == 1 and connection(sshd, "bob").connects == 1


@pytest.fixture
def two_session_sshd() -> Iterator[SSHServer]:
    """A login node whose sshd allows two sessions per connection (MaxSessions 2)."""
    with running_sshd("MaxSessions 2") as server:
        yield server


async def test_a_session_the_node_refused_is_asked_for_again(two_session_sshd) -> None:
    """sshd counts a session until it has processed its close: a command is not failed for
    a refusal that ends a moment later (seen in CI with 20 commands over 8 sessions)."""
    run = runner(two_session_sshd, "alice", max_sessions=3)  # one more than the node allows
    results = await asyncio.gather(*(run.run(Command(["sleep", "0.3"])) for _ in range(3)))
    assert all(r.ok for r in results)


async def test_a_refusal_that_lasts_names_max_sessions(two_session_sshd) -> None:
    run = runner(two_session_sshd, "alice", max_sessions=3)
    began = time.monotonic()
    busy = [asyncio.ensure_future(run.run(Command(["sleep", "8"]))) for _ in range(2)]
    await asyncio.sleep(1)
    with pytest.raises(CommandError, match=r"ssh_max_sessions above the node's MaxSessions"):
        await run.run(Command(["true"]))
    assert time.monotonic() - began < 1 + sum(ssh.SESSION_RETRY_DELAYS) + 3
    for task in busy:
        task.cancel()
    await asyncio.gather(*busy, return_exceptions=True)


async def test_a_wrong_host_key_is_refused_naming_the_host(sshd: SSHServer, tmp_path) -> None:
    other = SSHServer(users=("alice",))  # another host key, never started
    try:
        wrong = tmp_path / "known_hosts"
        wrong.write_text(f"[127.0.0.1]:{sshd.port} {other.host_public}\n")
        run = runner(sshd, "alice", known_hosts=str(wrong))
        with pytest.raises(CommandError, match=r"127\.0\.0\.1:\d+: host key refused") as e:
            await run.run(Command(["true"]))
        assert str(wrong) in str(e.value)
        # a host missing from known_hosts is refused as well (never accepted blindly)
        empty = tmp_path / "empty_known_hosts"
        empty.write_text("")
        with pytest.raises(CommandError, match="host key refused"):
            await runner(sshd, "bob", known_hosts=str(empty)).run(Command(["true"]))
    finally:
        other.cleanup()


async def test_a_refused_key_and_an_unreachable_host_say_so(sshd: SSHServer) -> None:
    with pytest.raises(CommandError, match="authentication refused with the key"):
        await runner(sshd, "alice", key=sshd.key("bob")).run(Command(["true"]))
    with pytest.raises(CommandError, match=r"cannot use the SSH key /nonexistent/key"):
        await runner(sshd, "alice", key="/nonexistent/key").run(Command(["true"]))
    with pytest.raises(CommandError, match=r"alice@127\.0\.0\.3:\d+: unreachable"):
        await runner(sshd, "alice", hosts=("127.0.0.3",)).run(Command(["true"]))


async def test_login_hosts_are_tried_in_order(sshd: SSHServer) -> None:
    run = runner(sshd, "alice", hosts=("127.0.0.3", "127.0.0.1"))
    assert (await run.run(Command(["id", "-un"]))).stdout.strip() == "alice"
    assert run.connection.host == "127.0.0.1"


async def test_sshd_down_fails_fast_and_the_connection_comes_back(sshd: SSHServer) -> None:
    run = runner(sshd, "alice", reconnect_max_delay=0.5)
    assert (await run.run(Command(["true"]))).ok
    sshd.stop()
    with pytest.raises(CommandError, match=r"alice@127\.0\.0\.1:\d+"):
        await run.run(Command(["true"]))
    with pytest.raises(CommandError, match="unreachable"):
        await run.run(Command(["true"]))
    sshd.start()
    deadline = time.monotonic() + 10
    while True:
        try:
            result = await run.run(Command(["id", "-un"]))
            break
        except CommandError:
            assert time.monotonic() < deadline, "the connection did not come back"
            await asyncio.sleep(0.2)
    assert result.stdout.strip() == "alice"
    assert run.connection.connects == 2


def test_sshd_runs_with_our_config_only(sshd: SSHServer) -> None:
    assert sshd.proc is not None and os.path.exists(sshd.pid_file)
    assert f"Server listening on 127.0.0.1 port {sshd.port}" in sshd.log_text()


async def test_a_command_printing_without_end_is_stopped_at_its_cap(sshd: SSHServer) -> None:
    run = runner(sshd, "alice", timeout=20)
    began = time.monotonic()
    with pytest.raises(CommandError, match="printed more than 100000 bytes") as e:
        await run.run(Command(["yes"], max_output=100_000))
    assert time.monotonic() - began < 5 and len(e.value.stdout) <= 100_000
    assert (await run.run(Command(["true"]))).ok  # the connection still works


async def test_log_reads_over_ssh_are_bounded_and_leave_a_session(sshd: SSHServer) -> None:
    from jobspawner.contract.context import BackendContext
    from jobspawner.facade.backend import load_backend

    folder = Path(tempfile.mkdtemp(prefix="jobspawner-ssh-log-"))
    folder.chmod(0o755)
    try:
        fifo, huge = folder / "fifo.log", folder / "huge.log"
        os.mkfifo(fifo)
        with open(huge, "wb") as f:
            f.write(b"x" * (30 * 1024 * 1024) + b"\nlast line\n")
        run = runner(sshd, "alice", timeout=20, max_sessions=2)
        backend = load_backend("local")
        ctx = BackendContext(backend=backend, runner=run, query_runner=run, username="alice")
        began = time.monotonic()
        assert await backend.read_log(ctx, str(fifo), 5) == ""
        assert time.monotonic() - began < 5  # refused before it was opened
        tail = await backend.read_log(ctx, str(huge), 5)
        assert tail.endswith("more characters cut]\nlast line\n") and len(tail) < 2000
        # two sessions: log reads hold at most one, a status query gets the other at once
        slow_read = Command(["sleep", "30"], user_output=True)  # a read that takes its time
        stuck = [asyncio.ensure_future(run.run(slow_read)) for _ in range(3)]
        await asyncio.sleep(0.5)
        began = time.monotonic()
        assert (await run.run(Command(["true"]))).ok
        assert time.monotonic() - began < 2
        for task in stuck:
            task.cancel()
        await asyncio.gather(*stuck, return_exceptions=True)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
