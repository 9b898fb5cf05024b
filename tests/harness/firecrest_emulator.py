"""A FirecREST v2 emulator and a tiny OIDC token endpoint, for the FirecREST backend's tests.

The real FirecREST v2 server is not installable here; this emulates the endpoints a spawner
uses, following ../shared/reference/firecrest.md (read from the v2 server's source and
OpenAPI description 2.5.6): the same paths, JSON shapes, status codes, error bodies and the
``F7T-AppVersion`` header. Like the real server it runs Slurm's commands as the token's
user (here ``runuser`` on the test Slurm instead of SSH to a login node). Differences, on
purpose: job queries use ``squeue -t all`` in place of ``sacct`` (the test Slurm has no
accounting, where the real server would answer 500), and only the endpoints below exist.

Tokens are HS256 JWTs signed with a key the emulator and the token endpoint share (an
``oct`` key of the server's JWKS); the user is the ``preferred_username`` claim.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import os
import pwd
import secrets
import socket
import threading
import time
from collections import Counter
from typing import Any

from tornado.httpserver import HTTPServer
from tornado.web import Application, RequestHandler

APP_VERSION = "2.5.6"
MIN_REMAINING = 30  # seconds a token must have left


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(claims: dict[str, Any], key: bytes) -> str:
    head = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = _b64(json.dumps(claims).encode())
    mac = hmac.new(key, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{_b64(mac)}"


def verify(token: str, key: bytes) -> dict[str, Any] | None:
    try:
        head, body, mac = token.split(".")
        good = hmac.new(key, f"{head}.{body}".encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(good, _unb64(mac)):
            return None
        claims = json.loads(_unb64(body))
        return claims if isinstance(claims, dict) else None
    except (ValueError, TypeError):
        return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class State:
    """What the emulator and token endpoint share (and the tests inspect)."""

    def __init__(self, system: str = "cluster") -> None:
        self.key = secrets.token_bytes(32)
        self.system = system
        self.requests: Counter[str] = Counter()  # "METHOD /path" -> count
        self.token_grants: Counter[str] = Counter()
        self.clients: dict[str, tuple[str, str]] = {}  # client_id -> (secret, user for CC)
        self.refresh_tokens: dict[str, str] = {}  # refresh token -> user
        self.access_lifespan = 300
        self.down = False

    def mint(self, user: str, lifespan: int | None = None) -> str:
        now = int(time.time())
        life = self.access_lifespan if lifespan is None else lifespan
        claims = {"preferred_username": user, "iat": now, "exp": now + life}
        claims["jti"] = secrets.token_hex(8)  # unique, as a provider's tokens are
        return sign(claims, self.key)

    def login(self, user: str, lifespan: int | None = None) -> dict[str, Any]:
        """An auth state as OAuthenticator keeps it after a login."""
        refresh = secrets.token_urlsafe(24)
        self.refresh_tokens[refresh] = user
        return {"access_token": self.mint(user, lifespan), "refresh_token": refresh}


def _error(handler: RequestHandler, status: int, message: str, kind: str = "error") -> None:
    handler.set_status(status)
    handler.finish(
        {"errorType": kind, "message": message, "causedBy": None, "data": None, "user": None}
    )


def _slurm_conf() -> dict[str, str]:
    conf = os.environ.get("SLURM_CONF")
    return {"SLURM_CONF": conf} if conf else {}


async def _run(user: str, argv: list[str], stdin: str | None = None) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        "runuser",
        "-u",
        user,
        "--",
        *argv,
        stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        # the test cluster's slurm.conf when it is set apart (tests/slurm/cluster.py)
        env={"PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin", **_slurm_conf()},
        cwd="/",
    )
    out, err = await asyncio.wait_for(proc.communicate(stdin.encode() if stdin else None), 30)
    return proc.returncode or 0, out.decode(), err.decode()


SQUEUE_FORMAT = "%i|%j|%T|%r|%N|%P|%u|%a|%Z|%S|%e|%l|%M"


def _epoch(text: str) -> int | None:
    try:
        return int(time.mktime(time.strptime(text, "%Y-%m-%dT%H:%M:%S")))
    except ValueError:
        return None


def job_models(text: str, cluster: str) -> list[dict[str, Any]]:
    """JobModel values from squeue lines (the fields the reference lists)."""
    jobs = []
    for line in text.splitlines():
        parts = line.split("|")
        if len(parts) < 13:
            continue
        jid, name, state, reason, nodes, part, user, account, wd, start, end, limit, elapsed = (
            parts[:13]
        )
        jobs.append(
            {
                "jobId": int(jid),
                "name": name,
                "status": {
                    "state": state,
                    "stateReason": reason,
                    "exitCode": 0 if state in ("COMPLETED", "CANCELLED") else None,
                    "interruptSignal": 15 if state == "CANCELLED" else None,
                },
                "time": {
                    "elapsed": elapsed,
                    "start": _epoch(start),
                    "end": _epoch(end),
                    "suspended": 0,
                    "limit": limit,
                },
                "allocationNodes": 1,
                "cluster": cluster,
                "nodes": "" if nodes in ("", "(null)") else nodes,
                "partition": part,
                "user": user,
                "account": account,
                "workingDirectory": wd,
            }
        )
    return jobs


class Base(RequestHandler):
    state: State
    user = ""

    def initialize(self, state: State) -> None:
        self.state = state

    def set_default_headers(self) -> None:
        self.set_header("F7T-AppVersion", APP_VERSION)
        self.set_header("Content-Type", "application/json")

    def prepare(self) -> None:
        st = self.state
        st.requests[f"{self.request.method} {self.request.path}"] += 1
        if st.down:
            _error(self, 503, f"System '{st.system}' is not available")
            return
        auth = self.request.headers.get("Authorization", "")
        if not auth.startswith("Bearer "):
            self.set_status(401)
            self.finish({"message": "Not authenticated"})
            return
        claims = verify(auth[len("Bearer ") :], st.key)
        if claims is None:
            _error(self, 401, "Access token is invalid.", "authentication")
            return
        if float(claims.get("exp", 0)) - time.time() < MIN_REMAINING:
            _error(
                self,
                401,
                f"expires too soon (less than {MIN_REMAINING}s remaining)",
                "authentication",
            )
            return
        self.user = str(claims.get("preferred_username", ""))

    def check_system(self, system: str) -> bool:
        if system != self.state.system:
            _error(self, 404, f"System '{system}' does not exist")
            return False
        return True


class Systems(Base):
    def get(self) -> None:
        self.finish({"systems": [{"name": self.state.system, "scheduler": {"type": "slurm"}}]})


class UserInfo(Base):
    def get(self, system: str) -> None:
        if not self.check_system(system):
            return
        pw = pwd.getpwnam(self.user)
        import grp

        g = grp.getgrgid(pw.pw_gid)
        self.finish(
            {
                "user": {"id": str(pw.pw_uid), "name": pw.pw_name},
                "group": {"id": str(g.gr_gid), "name": g.gr_name},
                "groups": [],
            }
        )


class Jobs(Base):
    async def post(self, system: str) -> None:
        if not self.check_system(system):
            return
        body = json.loads(self.request.body or b"{}")
        job = body.get("job") or {}
        workdir = job.get("workingDirectory") or job.get("working_directory")
        if not workdir:
            self.set_status(422)
            self.finish(
                {
                    "detail": [
                        {
                            "type": "missing",
                            "loc": ["body", "job", "workingDirectory"],
                            "msg": "Field required",
                        }
                    ]
                }
            )
            return
        argv = ["sbatch", f"--chdir={workdir}"]
        env = job.get("env")
        if env:
            argv.append("--export=" + ",".join(["ALL", *(f"{k}={v}" for k, v in env.items())]))
        for field, opt in (
            ("partition", "--partition"),
            ("reservation", "--reservation"),
            ("account", "--account"),
            ("name", "--job-name"),
        ):
            if job.get(field):
                argv.append(f"{opt}={job[field]}")
        code, out, err = await _run(self.user, argv, stdin=job.get("script", ""))
        if code != 0 or "Submitted batch job" not in out:
            _error(self, 400, f"sbatch failed: {err.strip() or out.strip()}")
            return
        self.set_status(201)
        self.finish({"jobId": out.strip().split()[-1]})

    async def get(self, system: str) -> None:
        if not self.check_system(system):
            return
        allusers = self.get_query_argument("allusers", "false").lower() == "true"
        argv = ["squeue", "-h", "-t", "all", "-o", SQUEUE_FORMAT]
        if not allusers:
            argv.append(f"--user={self.user}")
        code, out, err = await _run(self.user, argv)
        if code != 0:
            _error(self, 500, err.strip())
            return
        self.finish({"jobs": job_models(out, self.state.system)})


class Job(Base):
    async def get(self, system: str, job_id: str) -> None:
        if not self.check_system(system):
            return
        code, out, _ = await _run(
            self.user, ["squeue", "-h", "-t", "all", "-j", job_id, "-o", SQUEUE_FORMAT]
        )
        jobs = job_models(out, self.state.system) if code == 0 else []
        if not jobs:
            _error(self, 404, "Job not found.")
            return
        self.finish({"jobs": jobs})

    async def delete(self, system: str, job_id: str) -> None:
        if not self.check_system(system):
            return
        _, _, err = await _run(self.user, ["scancel", "--verbose", job_id])
        errors = [line for line in err.splitlines() if "error:" in line]
        if errors:
            _error(self, 500, errors[0].split("error:", 1)[1].strip())
            return
        self.set_status(204)
        self.finish()


class Tail(Base):
    async def get(self, system: str) -> None:
        if not self.check_system(system):
            return
        path = self.get_query_argument("path")
        lines = self.get_query_argument("lines", "10")
        size = self.get_query_argument("bytes", None)
        count = ["-c", size] if size is not None else ["-n", lines]
        code, out, err = await _run(self.user, ["tail", *count, "--", path])
        if code != 0:
            _error(self, 400, err.strip() or "tail failed")
            return
        self.finish(
            {
                "output": {
                    "content": out,
                    "contentType": "lines",
                    "startPosition": -int(lines),
                    "endPosition": -1,
                }
            }
        )


class Mkdir(Base):
    async def post(self, system: str) -> None:
        if not self.check_system(system):
            return
        body = json.loads(self.request.body or b"{}")
        path = body.get("sourcePath", "")
        argv = ["mkdir", *(["-p"] if body.get("parent") else []), "--", path]
        code, _, err = await _run(self.user, argv)
        if code != 0:
            _error(self, 400, err.strip())
            return
        self.set_status(201)
        self.finish({"output": {"name": os.path.basename(path), "type": "d"}})


class Chmod(Base):
    async def put(self, system: str) -> None:
        if not self.check_system(system):
            return
        body = json.loads(self.request.body or b"{}")
        code, _, err = await _run(
            self.user, ["chmod", str(body.get("mode")), "--", str(body.get("path"))]
        )
        if code != 0:
            _error(self, 400, err.strip())
            return
        self.finish(
            {
                "output": {
                    "name": os.path.basename(str(body.get("path"))),
                    "permissions": body.get("mode"),
                }
            }
        )


class Upload(Base):
    async def post(self, system: str) -> None:
        if not self.check_system(system):
            return
        folder = self.get_query_argument("path")
        files = self.request.files.get("file") or []
        if not files:
            _error(self, 400, "no file")
            return
        target = os.path.join(folder, os.path.basename(files[0]["filename"]))
        script = 'umask 077 && cat > "$1"'
        code, _, err = await _run(
            self.user, ["sh", "-c", script, "sh", target], stdin=files[0]["body"].decode()
        )
        if code != 0:
            _error(self, 400, err.strip())
            return
        self.set_status(204)
        self.finish()


class Rm(Base):
    """``DELETE /filesystem/{system}/ops/rm?path=``: ``rm -r`` as the user; the v2 server's
    error mapping: "No such file or directory" 404, "Permission denied" 403."""

    async def delete(self, system: str) -> None:
        if not self.check_system(system):
            return
        path = self.get_query_argument("path")
        code, _, err = await _run(self.user, ["rm", "-r", "--interactive=never", "--", path])
        if code != 0:
            status = 404 if "No such file" in err else 403 if "Permission denied" in err else 500
            _error(self, status, f"Remote process failed with exit status:{code} and error "
                   f"message:{err.strip()}")  # fmt: skip
            return
        self.set_status(204)
        self.finish()


class Liveness(RequestHandler):
    def get(self) -> None:
        self.set_header("F7T-AppVersion", APP_VERSION)
        self.finish({"healthcheckRuns": {}})


class Token(RequestHandler):
    """``POST /token``: client credentials and refresh-token grants (refresh tokens rotate)."""

    def initialize(self, state: State) -> None:
        self.state = state

    def post(self) -> None:
        st = self.state
        grant = self.get_body_argument("grant_type", "")
        client_id = self.get_body_argument("client_id", "")
        secret = self.get_body_argument("client_secret", "")
        st.token_grants[grant] += 1
        known = st.clients.get(client_id)
        if known is None or not hmac.compare_digest(known[0], secret):
            self.set_status(401)
            self.finish(
                {"error": "invalid_client", "error_description": "Invalid client credentials"}
            )
            return
        if grant == "client_credentials":
            self.finish(
                {
                    "access_token": st.mint(known[1]),
                    "expires_in": st.access_lifespan,
                    "token_type": "Bearer",
                }
            )
            return
        if grant == "refresh_token":
            user = st.refresh_tokens.pop(self.get_body_argument("refresh_token", ""), None)
            if user is None:
                self.set_status(400)
                self.finish({"error": "invalid_grant", "error_description": "Token is not active"})
                return
            new = secrets.token_urlsafe(24)
            st.refresh_tokens[new] = user
            self.finish(
                {
                    "access_token": st.mint(user),
                    "expires_in": st.access_lifespan,
                    "refresh_token": new,
                    "token_type": "Bearer",
                }
            )
            return
        self.set_status(400)
        self.finish({"error": "unsupported_grant_type"})


def application(state: State) -> Application:
    kw = {"state": state}
    return Application(
        [
            (r"/status/liveness/", Liveness),
            (r"/status/systems", Systems, kw),
            (r"/status/([^/]+)/userinfo", UserInfo, kw),
            (r"/compute/([^/]+)/jobs", Jobs, kw),
            (r"/compute/([^/]+)/jobs/([0-9]+)", Job, kw),
            (r"/filesystem/([^/]+)/ops/tail", Tail, kw),
            (r"/filesystem/([^/]+)/ops/mkdir", Mkdir, kw),
            (r"/filesystem/([^/]+)/ops/chmod", Chmod, kw),
            (r"/filesystem/([^/]+)/ops/upload", Upload, kw),
            (r"/filesystem/([^/]+)/ops/rm", Rm, kw),
            (r"/auth/token", Token, kw),
        ]
    )


class Emulator:
    """The emulator and the token endpoint on one loopback port, in a thread of its own."""

    def __init__(self, system: str = "cluster") -> None:
        self.state = State(system)
        self.port = free_port()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready = threading.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def token_url(self) -> str:
        return f"{self.url}/auth/token"

    def start(self) -> None:
        def serve() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            server = HTTPServer(application(self.state))
            server.listen(self.port, "127.0.0.1")
            self._ready.set()
            loop.run_forever()
            server.stop()
            loop.close()

        self._thread = threading.Thread(target=serve, daemon=True)
        self._thread.start()
        self._ready.wait(10)

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
