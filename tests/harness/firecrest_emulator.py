"""A FirecREST v2 emulator and a tiny OIDC token endpoint, for the FirecREST backend's tests.

The real FirecREST v2 server is not installable here; this emulates the endpoints a spawner
uses as the real v2 server answers them: ``tests/fcrest/test_fixtures.py`` replays the
answers ``tests/fcrest/record_real.py`` recorded from the real server (eth-cscs/firecrest-v2
on the test Slurm) and checks the emulator's against them (status codes, JSON shapes and
types, error bodies with the user's name, the values that matter). Like the real server it
runs Slurm's commands as the token's user (here ``runuser`` on the test Slurm instead of
SSH to a login node), and file uploads are plain writes with the session's umask (0644,
following and replacing an existing name) as the real server's are.

A job the queue no longer lists is read from Slurm's accounting (``sacct``, the test
Slurm has slurmdbd), as the server reads it. ``State.accounting = False`` answers as the
real server does on a Slurm without accounting: every job query is a 500. The
``F7T-AppVersion`` header is a release's (a server built from source says ``2.x.x``), and
only the endpoints below exist.

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


#: the key id the tokens name (the real server looks its JWKS key up by it)
KEY_ID = "jobspawner-tests"


def sign(claims: dict[str, Any], key: bytes) -> str:
    head = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": KEY_ID}).encode())
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
        self.accounting = True  # False: job queries fail as on a Slurm without accounting

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


def _error(
    handler: RequestHandler,
    status: int,
    message: str,
    kind: str = "error",
    caused_by: list[str] | None = None,
    data: Any = None,
) -> None:
    """The v2 server's error body; ``user`` is the token's user once it was accepted."""
    handler.set_status(status)
    user = getattr(handler, "user", "") or None
    handler.finish(
        {"errorType": kind, "message": message, "causedBy": caused_by, "data": data, "user": user}
    )


def _slurm_error(code: int, err: str) -> str:
    """How the server words a Slurm command's failure (its std_err kept whole)."""
    return f"Unexpected Slurm command response. exit_status:{code} std_err:{err}"


def _remote_error(handler: RequestHandler, code: int, err: str) -> None:
    """A failed file command: 404 for a missing file, 403 for a refused one, else 500."""
    text = err.strip()
    status = (
        404
        if "No such file" in text
        else 403
        if "Permission denied" in text or "Operation not permitted" in text
        else 500
    )
    _error(handler, status, f"Remote process failed with exit status:{code} and error "
           f"message:{text}")  # fmt: skip


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
        env={  # as in the real server's SSH session (which sbatch --export=ALL passes on)
            "PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin",
            "SSH_CONNECTION": "127.0.0.1 0 127.0.0.1 22",
            **{k: v for k, v in os.environ.items() if k == "SLURM_CONF"},
        },
        cwd="/",
    )
    out, err = await asyncio.wait_for(proc.communicate(stdin.encode() if stdin else None), 30)
    return proc.returncode or 0, out.decode(), err.decode()


SQUEUE_FORMAT = "%i|%j|%T|%r|%N|%P|%u|%a|%Z|%S|%e|%l|%M|%g|%Q"
#: The same fields from accounting, and the exit code (``code:signal``).
SACCT_FORMAT = (
    "JobID,JobName,State,Reason,NodeList,Partition,User,Account,WorkDir,Start,End,"
    "Timelimit,Elapsed,Group,Priority,ExitCode"
)


def _epoch(text: str) -> int | None:
    try:
        return int(time.mktime(time.strptime(text, "%Y-%m-%dT%H:%M:%S")))
    except ValueError:
        return None


def _seconds(text: str) -> int | None:
    """Slurm's ``[days-][hours:]minutes:seconds`` in seconds (None for ``UNLIMITED`` etc.)."""
    days, _, rest = text.rpartition("-")
    try:
        d = int(days) if days else 0
        parts = [int(p) for p in rest.split(":")]
    except ValueError:
        return None
    while len(parts) < 3:
        parts.insert(0, 0)
    if len(parts) != 3:
        return None
    return d * 86400 + parts[0] * 3600 + parts[1] * 60 + parts[2]


_cluster_name: list[str] = []


def cluster_name() -> str:
    """Slurm's ClusterName, which the real server reports as each job's ``cluster``."""
    if not _cluster_name:
        import subprocess

        out = subprocess.run(
            ["scontrol", "show", "config"], capture_output=True, text=True, timeout=15
        ).stdout
        names = [
            ln.split("=", 1)[1].strip() for ln in out.splitlines() if ln.startswith("ClusterName")
        ]
        _cluster_name.append(names[0] if names else "")
    return _cluster_name[0]


