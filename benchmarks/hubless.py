"""The spawn floor's servers: JupyterHub's single-user server started in a job without a hub.

``jupyterhub-singleuser`` does not start without a hub: while it initializes, its extension
GETs the hub's API URL (``JUPYTERHUB_API_URL``) and, when nothing answers, retries 5 times
(sleeping 2, 4, 8, 16 and 16 s) and then exits with status 1
(``JupyterHubSingleUser.check_hub_version`` in JupyterHub 6.1). So the floor's server gets a
stand-in (:class:`StandInHub`): a plain HTTP listener on the benchmark's host that answers
every request with ``200`` and the ``X-JupyterHub-Version`` header, and does nothing else (no
authentication, no database, no proxy). The server itself is unchanged: the same program the
anchor's jobs run, with its whole import chain (hub handlers, ORM, SQLAlchemy) and its own
start-up, up to the moment ``GET {prefix}api`` answers.

The token in its environment is a placeholder the stand-in accepts: it grants nothing, so it
may appear on the job's command line.
"""

from __future__ import annotations

import http.server
import shlex
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

HUB_VERSION = "6.1.1"
PREFIX = "/user/{user}/"
PLACEHOLDER_TOKEN = "floor-placeholder-grants-nothing"


class _Answer(http.server.BaseHTTPRequestHandler):
    def _ok(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        body = b'{"version": "' + HUB_VERSION.encode() + b'"}'
        self.send_response(200)
        self.send_header("X-JupyterHub-Version", HUB_VERSION)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _ok

    def log_message(self, format: str, *args: object) -> None:
        return None


class StandInHub:
    """An HTTP listener on 127.0.0.1 that answers any request with 200 (see the module)."""

    def __init__(self) -> None:
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Answer)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/hub/api"

    def __enter__(self) -> StandInHub:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


@contextmanager
def stand_in_hub() -> Iterator[StandInHub]:
    with StandInHub() as hub:
        yield hub


def singleuser_environment(hub: StandInHub, user: str, port: int) -> dict[str, str]:
    """The ``JUPYTERHUB_*`` variables of a single-user server of ``user`` on
    127.0.0.1:``port`` with ``hub`` as its hub."""
    prefix = PREFIX.format(user=user)
    return {
        "JUPYTERHUB_API_TOKEN": PLACEHOLDER_TOKEN,
        "JUPYTERHUB_API_URL": hub.api_url,
        "JUPYTERHUB_BASE_URL": "/",
        "JUPYTERHUB_SERVICE_PREFIX": prefix,
        "JUPYTERHUB_SERVICE_URL": f"http://127.0.0.1:{port}{prefix}",
        "JUPYTERHUB_USER": user,
        "JUPYTERHUB_CLIENT_ID": f"jupyterhub-user-{user}",
        "JUPYTERHUB_OAUTH_CALLBACK_URL": f"{prefix}oauth_callback",
    }


def singleuser_command(jobenv: Path, hub: StandInHub, user: str, port: int) -> str:
    """The shell command that starts ``jupyterhub-singleuser`` on 127.0.0.1:``port`` with
    ``hub`` as its hub; it answers ``GET`` :func:`probe_path` once it is up."""
    env = singleuser_environment(hub, user, port)
    program = str(jobenv / "bin" / "jupyterhub-singleuser")
    return shlex.join(["env", *(f"{k}={v}" for k, v in env.items()), program])


def bare_server_command(jobenv: Path, port: int) -> str:
    """A bare ``jupyter-server`` (no JupyterHub extension) on 127.0.0.1:``port``; it answers
    ``GET /api/status``. The earlier floor, kept for comparison."""
    return (
        f"{jobenv}/bin/jupyter-server --ServerApp.ip=127.0.0.1 --ServerApp.port={port} "
        "--ServerApp.port_retries=0 --ServerApp.open_browser=False "
        "--IdentityProvider.token=''"
    )


def probe_path(user: str) -> str:
    """``{prefix}api`` of :func:`singleuser_command`'s server (answers without a token)."""
    return PREFIX.format(user=user) + "api"
