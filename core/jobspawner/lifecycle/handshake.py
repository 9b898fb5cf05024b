"""The port handshake: the notebook server reports the port the OS gave it to the hub.

The job's server binds port 0 (see :mod:`jobspawner.jobside.singleuser`), keeps the socket, and
POSTs
``{"host": ..., "port": ...}`` to ``/hub/api/jobspawner/port/<user>[/<server>]`` with its own
API token. The hub accepts it only when

* the token is exactly that server's current ``api_token`` (not the user's other tokens, not
  another server's token, not an admin's),
* that server's start is pending and still waiting for a port, and
* the body is exactly ``host`` (a host name or IP address) and ``port`` (1-65535).

Nothing else about the spawner can be set through this endpoint. The report is the job's
word, and the job belongs to the user: the port is hers to choose, the host is not. The
route's host is the scheduler's (see :mod:`jobspawner.transport.routing`); a reported host counts
only
with ``host_source = "server"`` inside the admin's allow-list, and is refused (400, and the
spawn fails) otherwise. Before the spawn ends, the hub checks that a Jupyter server answers
there under this server's prefix (:mod:`jobspawner.lifecycle.server_check`).
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import re
from typing import Any

from jobspawner.lifecycle.job_server import JobServer
from jobspawner.transport.routing import RouteRefused

API_PATH = r"/api/jobspawner/port/([^/]+)(?:/([^/]*))?"
_HOSTNAME = re.compile(
    r"(?=.{1,253}\Z)[A-Za-z0-9](?:[A-Za-z0-9-]{0,62})(?:\.[A-Za-z0-9-]{1,63})*\.?"
)


class PortReportError(ValueError):
    """The body of a port report is not a typed host/port."""


def parse_report(body: bytes) -> tuple[str, int]:
    """Return ``(host, port)`` from a report body, or raise :class:`PortReportError`."""
    try:
        data = json.loads(body or b"null")
    except ValueError:
        raise PortReportError("body is not JSON") from None
    if not isinstance(data, dict) or set(data) != {"host", "port"}:
        raise PortReportError('body must be exactly {"host": <name or address>, "port": <int>}')
    host, port = data["host"], data["port"]
    if not isinstance(port, int) or isinstance(port, bool) or not 1 <= port <= 65535:
        raise PortReportError("port must be an integer between 1 and 65535")
    if not isinstance(host, str) or not valid_host(host):
        raise PortReportError("host must be a host name or an IP address")
    return host, port


def valid_host(host: str) -> bool:
    """True for an IP address or a host name (the whole string, no line terminator)."""
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return bool(_HOSTNAME.fullmatch(host))


def _base_handler() -> Any:
    from jupyterhub.handlers.base import BaseHandler

    return BaseHandler


class ServerTokenHandler(_base_handler()):  # type: ignore[misc]
    """Base of the endpoints a job's server calls with its own API token (and no other).

    JupyterHub's cookie and token lookup is skipped: :meth:`spawner_for_token` accepts only
    the exact ``api_token`` of that user's (named) server, compared in constant time, and
    gives the same answer whether the server exists or not (nothing to probe).
    """

    def check_xsrf_cookie(self) -> None:  # token-authenticated API, no cookies
        return None

    async def prepare(self) -> None:
        """Skip JupyterHub's cookie/token user lookup: this endpoint checks one token itself."""
        return None

    def _refuse(self, status: int, message: str) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"status": status, "message": message}))

    def spawner_for_token(self, user_name: str, server_name: str | None) -> JobServer | None:
        """The spawner whose current server token the request carries, or None."""
        token = self.get_auth_token() or ""
        spawner = self._find_spawner(user_name, server_name or "")
        if (
            spawner is None
            or not token
            or not spawner.server_token()
            or not hmac.compare_digest(token.encode(), spawner.server_token().encode())
        ):
            return None
        return spawner

    def _find_spawner(self, user_name: str, server_name: str) -> JobServer | None:
        user = self.find_user(user_name)
        if user is None or server_name not in user.orm_spawners:
            return None
        spawner = user.spawners.get(server_name)
        return spawner if isinstance(spawner, JobServer) else None


class PortReportHandler(ServerTokenHandler):
    """``POST /hub/api/jobspawner/port/<user>[/<server>]`` with the server's own token."""

    async def post(self, user_name: str, server_name: str | None = None) -> None:
        spawner = self.spawner_for_token(user_name, server_name)
        if spawner is None:
            self.log.warning("Refused a port report for %s/%s", user_name, server_name or "")
            return self._refuse(403, "this token may not report a port for that server")
        if not spawner.awaiting_port():
            return self._refuse(409, "that server is not waiting for a port report")
        try:
            host, port = parse_report(self.request.body)
        except PortReportError as e:
            return self._refuse(400, str(e))
        try:
            spawner.port_reported(host, port)
        except RouteRefused as e:
            return self._refuse(400, str(e))
        self.set_status(204)
        self.finish()


def register_api(path: str, handler: type) -> None:
    """Add ``(path, handler)`` to JupyterHub's API handlers (idempotent).

    JupyterHub has no hook for spawners to add handlers:
    :func:`jobspawner.web.hub_start.install` wraps ``JupyterHub.init_handlers``, which calls
    this before JupyterHub builds its handler list from ``default_handlers``.
    """
    from jupyterhub import apihandlers

    entry: Any = (path, handler)
    if entry not in apihandlers.default_handlers:
        apihandlers.default_handlers.append(entry)


def register() -> None:
    """Add the port-report handler to JupyterHub's API handlers (idempotent)."""
    register_api(API_PATH, PortReportHandler)
