"""The server's word that it is stopping: a hint for the hub to look at its job now.

When the job's server shuts down (the scheduler sent SIGTERM because an admin cancelled the
job or it reached its time limit, or the server exited), ``jobspawner-singleuser`` POSTs an
empty body to ``/hub/api/jobspawner/ending/<user>[/<server>]`` with its own API token. The
hub checks the token exactly as for the port report (:mod:`jobspawner.lifecycle.handshake`) and then
only *hurries* that job in the shared status rounds: rounds every ``startup_poll_interval``
for a short while, one query for all hurried jobs. The report changes nothing by itself; what
the scheduler says decides. Repeated reports cost nothing more than one hurried job.
"""

from __future__ import annotations

from jobspawner.lifecycle.handshake import ServerTokenHandler, register_api

API_PATH = r"/api/jobspawner/ending/([^/]+)(?:/([^/]*))?"


class EndReportHandler(ServerTokenHandler):
    """``POST /hub/api/jobspawner/ending/<user>[/<server>]`` with the server's own token."""

    async def post(self, user_name: str, server_name: str | None = None) -> None:
        spawner = self.spawner_for_token(user_name, server_name)
        if spawner is None:
            return self._refuse(403, "this token may not report that")
        spawner.job_end_hinted()
        self.set_status(204)
        self.finish()


def register() -> None:
    """Add the handler to JupyterHub's API handlers (idempotent)."""
    register_api(API_PATH, EndReportHandler)
