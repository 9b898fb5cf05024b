"""Tiny HTTP servers that answer like (or unlike) a Jupyter server, for readiness checks."""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jobspawner.jobside import server_proof
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets
from tornado.web import Application, RequestHandler

Answer = tuple[int, Any]  # (status code, JSON-able body or bytes)
#: An answer computed from the request (its query arguments): the proof of a challenge.
Responder = Callable[[RequestHandler], Answer]


def jupyter_api(prefix: str, key: Callable[[], str] | None = None) -> dict[str, Any]:
    """The answers of a Jupyter server whose base URL is ``prefix``: its ``api`` root, and
    with ``key`` (read when asked) the proof of that key that ``jobspawner-singleuser``
    gives for the hub's challenge."""
    api = f"{prefix.rstrip('/')}/api"
    answers: dict[str, Any] = {api: (200, {"version": "2.14.0"})}
    if key is not None:

        def prove(handler: RequestHandler) -> Answer:
            challenge = handler.get_query_argument("challenge", "")
            return 200, {"version": "2.14.0", "proof": server_proof.proof(key(), challenge)}

        answers[f"{api}/jobspawner/proof"] = prove
    return answers


def spawn_key(spawner: Any) -> Callable[[], str]:
    """The server-check key of ``spawner``'s current job, read (when called) where the job
    reads it: the secrets file the hub wrote as the user before submitting the job."""

    def read() -> str:
        path = Path(spawner.job_secrets)  # the job's own (random) name, kept in its state
        return str(json.loads(path.read_text())[server_proof.KEY_NAME])

    return read


def spawn_server(prefix: str, spawner: Any) -> dict[str, Any]:
    """The answers of the server ``spawner``'s job started: it knows the job's key."""
    return jupyter_api(prefix, spawn_key(spawner))


@dataclass
class FakeServer:
    port: int
    seen: list[str] = field(default_factory=list)  # the paths requested, in order
    uris: list[str] = field(default_factory=list)  # the same with their query strings


@asynccontextmanager
async def fake_server(
    answers: dict[str, Any],
    host: str = "127.0.0.1",
    otherwise: Answer = (404, {"message": "not found"}),
) -> AsyncIterator[FakeServer]:
    """Serve ``answers`` (path -> (code, body), or a :data:`Responder`) on ``host``, any
    other path ``otherwise``."""
    seen: list[str] = []
    uris: list[str] = []

    class Handler(RequestHandler):
        def get(self) -> None:
            seen.append(self.request.path)
            uris.append(self.request.uri or "")
            answer = answers.get(self.request.path, otherwise)
            code, body = answer(self) if callable(answer) else answer
            self.set_status(code)
            if code in (301, 302):
                self.set_header("Location", "/hub/login")
            self.finish(body if isinstance(body, bytes) else json.dumps(body))

    server = HTTPServer(Application([(r".*", Handler)]))
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sockets = bind_sockets(0, host, family=family)
    server.add_sockets(sockets)
    try:
        yield FakeServer(int(sockets[0].getsockname()[1]), seen, uris)
    finally:
        server.stop()


@asynccontextmanager
async def silent_server(host: str = "127.0.0.1") -> AsyncIterator[int]:
    """A port that accepts connections and never answers; yield the port."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.bind((host, 0))
    sock.listen(16)
    try:
        yield int(sock.getsockname()[1])
    finally:
        sock.close()


def closed_port() -> int:
    """A port on 127.0.0.1 where (very probably) nothing listens."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
