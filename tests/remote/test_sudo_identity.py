"""One hub key for one service account on the login node, every command run as the user
with ``sudo -n -u {username} --`` (remote/sudoers.py has the sudoers rule, docs/remote.md
the same rule for a site).

The fast tests use the SSH runner as the hub does; the end-to-end test (slow, e2e) spawns
through a real JupyterHub whose only SSH identity is the service account's key.
"""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from harness.hub import running_hub
from harness.jobenv import ensure_jobenv
from jobspawner.boundary.user_files import CREATE_SCRIPT, SCRIPT_NAME, create_command
from jobspawner.contract.commands import Command, CommandError
from jobspawner.contract.jobspec import secrets_file_for
from jobspawner.facade.backend import secrets_file_command
from jobspawner.facade.defaults import LOG_TAIL_SCRIPT, log_tail_command
from jobspawner.spawner import JobSpawner
from jobspawner.transport.ssh import SSHRunner, shared_connection
from remote.sshd import SSHServer, owner_of
from remote.sshkit import target
from remote.sudoers import SERVICE

pytestmark = [pytest.mark.root, pytest.mark.timeout(300)]


def as_user(sshd: SSHServer, user: str, timeout: float = 20.0) -> SSHRunner:
    """The hub's runner for ``user``: the service account's connection, sudo's prefix."""
    connection = shared_connection(target(sshd, SERVICE))
    return SSHRunner(connection, ("sudo", "-n", "-u", user, "--"), timeout=timeout)


async def test_commands_run_as_the_user_and_the_secrets_file_is_hers(
    hub_account_sshd: SSHServer, tmp_path: Path
) -> None:
    sshd = hub_account_sshd
    folder = Path("/tmp") / f"jobspawner-sudo-{os.getpid()}-{time.time_ns()}"
    output = str(folder / "job.log")
    spec = SimpleNamespace(
        secrets={"JUPYTERHUB_API_TOKEN": "t0ken $HOME `id`"}, secrets_file=secrets_file_for(output)
    )
    run = as_user(sshd, "alice")
    try:
        # the core's preparation commands and the secrets writer, as the hub sends them
        from jobspawner.facade.defaults import private_output_commands

        for command in private_output_commands(output):
            await run.run(command)
        os.chmod(folder, 0o755)  # made private again by the next file's creation
        await run.run(secrets_file_command(spec))  # type: ignore[arg-type]
        secrets = os.stat(spec.secrets_file)
        assert owner_of(spec.secrets_file) == "alice"
        assert stat.S_IMODE(secrets.st_mode) == 0o600
        assert Path(spec.secrets_file).read_text() == '{"JUPYTERHUB_API_TOKEN": "t0ken $HOME `id`"}'
        assert owner_of(str(folder)) == "alice" and stat.S_IMODE(folder.stat().st_mode) == 0o700
        assert owner_of(output) == "alice"
        # an existing name (a file, or a link or FIFO planted there) is never written through
        with pytest.raises(CommandError):
            await run.run(secrets_file_command(spec))  # type: ignore[arg-type]
        await run.run(create_command(str(folder / "job.sh"), "#!/bin/sh\n", mode="700"))
        assert stat.S_IMODE(os.stat(folder / "job.sh").st_mode) == 0o700
        await run.run(Command(["rm", "-f", "--", str(folder / "job.sh")]))
        tail = await run.run(log_tail_command(spec.secrets_file))  # the hub's log reader
        assert "t0ken" in tail.stdout
        await run.run(Command(["rm", "-f", "--", spec.secrets_file]))
        assert not os.path.exists(spec.secrets_file)
        python = str(ensure_jobenv() / "bin" / "python")
        listing = await as_user(sshd, "bob").run(
            Command([python, "-I", "-m", "jobspawner.jobside.local_jobs", "--help"])
        )
        assert "submit" in listing.stdout
    finally:
        await as_user(sshd, "alice").run(Command(["rm", "-f", "--", output]), check=False)
        if folder.exists():
            os.rmdir(folder)


