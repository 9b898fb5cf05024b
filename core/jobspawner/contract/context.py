"""What the action hooks get to work with: the command runner, the options and the backend."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from jobspawner.contract.commands import Command, CommandResult, CommandRunner

if TYPE_CHECKING:
    from jobspawner.facade.backend import Backend
    from jobspawner.transport.config import Runner


@dataclass
class BackendContext:
    """Passed to every action hook.

    ``run`` executes a command through the user's exec prefix (``runner``, local or on a
    login node: :mod:`jobspawner.transport.config`); status queries go
    through ``query_runner``, which may differ (a site can run ``squeue`` as the hub user to
    batch every user's jobs in one call). ``backend`` is the typed facade, for calling the
    pure hooks; ``options`` are the site's backend options.

    ``auth_state`` is the user's JupyterHub auth state (``c.Authenticator.enable_auth_state``),
    for backends that act with the user's own credentials (FirecREST's OIDC tokens);
    ``auth_states`` holds the auth state of every user this hub process has seen, by user
    name, for a shared status poller acting for several users. Both are empty without auth
    state; the spawner refreshes them before start, poll and stop. ``save_auth_state(name,
    changes)`` merges renewed credentials (a rotated refresh token) into a user's auth state,
    encrypted in the hub's database (:mod:`jobspawner.lifecycle.auth_state_sync`); None outside a
    hub.
    """

    backend: Backend
    runner: Runner
    query_runner: Runner
    options: Mapping[str, Any] = field(default_factory=dict)
    username: str | None = None
    auth_state: Mapping[str, Any] | None = None
    auth_states: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    save_auth_state: Callable[[str, Mapping[str, Any]], Awaitable[bool]] | None = None

    async def run(self, command: Command, check: bool = True) -> CommandResult:
        return await self.runner.run(command, check=check)

    async def run_query(self, command: Command, check: bool = True) -> CommandResult:
        return await self.query_runner.run(command, check=check)


def make_context(
    backend: Backend,
    options: Mapping[str, Any] | None = None,
    prefix: tuple[str, ...] | list[str] = (),
    query_prefix: tuple[str, ...] | list[str] | None = None,
    timeout: float = 30.0,
    username: str | None = None,
    env_keep: tuple[str, ...] | list[str] = (),
) -> BackendContext:
    """A context for calling a backend's action hooks outside the spawner (tests, CLI)."""
    return BackendContext(
        backend=backend,
        runner=CommandRunner(prefix, timeout=timeout, env_keep=env_keep),
        query_runner=CommandRunner(
            prefix if query_prefix is None else query_prefix, timeout=timeout, env_keep=env_keep
        ),
        options=dict(options or {}),
        username=username,
    )
