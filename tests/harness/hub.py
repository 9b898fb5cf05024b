"""A real JupyterHub (5.3 and later) + configurable-http-proxy for end-to-end tests.

Usage (synchronous, from a normal test function)::

    from harness.hub import running_hub

    def test_spawn(tmp_path):
        with running_hub(tmp_path, backend="slurm", config='c.JobSpawner.req_queue = "debug"',
                         env={"PATH": emulator_bin + ":" + os.environ["PATH"]}) as hub:
            hub.create_user("alice")
            events = hub.start_server("alice")          # follows the progress stream
            assert hub.get_via_proxy("alice", "api/status").status_code == 200
            job_id = hub.spawner_state("alice")["job_id"]
            hub.stop_server("alice")

Jobs run as the test users (``alice``, ``bob``; see harness.users) through
``exec_prefix = runuser -u {username} --`` and execute ``jobspawner-singleuser`` from the job
environment (harness.jobenv), which is built from Debian's /usr/bin/python3.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import requests
from jobspawner.facade.hub_compat import start_request_body

from .jobenv import ensure_jobenv
from .strict import need, need_root
from .users import ensure_users

CHP_PREFIX = Path(os.environ.get("JOBSPAWNER_TEST_NODE", "/opt/jobspawner-tests/node"))


class SpawnFailed(AssertionError):
    """A spawn ended with a failure event; ``events`` are the progress events seen."""

    def __init__(self, message: str, events: list[dict[str, Any]]) -> None:
        super().__init__(message)
        self.message = message
        self.events = events


def find_chp() -> str | None:
    """configurable-http-proxy: on PATH, or installed under CHP_PREFIX (npm) on demand."""
    found = shutil.which("configurable-http-proxy")
    if found:
        return found
    local = CHP_PREFIX / "node_modules" / ".bin" / "configurable-http-proxy"
    if local.exists():
        return str(local)
    if shutil.which("npm") is None:
        return None
    CHP_PREFIX.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["npm", "install", "--silent", "--prefix", str(CHP_PREFIX), "configurable-http-proxy"],
        check=False,
        capture_output=True,
    )
    return str(local) if local.exists() else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _server_path(name: str, server_name: str) -> str:
    return f"/users/{name}/servers/{server_name}" if server_name else f"/users/{name}/server"


class Hub:
    def __init__(self, url: str, token: str, log_path: Path, proc: subprocess.Popen[bytes]):
        self.url = url
        self.token = token
        self.log_path = log_path
        self.proc = proc
        self._user_tokens: dict[str, str] = {}

    # --- REST ---------------------------------------------------------------------------
    def api(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = kwargs.pop("headers", {})
        headers.setdefault("Authorization", f"token {self.token}")
        kwargs.setdefault("timeout", 30)
        return requests.request(method, f"{self.url}/hub/api{path}", headers=headers, **kwargs)

    def create_user(self, name: str) -> None:
        r = self.api("POST", f"/users/{name}")
        if r.status_code not in (201, 409):
            raise AssertionError(f"creating user {name}: {r.status_code} {r.text}")

    def user_token(self, name: str) -> str:
        if name not in self._user_tokens:
            self.create_user(name)
            r = self.api("POST", f"/users/{name}/tokens", json={"note": "e2e test"})
            r.raise_for_status()
            self._user_tokens[name] = r.json()["token"]
        return self._user_tokens[name]

    def user_model(self, name: str) -> dict[str, Any]:
        r = self.api("GET", f"/users/{name}", params={"include_stopped_servers": "1"})
        r.raise_for_status()
        return dict(r.json())

    def server_model(self, name: str, server_name: str = "") -> dict[str, Any] | None:
        return self.user_model(name).get("servers", {}).get(server_name)

    def spawner_state(self, name: str, server_name: str = "") -> dict[str, Any]:
        server = self.server_model(name, server_name) or {}
        return dict(server.get("state") or {})

    # --- spawning -------------------------------------------------------------------------
    def begin_start(
        self, name: str, server_name: str = "", options: dict[str, Any] | None = None
    ) -> requests.Response:
        """Ask the hub to start a server with ``options`` as its user_options."""
        self.create_user(name)
        body = start_request_body(options)
        r = self.api("POST", _server_path(name, server_name), json=body)
        if r.status_code not in (201, 202):
            raise SpawnFailed(f"start request refused: {r.status_code} {r.text}", [])
        return r

    def progress(
        self,
        name: str,
        server_name: str = "",
        until: Callable[[dict[str, Any]], bool] | None = None,
        timeout: float = 120,
    ) -> list[dict[str, Any]]:
        """Follow the progress event stream until ``until(event)``, ready, failed or end."""
        events: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout
        with self.api(
            "GET", _server_path(name, server_name) + "/progress", stream=True, timeout=timeout
        ) as r:
            r.raise_for_status()
            for raw in r.iter_lines(decode_unicode=True):
                if time.monotonic() > deadline:
                    raise TimeoutError(f"no end of the progress stream in {timeout}s: {events}")
                if not raw or not raw.startswith("data:"):
                    continue
                event = json.loads(raw[5:])
                events.append(event)
                if (until and until(event)) or event.get("ready") or event.get("failed"):
                    break
        return events

    def wait_ready(self, name: str, server_name: str = "", timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            server = self.server_model(name, server_name)
            if server and server.get("ready"):
                return
            if server is None or (not server.get("pending") and not server.get("ready")):
                raise SpawnFailed(f"server {name}/{server_name} stopped while starting", [])
            time.sleep(0.3)
        raise TimeoutError(f"server {name}/{server_name} not ready after {timeout}s")

    def start_server(
        self,
        name: str,
        server_name: str = "",
        options: dict[str, Any] | None = None,
        timeout: float = 120,
    ) -> list[dict[str, Any]]:
        r = self.begin_start(name, server_name, options)
        if r.status_code == 201 and not (self.server_model(name, server_name) or {}).get("pending"):
            return []
        # a 201 may still be pending: after a failed spawn, JupyterHub 6.1's start handler
        # replaces the failed spawner with one it never stores (User.get_spawner with
        # replace_failed), so User.spawn starts a third one and the handler sees nothing pending
        events = self.progress(name, server_name, timeout=timeout)
        if events and events[-1].get("failed"):
            raise SpawnFailed(events[-1].get("message", "spawn failed"), events)
        self.wait_ready(name, server_name, timeout=timeout)
        return events

    def get_via_proxy(self, name: str, path: str, server_name: str = "") -> requests.Response:
        prefix = f"/user/{name}/{server_name + '/' if server_name else ''}"
        return requests.get(
            f"{self.url}{prefix}{path}",
            headers={"Authorization": f"token {self.user_token(name)}"},
            timeout=30,
            allow_redirects=False,
        )

    def stop_server(self, name: str, server_name: str = "", timeout: float = 90) -> None:
        r = self.api("DELETE", _server_path(name, server_name), timeout=timeout)
        if r.status_code not in (202, 204):
            raise AssertionError(f"stop refused: {r.status_code} {r.text}")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            server = self.server_model(name, server_name)
            if server is None or (not server.get("pending") and not server.get("ready")):
                return
            time.sleep(0.3)
        raise TimeoutError(f"server {name}/{server_name} did not stop in {timeout}s")

    def crash(self) -> None:
        """Kill the hub and its proxy at once (SIGKILL), as a host failure would."""
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")


def base_config(
    port: int,
    hub_port: int,
    proxy_api_port: int,
    token: str,
    chp: str,
    workdir: Path,
    backend: str,
    backend_options: dict[str, Any],
) -> str:
    jobenv = ensure_jobenv()
    return f"""
