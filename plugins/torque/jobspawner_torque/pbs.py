"""Command builders shared by the Torque, PBS Pro and Moab hook modules (pure functions)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from jobspawner import Command, CommandResult, QueueInfo, tool

from .parsers import parse_resources_text

__all__ = ["tool"]


def qsub_command(options: Mapping[str, Any], script: str) -> Command:
    """``qsub`` reading the script on standard input."""
    return Command([tool(options, "qsub")], stdin=script)


def qdel_command(options: Mapping[str, Any], job_ids: Sequence[str]) -> Command:
    return Command([tool(options, "qdel"), *job_ids])


def pbs_resources_commands(options: Mapping[str, Any]) -> list[Command]:
    """Server (default queue), queues with their limits, and the nodes."""
    qstat, pbsnodes = tool(options, "qstat"), tool(options, "pbsnodes")
    return [
        Command([qstat, "-B", "-f"]),
        Command([qstat, "-Q", "-f"]),
        Command([pbsnodes, "-a"]),
    ]


def pbs_parse_resources(results: Sequence[CommandResult]) -> list[QueueInfo]:
    return parse_resources_text(results)
