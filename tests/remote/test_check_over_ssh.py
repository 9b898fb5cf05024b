"""``jobspawner check`` with the SSH transport: commands are looked up, and the scheduler
asked, on the login node (the test sshd), through the connection spawns use."""

from __future__ import annotations

from pathlib import Path

import pytest
from harness.jobenv import ensure_jobenv
from jobspawner.cli.check import run_check
from remote.sshd import SSHServer

pytestmark = [pytest.mark.root]


def write_config(tmp_path: Path, sshd: SSHServer, extra: str = "") -> str:
    python = ensure_jobenv() / "bin" / "python"
    path = tmp_path / "jupyterhub_config.py"
    path.write_text(f"""
c = get_config()  # noqa
c.JupyterHub.spawner_class = "jobspawner"
c.JobSpawner.backend = "local"
c.JobSpawner.backend_options = {{"python": {str(python)!r}}}
c.JobSpawner.exec_prefix = []
c.JobSpawner.transport = "ssh"
c.JobSpawner.ssh_hosts = ["127.0.0.1"]
c.JobSpawner.ssh_port = {sshd.port}
c.JobSpawner.ssh_known_hosts = {str(sshd.known_hosts)!r}
c.JobSpawner.ssh_username = "{{username}}"
c.JobSpawner.ssh_key_file = {sshd.key_template()!r}
{extra}
""")
    return str(path)


def _lines(report) -> str:
    return "\n".join(f"{f.level} {f.topic}: {f.message}" for f in report.findings)


async def test_check_looks_commands_up_and_asks_the_scheduler_on_the_login_node(
    tmp_path: Path, sshd: SSHServer
) -> None:
    report = await run_check(write_config(tmp_path, sshd), "alice")
    out = _lines(report)
    assert report.passed, out
    assert "on the login node (127.0.0.1)" in out
    assert "ok scheduler: answers a status query" in out
    # both the lookup and the status query logged in over SSH as alice
    assert "Accepted publickey for alice" in sshd.log_text()


async def test_a_command_missing_on_the_login_node_fails_though_the_hub_has_it(
    tmp_path: Path, sshd: SSHServer
) -> None:
    # python3 is on the hub's PATH, but not on the PATH the login node's commands get
    extra = (
        'c.JobSpawner.backend_options = {"python": "python3"}\n'
        'c.JobSpawner.ssh_env = {"PATH": "/nonexistent"}\n'
    )
    report = await run_check(write_config(tmp_path, sshd, extra), "alice")
    out = _lines(report)
    assert not report.passed
    assert "fail command: python3 is not on the PATH scheduler commands get on the login " in out
    assert "scheduler: " not in out  # not asked: its command is known to be missing


async def test_a_login_node_that_is_down_fails_the_check_clearly(
    tmp_path: Path, sshd: SSHServer
) -> None:
    config = write_config(tmp_path, sshd)
    sshd.stop()
    report = await run_check(config, "alice")
    out = _lines(report)
    assert not report.passed
    assert "fail c.JobSpawner.transport: could not run commands on the login node" in out, out
    assert "unreachable" in out, out
