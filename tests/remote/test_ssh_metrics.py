"""Commands over SSH are measured like local ones (jobspawner.lifecycle.metrics): duration, errors
and
timeouts per program, on a real OpenSSH server."""

from __future__ import annotations

import pytest
from jobspawner.contract.commands import Command, CommandError, CommandNotFound
from prometheus_client import REGISTRY
from remote.sshd import SSHServer
from remote.sshkit import runner

pytestmark = pytest.mark.timeout(120)


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(f"jupyterhub_jobspawner_{name}", labels) or 0.0


async def test_ssh_commands_are_timed_and_their_errors_counted(sshd: SSHServer) -> None:
    run = runner(sshd, "alice", timeout=1.0)
    count = sample("command_duration_seconds_count", command="sh")
    total = sample("command_duration_seconds_sum", command="sh")
    exits = sample("command_errors_total", command="sh", error="exit_status")
    timeouts = sample("command_errors_total", command="sh", error="timeout")
    missing = sample("command_errors_total", command="sbatch", error="not_started")
    await run.run(Command(["sh", "-c", "sleep 0.4"]))
    with pytest.raises(CommandError):
        await run.run(Command(["sh", "-c", "exit 3"]))
    with pytest.raises(CommandError, match="timed out"):
        await run.run(Command(["sh", "-c", "sleep 30"]))
    with pytest.raises(CommandNotFound):
        await run.run(Command(["/nonexistent/bin/sbatch"]))
    assert sample("command_duration_seconds_count", command="sh") == count + 3
    assert sample("command_duration_seconds_sum", command="sh") - total >= 1.4  # 0.4 + 1.0
    assert sample("command_errors_total", command="sh", error="exit_status") == exits + 1
    assert sample("command_errors_total", command="sh", error="timeout") == timeouts + 1
    assert sample("command_errors_total", command="sbatch", error="not_started") == missing + 1
