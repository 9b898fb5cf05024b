"""A real OpenSSH server (Debian's /usr/sbin/sshd) for the SSH transport's tests.

Each :class:`SSHServer` has its own folder under ``/run/jobspawner-tests`` (sshd's strict
modes refuse key files below a world-writable folder such as /tmp), its own ed25519 host key,
configuration, pid file and loopback port, and lets alice and bob log in with keys the test
generated (``AuthorizedKeysFile`` points at the folder). ``UsePAM no``: the test users'
locked password (``!``) would make sshd refuse them, so :func:`unlock_for_keys` sets it to
``*`` (no password at all, but not locked). The system's ssh service is never touched.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import asyncssh

SSHD = "/usr/sbin/sshd"
BASE = Path("/run/jobspawner-tests")


def sshd_available() -> bool:
    return os.path.exists(SSHD) and os.geteuid() == 0


def unlock_for_keys(user: str) -> None:
    """Make a locked (``!``) account usable with keys under ``UsePAM no``."""
    with open("/etc/shadow") as f:
        for line in f:
            name, password = line.split(":")[:2]
            if name == user and password.startswith("!"):
                subprocess.run(["usermod", "-p", "*", user], check=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class SSHServer:
    """sshd on address:port (127.0.0.1 by default); ``key_dir`` holds the clients' keys
    (``key_dir/<user>``)."""

    def __init__(
        self,
        users: tuple[str, ...] = ("alice", "bob"),
        extra: str = "",
        address: str = "127.0.0.1",
        netns: str | None = None,
    ) -> None:
        """``address`` is where sshd listens; with ``netns`` it runs in that network
        namespace (``ip netns exec``), so its sessions and the jobs they start do too."""
        BASE.mkdir(mode=0o755, parents=True, exist_ok=True)
        self.dir = BASE / f"sshd-{secrets.token_hex(4)}"
        self.dir.mkdir(mode=0o755)
        self.users = users
        self.address = address
        self.netns = netns
        self.port = _free_port()
        self.host_key = self.dir / "host_ed25519"
        self.key_dir = self.dir / "client-keys"
        self.key_dir.mkdir(mode=0o700)
        authorized = self.dir / "authorized"
        authorized.mkdir(mode=0o755)
        for user in users:
            unlock_for_keys(user)
            key = asyncssh.generate_private_key("ssh-ed25519", comment=f"{user}@tests")
            key.write_private_key(str(self.key_dir / user))
            os.chmod(self.key_dir / user, 0o600)
            public = authorized / user
            key.write_public_key(str(public))
            os.chmod(public, 0o644)
        host = asyncssh.generate_private_key("ssh-ed25519", comment="test login node")
        host.write_private_key(str(self.host_key))
        os.chmod(self.host_key, 0o600)
        self.host_public = host.export_public_key().decode().strip()
        self.known_hosts = self.dir / "known_hosts"
        self.known_hosts.write_text(f"[{address}]:{self.port} {self.host_public}\n")
        self.log = self.dir / "sshd.log"
        self.pid_file = self.dir / "sshd.pid"
        self.config = self.dir / "sshd_config"
        self.config.write_text(
            f"""Port {self.port}
ListenAddress {address}
HostKey {self.host_key}
PidFile {self.pid_file}
AuthorizedKeysFile {authorized}/%u
AllowUsers {" ".join(users)}
UsePAM no
StrictModes yes
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin no
AllowAgentForwarding no
AllowTcpForwarding local
X11Forwarding no
PermitTTY no
PrintMotd no
LogLevel VERBOSE
{extra}
"""
        )
        self.proc: subprocess.Popen[bytes] | None = None

    def key(self, user: str) -> str:
        return str(self.key_dir / user)

    def key_template(self) -> str:
        return str(self.key_dir / "{username}")

    def start(self, timeout: float = 15.0) -> None:
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege-separation dir
        log = open(self.log, "ab")  # noqa: SIM115 - the child keeps it
        enter = ["ip", "netns", "exec", self.netns] if self.netns else []
        self.proc = subprocess.Popen(  # `ip netns exec` execs sshd: the pid is sshd's
            [*enter, SSHD, "-D", "-e", "-f", str(self.config)],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"sshd exited ({self.proc.returncode}):\n{self.log_text()}")
            try:
                with socket.create_connection((self.address, self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"sshd did not listen on {self.port}:\n{self.log_text()}")

    def stop(self) -> None:
        """Stop sshd and every session it serves (a login node going down)."""
        if self.proc is None:
            return
        pgid = self.proc.pid
        for pid in _sessions_of(pgid):
            with _quiet():
                os.kill(pid, signal.SIGKILL)
        with _quiet():
            os.killpg(pgid, signal.SIGKILL)
        self.proc.wait()
        self.proc = None

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def _sessions_of(pid: int) -> list[int]:
    """sshd's session processes (its children and theirs), which outlive a killed listener."""
    found, todo = [], [pid]
    while todo:
        parent = todo.pop()
        path = Path(f"/proc/{parent}/task/{parent}/children")
        try:
            children = [int(c) for c in path.read_text().split()]
        except OSError:
            children = []
        found += children
        todo += children
    return found


class _quiet:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> bool:
        return exc[0] is not None and issubclass(exc[0], (ProcessLookupError, PermissionError))


def owner_of(path: str) -> str:
    return pwd.getpwuid(os.stat(path).st_uid).pw_name
