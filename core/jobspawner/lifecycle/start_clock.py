"""The two limits of a spawn: time queued, then time for the server to start once running.

JupyterHub applies ``Spawner.start_timeout`` to the whole of ``start()`` with
``asyncio.wait_for``: it cancels a spawn after that many seconds whatever the job is doing.
A batch job may wait in the queue for a long time and then needs a short while to start its
server, so jobspawner keeps two limits of its own, ``queue_timeout`` and
``server_start_timeout``, and sets ``start_timeout`` above their sum so that JupyterHub never
cancels first. Each limit ends the spawn with a message saying which one ran out.
"""

from __future__ import annotations

import time

#: The most seconds between jobspawner's own deadline and JupyterHub's (a tenth of
#: ``start_timeout``, at least one second), so that jobspawner's message (which says what
#: happened) reaches the user instead of JupyterHub's.
MAX_MARGIN_S = 30.0


class StartClock:
    """Tracks one spawn's deadlines; ``running()`` starts the second limit."""

    def __init__(
        self,
        queue_timeout: float,
        server_start_timeout: float,
        start_timeout: float,
        began: float | None = None,
    ) -> None:
        self.began = time.monotonic() if began is None else began
        self.queue_timeout = queue_timeout
        self.server_start_timeout = server_start_timeout
        margin = min(max(1.0, 0.1 * start_timeout), MAX_MARGIN_S)
        overall = max(start_timeout - margin, 1.0)
        self.hard_deadline = self.began + overall
        self.running_since: float | None = None

    def running(self, now: float | None = None) -> None:
        """The job runs: from now the server has ``server_start_timeout`` seconds."""
        if self.running_since is None:
            self.running_since = time.monotonic() if now is None else now

    @property
    def deadline(self) -> float:
        """When the spawn gives up, given what is known now."""
        if self.running_since is None:
            phase = self.began + self.queue_timeout
        else:
            phase = self.running_since + self.server_start_timeout
        return min(phase, self.hard_deadline)

    def expired(self, now: float | None = None) -> str | None:
        """Which limit ran out (``"queue"``, ``"server"``, ``"start"``), or None."""
        now = time.monotonic() if now is None else now
        if now <= self.deadline:
            return None
        if self.deadline == self.hard_deadline:
            return "start"
        return "queue" if self.running_since is None else "server"