def _exit_code(text: str) -> tuple[int, int]:
    """sacct's ``code:signal``."""
    code, _, signal = text.partition(":")
    return (int(code), int(signal)) if code.isdigit() and signal.isdigit() else (1, 0)


def job_models(text: str, ended: bool = False) -> list[dict[str, Any]]:
    """JobModel values from squeue lines (or, ``ended``, sacct lines: the same fields and
    the exit code), as the real server answers them: string ids, times in seconds
    (``limit``/``suspended`` null when unset), Slurm's ClusterName; an ended job carries
    accounting's exit code and signal and, for a cancel, its ``CANCELLED by <uid>``."""
    jobs = []
    for line in text.splitlines():
        parts = line.split("|")
        if len(parts) < (16 if ended else 15):
            continue
        (jid, name, state, reason, nodes, part, user, account, wd, start, end, limit,
         elapsed, group, priority) = parts[:15]  # fmt: skip
        done = ended and state not in ("PENDING", "RUNNING", "SUSPENDED", "COMPLETING")
        code, signal = _exit_code(parts[15]) if done else (0, 0)
        jobs.append(
            {
                "jobId": jid,
                "name": name,
                "status": {
                    "state": state,
                    "stateReason": reason,
                    "exitCode": code if done else None,
                    "interruptSignal": signal if done else None,
                },
                "time": {
                    "elapsed": _seconds(elapsed) or 0,
                    "start": _epoch(start),
                    "end": _epoch(end),
                    "suspended": None,
                    "limit": _seconds(limit),
                },
                "allocationNodes": 1,
                "cluster": cluster_name(),
                "group": group,
                "nodes": "" if nodes in ("", "(null)") else nodes,
                "partition": part,
                "priority": int(priority) if priority.isdigit() else 0,
                "tasks": [],
                "killRequestUser": None,
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
            _error(self, 401, "Not authenticated")
            return
        claims = verify(auth[len("Bearer ") :], st.key)
        if claims is None:
            _error(self, 401, "Access token is invalid.")
            return
        if float(claims.get("exp", 0)) - time.time() < MIN_REMAINING:
            message = f"Access token expires too soon (less than {MIN_REMAINING}s remaining)."
            _error(self, 401, message)
            return
        self.user = str(claims.get("preferred_username", ""))

    def check_system(self, system: str) -> bool:
        if system != self.state.system:
            _error(self, 404, "System not found")
            return False
        return True

    def check_accounting(self) -> bool:
        """The real server's answer to a job query on a Slurm without accounting."""
        if self.state.accounting:
            return True
        why = _slurm_error(1, "Slurm accounting storage is disabled\n")
        _error(self, 500, "Error executing Slurm command.", caused_by=[why])
        return False

    def body_json(self) -> dict[str, Any]:
        body = json.loads(self.request.body or b"{}")
        return body if isinstance(body, dict) else {}


class Systems(Base):
    def get(self) -> None:
        self.finish(
            {
                "systems": [
                    {
                        "name": self.state.system,
                        "scheduler": {"type": "slurm", "connectionMode": "ssh"},
                        "servicesHealth": [],
                    }
                ]
            }
        )


class UserInfo(Base):
    def get(self, system: str) -> None:
        if not self.check_system(system):
            return
        if not self.state.accounting:  # the server asks sacctmgr for the user's accounts
            why = "You are not running a supported accounting_storage plugin\n"
            why += "Only 'accounting_storage/slurmdbd' is supported.\n"
            caused = ["Error executing Slurm command.", _slurm_error(1, why)]
            _error(self, 500, "Error executing Slurm command.", caused_by=caused)
            return
        import grp

        pw = pwd.getpwnam(self.user)
        g = grp.getgrgid(pw.pw_gid)
        group = {"id": str(g.gr_gid), "name": g.gr_name}
        self.finish(
            {
                "user": {"id": str(pw.pw_uid), "name": pw.pw_name},
                "group": group,
                "groups": [group],
                "accounts": None,
            }
        )


class Partitions(Base):
    """``GET /status/{system}/partitions``: each partition's name, state, CPUs and nodes."""

    async def get(self, system: str) -> None:
        if not self.check_system(system):
            return
        code, out, err = await _run(self.user, ["sinfo", "-h", "-o", "%R|%a|%C|%D"])
        if code != 0:
            _error(self, 500, _slurm_error(code, err))
            return
        seen: dict[str, dict[str, Any]] = {}
        for line in out.splitlines():
            name, avail, cpus, nodes = ([*line.split("|"), "", "", "", ""])[:4]
            total = cpus.split("/")[-1]
            seen.setdefault(name, {
                "name": name, "partition": avail.upper(),
                "cpus": int(total) if total.isdigit() else 0,
                "totalNodes": int(nodes) if nodes.isdigit() else 0,
            })  # fmt: skip
        self.finish({"partitions": list(seen.values())})


class Nodes(Base):
    """``GET /status/{system}/nodes``: each node's CPUs, memory, state and partitions."""

    async def get(self, system: str) -> None:
        if not self.check_system(system):
            return
        fmt = "%N|%o|%C|%m|%e|%O|%T|%P|%X|%Y|%Z|%w|%f"
        code, out, err = await _run(self.user, ["sinfo", "-h", "-N", "-o", fmt])
        if code != 0:
            _error(self, 500, _slurm_error(code, err))
            return
        nodes: dict[str, dict[str, Any]] = {}
        for line in out.splitlines():
            f = line.split("|")
            if len(f) < 13:
                continue
            alloc, idle, _, total = (int(x) if x.isdigit() else 0 for x in f[2].split("/"))
            node = nodes.setdefault(f[0], {
                "name": f[0], "hostname": f[0], "address": f[1], "cpus": total,
                "allocCpus": alloc, "idleCpus": idle,
                "allocMemory": int(f[3]) if f[3].isdigit() else 0,
                "freeMemory": int(f[4]) if f[4].isdigit() else 0,
                "cpuLoad": float(f[5]) if f[5].replace(".", "", 1).isdigit() else 0.0,
                "state": [f[6].upper()], "partitions": [],
                "sockets": int(f[8]) if f[8].isdigit() else 0,
                "cores": int(f[9]) if f[9].isdigit() else 0,
                "threads": int(f[10]) if f[10].isdigit() else 0,
                "weight": int(f[11]) if f[11].isdigit() else 1, "features": f[12],
            })  # fmt: skip
            node["partitions"].append(f[7].rstrip("*"))
        self.finish({"nodes": list(nodes.values())})


def _validation_error(handler: Base, field: str) -> None:
    """The real server's 400 for a request body that misses a field."""
    message = (
        f"1 validation error:\n  {{'type': 'missing', 'loc': ('body', 'job', "
        f"'{field.lower()}'), 'msg': 'field required'}}"
    )
    fields = [{"location": "body", "message": "Field required", "name": "job"}]
    _error(handler, 400, message, kind="validation", data={"fields": fields})


class Jobs(Base):
    async def post(self, system: str) -> None:
        if not self.check_system(system):
            return
        job = self.body_json().get("job") or {}
        workdir = job.get("workingDirectory") or job.get("working_directory")  # either name
        if not workdir:
            _validation_error(self, "workingDirectory")
            return
        # what the real server runs: its --export always starts with ALL (and so overrides
        # a script's #SBATCH --export=NONE)
        env = job.get("env") or {}
        argv = ["sbatch", "--export=" + ",".join(["ALL", *(f"{k}={v}" for k, v in env.items())])]
        argv.append(f"--chdir={workdir}")
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
            _error(self, 500, _slurm_error(code, err))
            return
        self.set_status(201)
        self.finish({"jobId": out.strip().split()[-1]})

    async def get(self, system: str) -> None:
        if not self.check_system(system) or not self.check_accounting():
            return
        allusers = self.get_query_argument("allusers", "false").lower() == "true"
        argv = ["squeue", "-h", "-o", SQUEUE_FORMAT]
        if not allusers:
            argv.append(f"--user={self.user}")
        code, out, err = await _run(self.user, argv)
        if code != 0:
            why = _slurm_error(code, err)
            _error(self, 500, "Error executing Slurm command.", caused_by=[why])
            return
        self.finish({"jobs": job_models(out)})


class Job(Base):
    async def get(self, system: str, job_id: str) -> None:
        if not self.check_system(system) or not self.check_accounting():
            return
        if not job_id.isdigit():
            why = _slurm_error(1, f"sacct: fatal: Bad job/step specified: {job_id}\n")
            _error(self, 500, "Error executing Slurm command.", caused_by=[why])
            return
        code, out, _ = await _run(self.user, ["squeue", "-h", "-j", job_id, "-o", SQUEUE_FORMAT])
        jobs = job_models(out) if code == 0 else []
        if not jobs:  # ended: what Slurm's accounting remembers, as the server reads it
            argv = ["sacct", "-n", "-X", "-P", "-j", job_id, "-o", SACCT_FORMAT]
            code, out, _ = await _run(self.user, argv)
            jobs = job_models(out, ended=True) if code == 0 else []
        if not jobs:
            _error(self, 404, "Job not found.")
            return
        self.finish({"jobs": jobs})

    async def delete(self, system: str, job_id: str) -> None:
        if not self.check_system(system):
            return
        code, _, err = await _run(self.user, ["scancel", "--verbose", job_id])
        if "error:" in err:
            _error(self, 500, _slurm_error(code, err))
            return
        self.set_status(204)
        self.finish()


async def _entry(user: str, path: str) -> dict[str, Any] | None:
    """The ``output`` of mkdir and chmod answers: the path's ``ls -l`` fields."""
    fmt = "%U|%G|%A|%s|%F|%Y"
    code, out, _ = await _run(user, ["stat", "-c", fmt, "--", path])
    if code != 0:
        return None
    owner, group, perms, size, kind, mtime = out.strip().split("|")
    return {
        "name": path, "user": owner, "group": group, "permissions": perms[1:], "size": size,
        "type": "d" if kind == "directory" else "l" if "link" in kind else "-",
        "linkTarget": None,
        "lastModified": time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(int(mtime))),
    }  # fmt: skip


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
            _remote_error(self, code, err)
            return
        self.finish(
            {
                "output": {
                    "content": out,
                    "contentType": "bytes" if size is not None else "lines",
                    "startPosition": -int(size if size is not None else lines),
                    "endPosition": -1,
                }
            }
        )


class Stat(Base):
    """``GET /filesystem/{system}/ops/stat?path=&dereference=``: ``os.stat`` fields."""

    async def get(self, system: str) -> None:
        if not self.check_system(system):
            return
        path = self.get_query_argument("path")
        follow = self.get_query_argument("dereference", "false").lower() == "true"
        fmt = "%X|%Z|%d|%g|%i|%f|%Y|%h|%s|%u"
        code, out, err = await _run(
            self.user, ["stat", *(["-L"] if follow else []), "-c", fmt, "--", path]
        )
        if code != 0:
            _remote_error(self, code, err)
            return
        names = ("atime", "ctime", "dev", "gid", "ino", "mode", "mtime", "nlink", "size", "uid")
        values = out.strip().split("|")
        pairs = zip(names, values, strict=False)
        output = {n: int(v, 16) if n == "mode" else int(v) for n, v in pairs}
        self.finish({"output": output})


class Mkdir(Base):
    async def post(self, system: str) -> None:
        if not self.check_system(system):
            return
        body = self.body_json()
        path = str(body.get("sourcePath", ""))
        argv = ["mkdir", *(["-p"] if body.get("parent") else []), "--", path]
        code, _, err = await _run(self.user, argv)
        if code != 0:
            _remote_error(self, code, err)
            return
        self.set_status(201)
        self.finish({"output": await _entry(self.user, path)})


class Chmod(Base):
    async def put(self, system: str) -> None:
        if not self.check_system(system):
            return
        body = self.body_json()
        path = str(body.get("path"))
        code, _, err = await _run(self.user, ["chmod", str(body.get("mode")), "--", path])
        if code != 0:
            _remote_error(self, code, err)
            return
        self.finish({"output": await _entry(self.user, path)})


class Upload(Base):
    """As the real server: ``base64 -d > 'folder/name'`` in the user's SSH session, so the
    file gets the session's umask (0644) and an existing name is followed and replaced."""

    async def post(self, system: str) -> None:
        if not self.check_system(system):
            return
        folder = self.get_query_argument("path")
        files = self.request.files.get("file") or []
        if not files:
            _validation_error(self, "file")
            return
        target = f"{folder}/{files[0]['filename']}"
        code, _, err = await _run(
            self.user,
            ["sh", "-c", 'umask 022 && cat > "$1"', "sh", target],
            stdin=files[0]["body"].decode(),
        )
        if code != 0:
            _remote_error(self, code, err)
            return
        self.set_status(204)
        self.finish()


class Rm(Base):
    """``DELETE /filesystem/{system}/ops/rm?path=``: ``rm -r`` as the user."""

    async def delete(self, system: str) -> None:
        if not self.check_system(system):
            return
        path = self.get_query_argument("path")
        code, _, err = await _run(self.user, ["rm", "-r", "--interactive=never", "--", path])
        if code != 0:
            _remote_error(self, code, err)
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
            (r"/compute/([^/]+)/jobs/([^/]+)", Job, kw),
            (r"/status/([^/]+)/partitions", Partitions, kw),
            (r"/status/([^/]+)/nodes", Nodes, kw),
            (r"/filesystem/([^/]+)/ops/stat", Stat, kw),
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
        #: a real FirecREST server's URL the tests talk to instead (the emulator still
        #: issues the tokens): tests/fcrest/conftest.py's JOBSPAWNER_TEST_FIRECREST_REAL
        self.api_url: str | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready = threading.Event()

    @property
    def url(self) -> str:
        """Where FirecREST answers: the emulator, or a real server standing in for it."""
        return self.api_url or self.own_url

    @property
    def own_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def token_url(self) -> str:
        return f"{self.own_url}/auth/token"

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
