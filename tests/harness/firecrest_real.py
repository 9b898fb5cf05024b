"""The real FirecREST v2 server (eth-cscs/firecrest-v2) for recording fixtures and, when a
developer points the tests at it, for running tests/fcrest against it.

Nothing of the server is in this repository: :func:`source_from_env` reads
``JOBSPAWNER_FIRECREST_SOURCE`` (a checkout of the server) and ``JOBSPAWNER_FIRECREST_PYTHON``
(a Python with its ``requirements.txt`` installed, by default ``<source>/.venv/bin/python``).
To make both::

    git clone https://github.com/eth-cscs/firecrest-v2 /opt/firecrest-v2
    python3 -m venv /opt/firecrest-v2/.venv
    /opt/firecrest-v2/.venv/bin/pip install -r /opt/firecrest-v2/requirements.txt

:class:`RealFirecrest` runs it as a FastAPI app under uvicorn on a loopback port, set up as a
site runs it with ``SSHStaticKeys``: it reaches the test Slurm over a real OpenSSH server
(tests/remote/sshd.py) as the token's user, with a key per user. Tokens are the emulator's
(an ``oct`` key in a JWKS file the server loads, :class:`harness.firecrest_emulator.State`),
so the emulator's token endpoint serves the real server's users and its health-check
service account alike.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import time
import urllib.request
from pathlib import Path

from harness.firecrest_emulator import KEY_ID, State, free_port

SOURCE_ENV = "JOBSPAWNER_FIRECREST_SOURCE"
PYTHON_ENV = "JOBSPAWNER_FIRECREST_PYTHON"
#: the client the server's health checks log in with (a user with an SSH key: alice)
HEALTH_CLIENT = ("firecrest-health-check", "health-secret")


def source_from_env() -> tuple[Path, Path] | None:
    """``(source, python)`` of a configured real server, or None when none is configured."""
    source = os.environ.get(SOURCE_ENV)
    if not source:
        return None
    python = os.environ.get(PYTHON_ENV) or str(Path(source) / ".venv" / "bin" / "python")
    return Path(source), Path(python)


def server_commit(source: Path) -> str:
    """The checkout's commit (``git rev-parse``), or what a ``COMMIT`` file beside it says."""
    res = subprocess.run(
        ["git", "-C", str(source), "rev-parse", "HEAD"], capture_output=True, text=True
    )
    if res.returncode == 0:
        return res.stdout.strip()
    marker = source / "COMMIT"
    return marker.read_text().strip() if marker.exists() else "unknown"


class RealFirecrest:
    """One real FirecREST v2 server for ``system`` reaching Slurm through ``ssh_port``."""

    def __init__(
        self,
        source: Path,
        python: Path,
        state: State,
        token_url: str,
        ssh_port: int,
        ssh_keys: dict[str, str],
        workdir: Path,
    ) -> None:
        self.source, self.python, self.state = source, python, state
        self.port = free_port()
        self.dir = workdir
        self.dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        state.clients[HEALTH_CLIENT[0]] = (HEALTH_CLIENT[1], "alice")
        jwks = self.dir / "jwks.json"
        key = base64.urlsafe_b64encode(state.key).rstrip(b"=").decode()
        jwks.write_text(json.dumps({"keys": [{"kty": "oct", "kid": KEY_ID, "k": key}]}))
        secret = self.dir / "health-secret"
        secret.write_text(HEALTH_CLIENT[1])
        config = {
            "apis_root_path": "",
            "auth": {
                "authentication": {
                    "scopes": {},
                    "tokenUrl": token_url,
                    "tokenEndpointAuthMethod": "client_secret_post",
                    "publicCerts": [jwks.as_uri()],
                    "usernameClaim": "preferred_username",
                }
            },
            "ssh_credentials": {
                "type": "SSHStaticKeys",
                "keys": {u: {"private_key": f"secret_file:{k}"} for u, k in ssh_keys.items()},
            },
            "clusters": [
                {
                    "name": state.system,
                    "ssh": {"host": "127.0.0.1", "port": ssh_port, "maxClients": 20},
                    "scheduler": {"type": "slurm", "version": "22.05", "connectionMode": "ssh"},
                    "serviceAccount": {
                        "clientId": HEALTH_CLIENT[0],
                        "secret": f"secret_file:{secret}",
                    },
                    "probing": {"intervalCheck": 3600},
                    "fileSystems": [{"path": "/home", "dataType": "users", "defaultWorkDir": True}],
                }
            ],
        }
        self.config = self.dir / "config.yaml"
        self.config.write_text(json.dumps(config, indent=1))  # JSON is YAML
        self.log = self.dir / "server.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> None:
        log = open(self.log, "ab")  # noqa: SIM115 - the child keeps it
        env = {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "YAML_CONFIG_FILE": str(self.config),
            "PYTHONPATH": str(self.source / "src"),
        }
        argv = [str(self.python), "-m", "uvicorn", "firecrest.main:app", "--host", "127.0.0.1"]
        self.proc = subprocess.Popen(
            [*argv, "--port", str(self.port)],
            cwd=self.source / "src",
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"FirecREST exited:\n{self.log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(self.url + "/status/liveness/", timeout=2):
                    return
            except OSError:
                time.sleep(0.3)
        raise RuntimeError(f"FirecREST did not answer:\n{self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
