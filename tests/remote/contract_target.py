"""A contract-kit target whose commands all run on a login node over SSH (the test sshd).

The backend contract of :mod:`jobspawner.testing` then runs unchanged through the SSH
transport: every submit, status, history, cancel, log and discovery command goes over one
shared connection as the test user.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from jobspawner.contract.commands import CommandRunner
from jobspawner.contract.context import BackendContext
from jobspawner.facade.backend import Backend
from jobspawner.testing import Target
from remote.sshd import SSHServer
from remote.sshkit import runner


@dataclass
class SSHTarget(Target):
    """A :class:`Target` reached through ``server`` (an SSHServer) as ``username``."""

    server: Any = None
    #: The login node's environment for every command (the transport's ``ssh_env``).
    env: Mapping[str, str] = field(default_factory=dict)

    def context(self, backend: Backend, runner_: CommandRunner | None = None) -> BackendContext:
        if runner_ is not None:  # the kit's counting or failing runners wrap what we give
            return super().context(backend, runner_)
        assert isinstance(self.server, SSHServer), "SSHTarget needs its server"
        remote = runner(self.server, self.username, timeout=self.timeout, env=self.env or None)
        return BackendContext(
            backend,
            remote,  # type: ignore[arg-type]
            remote,  # type: ignore[arg-type]
            options=backend.checked_options(self.options),
            username=None,
        )
