"""The server's word that it is stopping: a hint for the hub to look at its job now.

When the job's server shuts down (the scheduler sent SIGTERM because an admin cancelled the
job or it reached its time limit, or the server exited), ``jobspawner-singleuser`` POSTs an
empty body to ``/hub/api/jobspawner/ending/<user>[/<server>]`` with its own API token. The
hub checks the token exactly as for the port report (:mod:`jobspawner.handshake`) and then
only *hurries* that job in the shared status rounds: rounds every ``startup_poll_interval``
for a short while, one query for all hurried jobs. The report changes nothing by itself; what
the scheduler says decides. Repeated reports cost nothing more than one hurried job.
"""

from __future__ import annotations

import hmac
import json
from typing import TYPE_CHECKING, Any

from .handshake import _base_handler

if TYPE_CHECKING:
    from .spawner import JobSpawner

API_PATH = r"/api/jobspawner/ending/([^/]+)(?:/([^/]*))?"


class EndReportHandler(_base_handler()):  # type: ignore[misc]
    """``POST /hub/api/jobspawner/ending/<user>[/<server>]`` with the server's own token."""

    def check_xsrf_cookie(self) -> None:  # token-authenticated API, no cookies
        return None

    async def prepare(self) -> None:
        """Skip JupyterHub's user lookup: this endpoint checks one token itself."""
        return None

    async def post(self, user_name: str, server_name: str | None = None) -> None:
        token = self.get_auth_token() or ""
        spawner = self._find_spawner(user_name, server_name or "")
        if (
            spawner is None
            or not token
            or not spawner.api_token
            or not hmac.compare_digest(token.encode(), str(spawner.api_token).encode())
        ):
            self.set_status(403)
            self.set_header("Content-Type", "application/json")
            self.finish(json.dumps({"status": 403, "message": "this token may not report that"}))
            return
        spawner.job_end_hinted()
        self.set_status(204)
        self.finish()

    def _find_spawner(self, user_name: str, server_name: str) -> JobSpawner | None:
        from .spawner import JobSpawner

        user = self.find_user(user_name)
        if user is None or server_name not in user.orm_spawners:
            return None
        spawner = user.spawners.get(server_name)
        return spawner if isinstance(spawner, JobSpawner) else None


def register() -> None:
    """Add the handler to JupyterHub's API handlers (idempotent)."""
    from jupyterhub import apihandlers

    entry: Any = (API_PATH, EndReportHandler)
    if entry not in apihandlers.default_handlers:
        apihandlers.default_handlers.append(entry)
