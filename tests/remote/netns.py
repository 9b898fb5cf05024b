"""A network namespace for a login node the hub reaches only through its sshd.

:class:`NetNamespace` creates ``jstest-<hex>`` with its loopback up and one veth pair whose
two ends hold the addresses of a private /30 (``10.200.X.0/30``, X chosen among the /30s no
interface of this machine uses): the hub side ``outer`` (``.1``) stays in the machine's
namespace, the namespace side ``inner`` (``.2``) in the new one. Nothing is routed further:
traffic stays on this machine. :meth:`NetNamespace.delete` kills what still runs in the
namespace and removes it with its veth pair; the fixtures call it even when a test fails.
"""

from __future__ import annotations

import contextlib
import os
import random
import secrets
import signal
import subprocess
import time


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check)


def netns_available() -> bool:
    """Whether ``ip netns`` works here (root, iproute2, CAP_SYS_ADMIN and CAP_NET_ADMIN)."""
    if os.geteuid() != 0:
        return False
    try:
        return _ip("netns", "list", check=False).returncode == 0
    except FileNotFoundError:
        return False


def _free_subnet() -> int:
    used = _ip("-o", "-4", "addr", "show").stdout
    candidates = [x for x in range(256) if f" 10.200.{x}." not in used]
    if not candidates:
        raise RuntimeError("every 10.200.X.0/30 test subnet is in use on this machine")
    return random.choice(candidates)


class NetNamespace:
    """A namespace ``name`` reached from the machine at ``inner`` over a veth pair."""

    def __init__(self) -> None:
        tag = secrets.token_hex(3)
        self.name = f"jstest-{tag}"
        self.outer_link, self.inner_link = f"jsh{tag}", f"jsn{tag}"
        x = _free_subnet()
        self.outer, self.inner = f"10.200.{x}.1", f"10.200.{x}.2"
        self.created = False

    def create(self) -> NetNamespace:
        _ip("netns", "add", self.name)
        self.created = True
        self.exec_ip("link", "set", "lo", "up")
        _ip("link", "add", self.outer_link, "type", "veth", "peer", "name", self.inner_link)
        _ip("link", "set", self.inner_link, "netns", self.name)
        _ip("addr", "add", f"{self.outer}/30", "dev", self.outer_link)
        _ip("link", "set", self.outer_link, "up")
        self.exec_ip("addr", "add", f"{self.inner}/30", "dev", self.inner_link)
        self.exec_ip("link", "set", self.inner_link, "up")
        return self

    def exec_ip(self, *args: str) -> None:
        _ip("-n", self.name, *args)

    def run(self, argv: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
        """Run ``argv`` inside the namespace (as root)."""
        return subprocess.run(  # type: ignore[call-overload, no-any-return]
            ["ip", "netns", "exec", self.name, *argv], capture_output=True, text=True, **kw
        )

    def pids(self) -> list[int]:
        out = _ip("netns", "pids", self.name, check=False).stdout
        return [int(p) for p in out.split()]

    def delete(self) -> None:
        """Kill every process in the namespace, then remove it and the veth pair."""
        if not self.created:
            return
        for _ in range(50):
            pids = self.pids()
            if not pids:
                break
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.1)
        _ip("netns", "del", self.name, check=False)
        _ip("link", "del", self.outer_link, check=False)  # gone with its peer, normally
        self.created = False
