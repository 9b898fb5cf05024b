"""``jobspawner-singleuser``: jupyterhub-singleuser that binds a port the OS gives it.

Run inside the job instead of ``jupyterhub-singleuser``. The server binds port 0 (or the
site's pinned port or a port of its range, :mod:`jobspawner.jobside.port_binding`) and keeps
that socket (no probe-then-release race), then reports the bound port to the hub with its
own API token before it serves. The hub accepts the report only while this server's start is
pending (see :mod:`jobspawner.lifecycle.handshake`), then routes to the server only once it
answered a
challenge with the proof of this start's key (:mod:`jobspawner.jobside.server_proof`).

Environment: the usual ``JUPYTERHUB_*`` variables, plus optionally
``JOBSPAWNER_SERVER_HOST`` (the name or address to report; default: this host's name).
The server's API token is not in the job script: ``JOBSPAWNER_SECRETS_FILE`` names a private
JSON file the hub wrote before submitting the job; it is read into the environment and
deleted before anything else happens. The server-check key in it is kept in this process's
memory only, out of the environment that kernels and terminals inherit.
"""

from __future__ import annotations

import json
import os
import re
import socket
import ssl
import stat
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

REPORT_TIMEOUT = 120.0
SECRETS_FILE_ENV = "JOBSPAWNER_SECRETS_FILE"  # jobspec.SECRETS_FILE_ENV, without the import


def load_secrets(environ: Any = None) -> str:
    """Move the secrets file named by ``JOBSPAWNER_SECRETS_FILE`` into the environment.

    The file must be a regular file of this user's, readable by nobody else, and is deleted
    once read, so the token is in no file the job leaves behind. Exits with a clear message
    when the file is missing or not private (a job that was requeued or started twice).
    Returns the server-check key (:data:`jobspawner.jobside.server_proof.KEY_NAME`), which is not
    put into the environment; "" when the file holds none.
    """
    from jobspawner.jobside.server_proof import KEY_NAME

    environ = os.environ if environ is None else environ
    path = environ.pop(SECRETS_FILE_ENV, "")
    if not path:
        return ""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as e:
        raise SystemExit(
            f"jobspawner: cannot read the server's secrets file {path}: {e.strerror}. It is "
            "written when the job is submitted and deleted when the server starts, so a job "
            "can start its server only once: start a new server from the hub."
        ) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_uid != os.geteuid() or info.st_mode & 0o077:
            raise SystemExit(
                f"jobspawner: refusing the secrets file {path}: it must be a regular file of "
                "yours that nobody else can read or write (mode 0600)"
            )
        with os.fdopen(fd, "rb", closefd=False) as f:
            data = json.loads(f.read() or b"{}")
    finally:
        os.close(fd)
        os.unlink(path)
    if not isinstance(data, dict):
        raise SystemExit(f"jobspawner: the secrets file {path} is not a JSON object")
    key = str(data.pop(KEY_NAME, ""))
    environ.update({str(k): str(v) for k, v in data.items()})
    return key


def report_url() -> str:
    api = os.environ["JUPYTERHUB_API_URL"].rstrip("/")
    user = urllib.parse.quote(os.environ["JUPYTERHUB_USER"], safe="")
    server = urllib.parse.quote(os.environ.get("JUPYTERHUB_SERVER_NAME", ""), safe="")
    return f"{api}/jobspawner/port/{user}" + (f"/{server}" if server else "")


def _ssl_context() -> ssl.SSLContext | None:
    ca = os.environ.get("JUPYTERHUB_SSL_CLIENT_CA")
    if not ca:
        return None
    ctx = ssl.create_default_context(cafile=ca)
    cert, key = os.environ.get("JUPYTERHUB_SSL_CERTFILE"), os.environ.get("JUPYTERHUB_SSL_KEYFILE")
    if cert:
        ctx.load_cert_chain(cert, key)
    return ctx


def report_port(port: int, host: str | None = None, timeout: float = REPORT_TIMEOUT) -> None:
    """POST the bound port to the hub; retry while the hub is unreachable, fail on refusal."""
    host = host or os.environ.get("JOBSPAWNER_SERVER_HOST") or socket.gethostname()
    body = json.dumps({"host": host, "port": port}).encode()
    request = urllib.request.Request(
        report_url(),
        data=body,
        method="POST",
        headers={
            "Authorization": f"token {os.environ['JUPYTERHUB_API_TOKEN']}",
            "Content-Type": "application/json",
        },
    )
    deadline = time.monotonic() + timeout
    delay = 0.2
    while True:
        try:
            with urllib.request.urlopen(request, timeout=10, context=_ssl_context()):
                return
        except urllib.error.HTTPError as e:
            detail = e.read().decode(errors="replace")
            raise SystemExit(
                f"jobspawner: the hub refused the port report ({e.code}): {detail}"
            ) from None
        except (urllib.error.URLError, OSError) as e:
            if time.monotonic() > deadline:
                raise SystemExit(
                    f"jobspawner: could not reach the hub at {report_url()}: {e}"
                ) from None
            time.sleep(delay)
            delay = min(delay * 2, 5.0)