c = get_config()  # noqa
c.JupyterHub.bind_url = "http://127.0.0.1:{port}"
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = {hub_port}
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{proxy_api_port}"
c.ConfigurableHTTPProxy.command = [{chp!r}]
c.ConfigurableHTTPProxy.pid_file = {str(workdir / "proxy.pid")!r}
c.JupyterHub.db_url = "sqlite:///{workdir}/hub.sqlite"
c.JupyterHub.cookie_secret_file = {str(workdir / "cookie_secret")!r}
c.JupyterHub.authenticator_class = "dummy"
c.Authenticator.allow_all = True
c.JupyterHub.allow_named_servers = True
# answer every start request at once (202), so the progress stream is always there to follow
c.JupyterHub.tornado_settings = {{"slow_spawn_timeout": 0}}
c.JupyterHub.services = [{{"name": "e2e", "api_token": {token!r}}}]
c.JupyterHub.load_roles = [{{"name": "admin", "services": ["e2e"]}}]
c.JupyterHub.spawner_class = "jobspawner"
c.JobSpawner.backend = {backend!r}
c.JobSpawner.backend_options = {backend_options!r}
c.JobSpawner.exec_prefix = ["runuser", "-u", "{{username}}", "--"]
c.JobSpawner.cmd = [{str(jobenv / "bin" / "jobspawner-singleuser")!r}]
c.JobSpawner.startup_poll_interval = 0.5
c.JobSpawner.start_timeout = 120
c.JobSpawner.http_timeout = 60
c.JobSpawner.command_timeout = 30
"""


@contextmanager
def running_hub(
    tmp_path: Path,
    backend: str = "local",
    config: str = "",
    env: dict[str, str] | None = None,
    backend_options: dict[str, Any] | None = None,
    users: tuple[str, ...] = ("alice", "bob"),
    expect_start_failure: bool = False,
    keep_env: bool = True,
) -> Iterator[Hub]:
    """Start a hub as root with the given backend; stop it (and its servers) afterwards.

    ``env`` is added to the hub's environment; with ``keep_env`` its names (but PATH) are
    kept by the scheduler commands too (``c.JobSpawner.command_env_keep``).
    """
    need_root()
    chp = find_chp()
    need(chp, "configurable-http-proxy is not installed and npm could not install it")
    ensure_users(users)
    workdir = tmp_path / "hub"
    workdir.mkdir(parents=True, exist_ok=True)
    options = dict(backend_options or {})
    if backend == "local":
        options.setdefault("python", str(ensure_jobenv() / "bin" / "python"))
    # a restarted hub (same folder) keeps its address, as a real one does: running servers
    # talk to the hub's API URL they were started with
    ports_file = workdir / "ports.json"
    if ports_file.exists():
        port, hub_port, api_port, token = json.loads(ports_file.read_text())
    else:
        port, hub_port, api_port = free_port(), free_port(), free_port()
        token = secrets.token_hex(16)
        ports_file.write_text(json.dumps([port, hub_port, api_port, token]))
    # the variables a test gives the hub configure its (emulated) scheduler, as SGE_ROOT does
    # at a site: the commands keep them (they get no other variable of the hub's)
    keep = sorted(set(env or {}) - {"PATH"}) if keep_env else []
    (workdir / "jupyterhub_config.py").write_text(
        base_config(port, hub_port, api_port, token, str(chp), workdir, backend, options)
        + f"\nc.JobSpawner.command_env_keep = {keep!r}\n"
        + config
    )
    log_path = workdir / "hub.log"
    log = open(log_path, "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyterhub", "-f", str(workdir / "jupyterhub_config.py")],
        cwd=workdir,
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, **(env or {})},
        start_new_session=True,
    )
    hub = Hub(f"http://127.0.0.1:{port}", token, log_path, proc)
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                if expect_start_failure:
                    yield hub
                    return
                raise AssertionError(f"the hub exited ({proc.returncode}):\n{hub.log_text()}")
            try:
                if hub.api("GET", "/", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"the hub did not come up in 60s:\n{hub.log_text()}")
            time.sleep(0.2)
        yield hub
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)  # cleanup_servers: the hub stops every server
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        log.close()
        pid_file = workdir / "proxy.pid"
        if pid_file.exists():
            with suppress(ValueError, ProcessLookupError):
                os.kill(int(pid_file.read_text()), signal.SIGTERM)
