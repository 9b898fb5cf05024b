"""A site plugin whose resource discovery answers with the account it ran as: a queue named
``<account>-queue`` (the cache-identity tests: whose answer does a user's form show?)."""

from __future__ import annotations

from collections.abc import Sequence

from jobspawner import Command, CommandResult, QueueInfo, hookimpl


@hookimpl(tryfirst=True)
def resources_commands() -> list[Command]:
    return [Command(["id", "-un"])]


@hookimpl(tryfirst=True)
def parse_resources(results: Sequence[CommandResult]) -> list[QueueInfo]:
    if not results[0].ok:
        return []
    return [QueueInfo(name=f"{results[0].stdout.strip()}-queue", default=True)]