def report_ending(timeout: float = 5.0) -> None:
    """Tell the hub this server is stopping, so that it looks at the job now (best effort:
    the hub notices the job's end at its next status round anyway)."""
    try:
        url = report_url().replace("/jobspawner/port/", "/jobspawner/ending/", 1)
        token = os.environ["JUPYTERHUB_API_TOKEN"]
    except KeyError:
        return
    request = urllib.request.Request(
        url, data=b"", method="POST", headers={"Authorization": f"token {token}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout, context=_ssl_context()):
            return
    except (urllib.error.URLError, OSError, ValueError):
        return


def proof_handler(key: str, version: str) -> Any:
    """The tornado handler of ``GET <base_url>api/jobspawner/proof?challenge=<hex>``: the
    proof of ``key`` for the hub's challenge (:mod:`jobspawner.jobside.server_proof`), with the
    server's version. No login: the answer is worth nothing for another challenge."""
    from tornado.web import RequestHandler

    from jobspawner.jobside import server_proof

    class ProofHandler(RequestHandler):
        def get(self) -> None:
            challenge = self.get_query_argument("challenge", "")
            self.set_header("Content-Type", "application/json")
            self.set_header("Cache-Control", "no-store")
            if not key or not server_proof.valid_challenge(challenge):
                self.set_status(400)
                self.finish(json.dumps({"message": "a challenge of 32 hex digits is required"}))
                return
            proof = server_proof.proof(key, challenge)
            self.finish(json.dumps({"version": version, "proof": proof}))

    return ProofHandler


def main(argv: list[str] | None = None) -> Any:
    key = load_secrets()
    from jobspawner.jobside.deferred_imports import defer_all

    defer_all()  # before the server's imports: see jobspawner.jobside.deferred_imports
    from jupyter_server import __version__ as server_version
    from jupyter_server.serverapp import ServerApp
    from jupyter_server.utils import url_path_join
    from jupyterhub.singleuser.extension import JupyterHubSingleUser

    from jobspawner.jobside.port_binding import PortChoice, PortChoiceError, bind
    from jobspawner.jobside.server_proof import PROOF_PATH, valid_key

    if key and not valid_key(key):
        raise SystemExit("jobspawner: the server-check key in the secrets file is malformed")

    class HandshakeServerApp(ServerApp):
        """A ServerApp that binds its port itself (any free port, or the hub's pinned port or
        range: :mod:`jobspawner.jobside.port_binding`), reports the port it got, and answers the
        hub's server check with the proof of this start's key."""

        def init_webapp(self) -> None:
            super().init_webapp()
            path = re.escape(url_path_join(self.base_url, PROOF_PATH))  # a pattern
            web_app: Any = self.web_app  # jupyter_server's application class is untyped
            web_app.add_handlers(".*$", [(path, proof_handler(key, server_version))])
            if os.environ.get("JOBSPAWNER_WALLTIME") == "1":  # c.JobSpawner.walltime_notices
                from jobspawner.jobside import walltime_server

                walltime_url = report_url().replace("/jobspawner/port/", "/jobspawner/walltime/", 1)
                walltime_server.install(self, walltime_url, _ssl_context())

        def _find_http_port(self) -> None:
            return None  # no probe-and-release: the real bind below asks the OS

        def _bind_http_server_tcp(self) -> bool:
            try:
                sockets = bind(PortChoice.from_environment(), self.ip or None)
            except PortChoiceError as e:
                raise SystemExit(str(e)) from None
            self.http_server.add_sockets(sockets)
            self.port = sockets[0].getsockname()[1]
            self.log.info("jobspawner: bound port %s; reporting it to the hub", self.port)
            report_port(self.port)
            return True

    class JobSpawnerSingleUser(JupyterHubSingleUser):  # type: ignore[misc]
        serverapp_class = HandshakeServerApp

        @classmethod
        def get_extension_package(cls) -> str:
            return "jupyterhub"

    try:
        return JobSpawnerSingleUser.launch_instance(argv)
    finally:
        report_ending()


if __name__ == "__main__":
    sys.exit(main())
