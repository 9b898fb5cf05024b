"""What a server's session asks of JupyterHub's side (the spawner), as small protocols.

:class:`~jobspawner.lifecycle.job_session.JobSession` owns a server's jobs; what only JupyterHub's
side
has (the progress stream, the database, the API token, the URL prefix, the route, the server
watch) it reaches through these, never through the spawner's own names:

- :class:`SessionHost` (every session): ``emit`` a progress message, ``persist`` the record;
- :class:`StartHost` (a start): the job to submit, the port report, the tokens, the route;
- :class:`PollHost` (a poll): the route kept across a restart, the server watch, the words
  kept about an end.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, Protocol

from jobspawner.contract.context import BackendContext
from jobspawner.contract.jobspec import JobSpec
from jobspawner.contract.status import JobStatus
from jobspawner.lifecycle.job_record import JobRecord, QueuedStart
from jobspawner.lifecycle.poller import StatusPoller


class SessionHost(Protocol):
    """What a session reports to (the spawner)."""

    def emit(self, message: str, progress: int) -> None:
        """Show ``message`` in the start's progress stream (``progress``: 0-100)."""

    def persist(self, record: JobRecord) -> None:
        """Write ``record`` to the hub's database now (not only when JupyterHub saves)."""


@dataclass(frozen=True)
class PreparedJob:
    """The job a start submits: its spec, its rendered script, and this start's
    server-check key (:mod:`jobspawner.jobside.server_proof`; "" when not required)."""

    spec: JobSpec
    script: str
    check_key: str


class TokenHost(SessionHost, Protocol):
    """A session that keeps a start across a hub restart deletes its server token."""

    def revoke_token(self, token: str) -> None:
        """Delete ``token`` (a kept start's) from JupyterHub's database."""

    def kept_job_access(self, queued: QueuedStart) -> tuple[BackendContext, StatusPoller]:
        """The context and poller a kept job was submitted with (its own settings)."""


class StartHost(TokenHost, Protocol):
    """What a start asks of JupyterHub's side, besides reporting and tokens."""

    def prepare_job(self) -> PreparedJob:
        """Build and render this start's job (errors name the setting or the option)."""

    def expect_port(self) -> asyncio.Future[tuple[str, int]]:
        """A new future that the port report (the handshake handler) resolves."""

    def server_token(self) -> str:
        """The API token the job's server holds (JupyterHub's ``api_token``)."""

    def use_kept_token(self, token: str) -> None:
        """Adopting a kept job: its server holds ``token``, not this start's own."""

    def token_known(self, token: str) -> bool:
        """Whether ``token`` is still this user's token in JupyterHub's database."""

    async def transport_route(self, host: str, port: int) -> tuple[str, int]:
        """Where the proxy reaches the server (a forward's local end over SSH)."""

    def server_prefix(self) -> str:
        """This server's URL prefix (``/user/alice/`` or ``/user/alice/name/``)."""

    def check_ssl_context(self) -> Any:
        """The TLS context the hub reaches servers with (internal_ssl), else None."""


class PollHost(TokenHost, Protocol):
    """What a poll of a server asks of JupyterHub's side."""

    async def transport_restore(self) -> None:
        """Reopen an SSH port forward a hub restart lost."""

    def transport_close(self) -> None:
        """Close the server's forward, if any."""

    async def server_watch_poll(self) -> int | None:
        """None, or an exit status when the server watch says the server is lost."""

    def stop_server_watch(self) -> None:
        """End the server watch, if any."""

    async def note_job_end(self, status: JobStatus, words: str | None = None) -> None:
        """Keep why a running server's job ended (:mod:`jobspawner.lifecycle.last_end`)."""
