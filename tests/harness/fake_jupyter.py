"""Tiny HTTP servers that answer like (or unlike) a Jupyter server, for readiness checks."""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets
from tornado.web import Application, RequestHandler

Answer = tuple[int, Any]  # (status code, JSON-able body or bytes)


def jupyter_api(prefix: str) -> dict[str, Answer]:
    """The answer of a Jupyter server whose base URL is ``prefix``: its ``api`` root."""
    return {f"{prefix.rstrip('/')}/api": (200, {"version": "2.14.0"})}


@dataclass
class FakeServer:
    port: int
    seen: list[str] = field(default_factory=list)  # the paths requested, in order


@asynccontextmanager
async def fake_server(
    answers: dict[str, Answer], host: str = "127.0.0.1"
) -> AsyncIterator[FakeServer]:
    """Serve ``answers`` (path -> (code, body)) on ``host``, any other path 404."""
    seen: list[str] = []

    class Handler(RequestHandler):
        def get(self) -> None:
            seen.append(self.request.path)
            code, body = answers.get(self.request.path, (404, {"message": "not found"}))
            self.set_status(code)
            if code in (301, 302):
                self.set_header("Location", "/hub/login")
            self.finish(body if isinstance(body, bytes) else json.dumps(body))

    server = HTTPServer(Application([(r".*", Handler)]))
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sockets = bind_sockets(0, host, family=family)
    server.add_sockets(sockets)
    try:
        yield FakeServer(int(sockets[0].getsockname()[1]), seen)
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