async def test_the_service_account_runs_nothing_else(
    hub_account_sshd: SSHServer, tmp_path: Path
) -> None:
    sshd = hub_account_sshd
    pwned = Path("/tmp") / f"jobspawner-pwned-{os.getpid()}"
    attempts = [
        ("alice", ["id"]),  # a command not in the rule
        ("root", [*log_tail_command("/etc/shadow").argv]),  # an allowed command, as root
        ("daemon", [*log_tail_command("/etc/hostname").argv]),  # as a user not in the rule
        # a value with shell characters where the rule expects a path, and the ways a
        # space-joined match could be fooled: one argument holding script and command
        ("alice", [*log_tail_command(f"/etc/hostname; touch {pwned}").argv]),
        ("alice", [*log_tail_command(f"$(touch {pwned})").argv]),
        ("alice", ["sh", "-c", f"{LOG_TAIL_SCRIPT} sh /x; touch {pwned}"]),
        ("alice", ["tail", "-n", "1", "/etc/hostname"]),  # the reader before, by lines
        ("alice", ["sh", "-c", f'umask 077 && set -C && cat > "$1" sh /x; touch {pwned}']),
        ("alice", ["sh", "-c", 'umask 077 && set -C && cat > "$1"', "sh", f"/x;touch {pwned}"]),
        ("alice", ["sh", "-c", f"touch {pwned}", "sh", "/tmp/x"]),
        # the one file-creating script, with a path, a name or a mode it does not take
        ("alice", ["sh", "-c", CREATE_SCRIPT, SCRIPT_NAME, f"/x;touch {pwned}", "n", "600"]),
        ("alice", ["sh", "-c", CREATE_SCRIPT, SCRIPT_NAME, "/tmp", f"n;touch {pwned}", "600"]),
        ("alice", ["sh", "-c", CREATE_SCRIPT, SCRIPT_NAME, "/tmp", "-n", "600"]),
        ("alice", ["sh", "-c", CREATE_SCRIPT, SCRIPT_NAME, "/tmp", "n", "4755"]),
        ("alice", ["rm", "-rf", "--", "/home/alice"]),
    ]
    for user, argv in attempts:
        with pytest.raises(CommandError, match="a password is required") as refused:
            await as_user(sshd, user).run(Command(argv))
        assert "exited with status 1" in str(refused.value), argv
    assert not pwned.exists()
    # the user's name reaches sudo's prefix only when it is a plain account name
    spawner = JobSpawner(exec_prefix="sudo -n -u {username} --")
    for name, accepted in [("alice", True), ("alice -u root", False), ("-uroot", False)]:
        spawner.user = SimpleNamespace(name=name)
        if accepted:
            assert spawner.command_prefix(spawner.exec_prefix) == ["sudo", "-n", "-u", name, "--"]
        else:
            with pytest.raises(Exception, match="cannot be passed to the exec_prefix"):
                spawner.command_prefix(spawner.exec_prefix)


def hub_account_config(sshd: SSHServer) -> str:
    return f"""
c.JobSpawner.transport = "ssh"
c.JobSpawner.ssh_hosts = [{sshd.address!r}]
c.JobSpawner.ssh_port = {sshd.port}
c.JobSpawner.ssh_known_hosts = {str(sshd.known_hosts)!r}
c.JobSpawner.ssh_username = {SERVICE!r}
c.JobSpawner.ssh_key_file = {sshd.key(SERVICE)!r}
c.JobSpawner.exec_prefix = "sudo -n -u {{username}} --"
c.JobSpawner.prologue = "sleep 3"
c.JobSpawner.start_timeout = 60
"""


@pytest.mark.e2e
def test_spawn_through_the_hub_account_with_sudo(
    tmp_path: Path, hub_account_sshd: SSHServer
) -> None:
    sshd = hub_account_sshd
    with running_hub(tmp_path, backend="local", config=hub_account_config(sshd)) as hub:
        hub.begin_start("alice")
        deadline = time.monotonic() + 60
        secrets_seen = None
        while time.monotonic() < deadline:  # the secrets file exists until the server reads it
            state = hub.spawner_state("alice")
            output, secrets_file = state.get("job_output"), state.get("job_secrets")
            if secrets_file and os.path.exists(secrets_file):
                info = os.stat(secrets_file)
                secrets_seen = (owner_of(secrets_file), stat.S_IMODE(info.st_mode))
                break
            time.sleep(0.05)
        assert secrets_seen == ("alice", 0o600), hub.log_text()[-3000:]
        hub.wait_ready("alice", timeout=60)
        assert owner_of(output) == "alice"
        assert hub.get_via_proxy("alice", "api/status").status_code == 200
        job_id = hub.spawner_state("alice")["job_id"]
        log = sshd.log_text()
        assert f"Accepted publickey for {SERVICE}" in log
        assert "Accepted publickey for alice" not in log  # the hub has no key of hers
        hub.stop_server("alice")
        assert job_id and not os.path.exists(secrets_file)
