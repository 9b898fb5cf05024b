"""``jobspawner check`` on a login node: scheduler commands looked up where they will run.

With ``c.JobSpawner.transport = "ssh"`` the scheduler commands run on a login node, so
finding them on the hub host proves nothing. Each program is looked up there, through the
same runner (SSH connection, remote environment, ``exec_prefix``) a spawn's commands use,
with the shell's ``command -v``; the program name is an argument of a fixed script, never a
part of it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from jobspawner.cli.output import Finding
from jobspawner.contract.commands import Command, CommandError, CommandNotFound
from jobspawner.transport.config import TransportError

if TYPE_CHECKING:
    from jobspawner.spawner import JobSpawner

#: Prints where "$1" is found on PATH, exit status 1 when it is not.
LOOKUP = 'command -v -- "$1"'


def lookup_command(program: str) -> Command:
    """The command that looks ``program`` up on the PATH where commands run."""
    return Command(["/bin/sh", "-c", LOOKUP, "jobspawner-check", program], timeout=30)


def where(spawner: JobSpawner) -> str:
    hosts = ", ".join(spawner.ssh_hosts) or "(no c.JobSpawner.ssh_hosts)"
    return f"the login node ({hosts})"


async def remote_command_findings(spawner: JobSpawner, programs: Sequence[str]) -> list[Finding]:
    """One finding per program, looked up through the configured transport."""
    node = where(spawner)
    try:
        runner = spawner.make_runner(
            spawner.command_prefix(spawner.exec_prefix),
            spawner.command_timeout,
            tuple(spawner.command_env_keep),
            log=spawner.log,
        )
    except TransportError as e:
        return [Finding("fail", "c.JobSpawner.transport", str(e))]
    findings: list[Finding] = []
    for program in dict.fromkeys(programs):
        try:
            result = await runner.run(lookup_command(program), check=False)
        except CommandNotFound as e:  # sh, or the exec prefix's program, is missing there
            return [
                Finding(
                    "fail",
                    "c.JobSpawner.exec_prefix",
                    f"commands cannot start on {node}: {e}",
                    "install the exec prefix's program on the login node, or fix "
                    "c.JobSpawner.exec_prefix",
                )
            ]
        except CommandError as e:
            return [
                Finding(
                    "fail",
                    "c.JobSpawner.transport",
                    f"could not run commands on {node}: {e}",
                    "check c.JobSpawner.ssh_hosts, ssh_port, ssh_username, ssh_key_file and "
                    "ssh_known_hosts",
                )
            ]
        found = result.stdout.strip().splitlines()
        if result.ok and found:
            findings.append(Finding("ok", "command", f"{program} ({found[0]} on {node})"))
        else:
            findings.append(
                Finding(
                    "fail",
                    "command",
                    f"{program} is not on the PATH scheduler commands get on {node}",
                    "install the scheduler's client tools on the login node, set its PATH in "
                    "c.JobSpawner.ssh_env, or give the full path in c.JobSpawner.backend_options",
                )
            )
    return findings
