"""``JobServer``: how the hub's handlers and pages know a server as jobspawner's.

JupyterHub hands its handlers spawner objects of any class; only jobspawner's answer a job's
port report and end hint, and only they have a card in the session view. They are told
apart by this protocol (its methods are jobspawner's own, checked at run time), so a handler
or a page needs no import of the spawner module, which itself imports them.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class JobServer(Protocol):
    """What the endpoints a job's server calls ask of its spawner."""

    def server_token(self) -> str:
        """The API token the job's server holds ("" when none)."""

    def awaiting_port(self) -> bool:
        """A start of this server waits for its job's port report."""

    def port_reported(self, host: str, port: int) -> None:
        """The job's server reported ``host`` and ``port`` (checked by the handler)."""

    def job_end_hinted(self) -> None:
        """The job's server said it is stopping: follow its job closely for a while."""
