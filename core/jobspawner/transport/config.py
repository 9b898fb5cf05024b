"""Where scheduler commands run: on the hub host (``local``) or on a login node (``ssh``).

Backends never know: the spawner hands them a runner (:class:`Runner`) in the backend
context, and every command of theirs (submit, status, cancel, history, log tail, preparation,
the secrets file, discovery) goes through it. :class:`TransportConfig` holds the
``c.JobSpawner`` settings of the transport and builds the runners; :mod:`jobspawner.transport.ssh`
does the SSH part.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from traitlets import Any as AnyTrait
from traitlets import Bool, Dict, Enum, Float, HasTraits, Integer, List, Unicode

from jobspawner.contract.commands import Command, CommandResult, CommandRunner

_USERNAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.@+-]{0,63}")
_HOST = re.compile(r"[A-Za-z0-9_.:\[\]-]{1,253}")


class Runner(Protocol):
    """What a backend context needs of a command runner (local or remote)."""

    prefix: tuple[str, ...]
    timeout: float

    @property
    def remote(self) -> bool:
        """Whether commands run on another host (files there are not the hub's to read)."""

    @property
    def identity(self) -> str:
        """Whom and where commands run as (the key of what their answers fill)."""

    async def run(self, command: Command, check: bool = True) -> CommandResult:
        """Run ``command``; with ``check`` a non-zero exit raises CommandError."""


class TransportError(ValueError):
    """The transport's configuration is wrong; the message names the setting."""


class TransportConfig(HasTraits):
    """The ``c.JobSpawner`` settings of the transport (a mixin of ``JobSpawner``)."""

    transport = Enum(
        ["local", "ssh"],
        "local",
        config=True,
        help="""Where scheduler commands run: `local` on the hub host, `ssh` on a login
        node (`ssh_hosts`), for a hub that is not a submit host. Every backend's commands go
        through it unchanged. `ssh` needs `pip install jobspawner[ssh]` (asyncssh).""",
    )
    ssh_hosts = List(
        Unicode(),
        config=True,
        help="""Login nodes, tried in order until one answers (with `transport = "ssh"`).""",
    )
    ssh_port = Integer(22, config=True, help="The login nodes' SSH port.")
    ssh_known_hosts = Unicode(
        "",
        config=True,
        help="""A known_hosts file listing the login nodes' host keys (required). A host
        whose key is missing or different is refused; keys are never accepted blindly. For
        a port other than 22 the entries read `[host]:port key`.""",
    )
    ssh_username = Unicode(
        "{username}",
        config=True,
        help="""The account commands run as on the login node; `{username}` is the
        JupyterHub user. With one hub account (e.g. `jupyterhub`) set `exec_prefix` to
        `sudo -u {username}`: it then runs on the login node.""",
    )
    ssh_key_file = Unicode(
        "",
        config=True,
        help="""The private key for `ssh_username` (required), e.g. per user
        `/etc/jupyterhub/keys/{username}` or one hub key `/etc/jupyterhub/keys/hub`.
        Readable by the hub only; no passphrase. No agent and no ~/.ssh key is used.""",
    )
    ssh_status_username = Unicode(
        None,
        allow_none=True,
        config=True,
        help="""The account status queries run as (None: `ssh_username`). One hub account
        here (with `status_exec_prefix = ""`) lets one query per round cover every user.""",
    )
    ssh_status_key_file = Unicode(
        None,
        allow_none=True,
        config=True,
        help="The key of `ssh_status_username` (None: `ssh_key_file`).",
    )
    ssh_env = Dict(
        Unicode(),
        config=True,
        help="""Environment of every command on the login node, which runs under `env -i`
        with PATH=/usr/local/sbin:...:/bin and LANG=C.UTF-8 plus these (e.g.
        `{"SLURM_CONF": "/etc/slurm/slurm.conf"}`). The hub's environment is never sent.
        Never put a secret here: command lines are visible on the login node.""",
    )
    ssh_max_sessions = Integer(
        8,
        config=True,
        help="""Commands at once over one SSH connection; more wait their turn. Keep it
        below the login node's sshd `MaxSessions` (10 by default).""",
    )
    ssh_keepalive = Float(
        30.0, config=True, help="Seconds between SSH keepalives (3 missed: reconnect)."
    )
    ssh_connect_timeout = Float(
        10.0, config=True, help="Seconds to connect and log in to one login node."
    )
    ssh_reconnect_max_delay = Float(
        30.0,
        config=True,
        help="""After a failed connect, commands fail at once until a delay passed (1 s,
        doubling up to this many seconds); then the next command connects again.""",
    )
    ssh_forward_port = Bool(
        False,
        config=True,
        help="""Route the proxy to each server through an SSH port forward from the hub
        via the login node to the job's host and port, for a hub that cannot reach the
        compute nodes (needs `AllowTcpForwarding local` or `yes` in the login node's
        sshd_config).""",
    )

    #: The open forward as [job host, job port, local port] (persisted in the state).
    ssh_forward_state = AnyTrait(None, allow_none=True)

    # --- checks --------------------------------------------------------------------------
    def transport_config_error(self) -> str | None:
        """What is wrong with the transport settings (for the hub's start), or None."""
        if self.transport != "ssh":
            return None
        try:
            import asyncssh  # noqa: F401
        except ImportError:
            return (
                'c.JobSpawner.transport = "ssh" needs asyncssh: pip install "jobspawner[ssh]" '
                "in the hub's environment"
            )
        if not self.ssh_hosts:
            return 'c.JobSpawner.transport = "ssh" needs c.JobSpawner.ssh_hosts (login nodes)'
        for host in self.ssh_hosts:
            if not _HOST.fullmatch(host):
                return f"c.JobSpawner.ssh_hosts: {host!r} is not a host name or address"
        if not self.ssh_known_hosts:
            return (
                'c.JobSpawner.transport = "ssh" needs c.JobSpawner.ssh_known_hosts: a '
                "known_hosts file with the login nodes' host keys (ssh-keyscan them once and "
                "check the fingerprints)"
            )
        if not os.path.isfile(self.ssh_known_hosts):
            return f"c.JobSpawner.ssh_known_hosts: {self.ssh_known_hosts} is not a file"
        if not self.ssh_key_file:
            return 'c.JobSpawner.transport = "ssh" needs c.JobSpawner.ssh_key_file'
        return None

    # --- runners -------------------------------------------------------------------------
    def _transport_user(self) -> str:
        name = str(self.user.name)  # type: ignore[attr-defined]
        if not _USERNAME.fullmatch(name):
            raise TransportError(f"User name {name!r} cannot be used for SSH safely")
        return name

    def _ssh_target(self, status: bool = False) -> Any:
        from jobspawner.transport.ssh import SSHTarget

        problem = self.transport_config_error()
        if problem:
            raise TransportError(problem)
        username = self.ssh_username
        key_file = self.ssh_key_file
        if status:
            username = self.ssh_status_username or username
            key_file = self.ssh_status_key_file or key_file
        fmt = {"username": self._transport_user()}
        try:
            username, key_file = username.format(**fmt), key_file.format(**fmt)
        except (KeyError, IndexError, ValueError) as e:
            raise TransportError(
                f"c.JobSpawner.ssh_username/ssh_key_file may hold {{username}} only: {e}"
            ) from e
        return SSHTarget(
            hosts=tuple(self.ssh_hosts),
            port=int(self.ssh_port),
            username=username,
            key_file=key_file,
            known_hosts=self.ssh_known_hosts,
            connect_timeout=float(self.ssh_connect_timeout),
            keepalive=float(self.ssh_keepalive),
            reconnect_max_delay=float(self.ssh_reconnect_max_delay),
            max_sessions=int(self.ssh_max_sessions),
        )

    def make_runner(
        self,
        prefix: Sequence[str],
        timeout: float,
        env_keep: Sequence[str] = (),
        status: bool = False,
        log: Any = None,
    ) -> Runner:
        """A runner for this transport: ``status`` selects the status-query identity;
        ``log`` receives each local command at debug level."""
        if self.transport != "ssh":
            return CommandRunner(prefix, timeout=timeout, env_keep=env_keep, log=log)
        from jobspawner.transport.ssh import SSHRunner, shared_connection

        target = self._ssh_target(status=status)
        return SSHRunner(shared_connection(target), prefix, timeout=timeout, env=self.ssh_env)

    def transport_key(self, status: bool = True) -> Mapping[str, Any]:
        """What distinguishes this transport's runners (part of the shared poller's key)."""
        if self.transport != "ssh":
            return {"transport": "local"}
        target = self._ssh_target(status=status)
        return {"transport": "ssh", "target": repr(target), "env": dict(self.ssh_env)}

    def ssh_root_refusal(self, exec_prefix: Sequence[str] | str) -> str | None:
        """Why commands would run as root on the login node (no exec prefix), or None."""
        names = {self.ssh_username, self.ssh_status_username or self.ssh_username}
        if "root" not in names or exec_prefix:
            return None
        return (
            "c.JobSpawner.ssh_username is root and c.JobSpawner.exec_prefix is empty, so "
            "every job would run as root on the login node. Use the user's own account "
            '(`{username}`) or a hub account with `exec_prefix = "sudo -u {username}"`; on '
            "a single-user test machine only, c.JobSpawner.allow_root_jobs = True."
        )

    # --- the proxy's route through an SSH port forward (jobspawner.transport.forwarding) ---
    def _forward_owner(self) -> tuple[str, str]:
        return self._transport_user(), str(self.name or "")  # type: ignore[attr-defined]

    def _forward_connection(self) -> Any:
        from jobspawner.transport.ssh import shared_connection

        return shared_connection(self._ssh_target())

    async def transport_route(self, host: str, port: int) -> tuple[str, int]:
        """Where the proxy reaches the job's server: its host and port, or, with
        ``ssh_forward_port``, the local end of a forward through the login node (opened now).

        ``host`` has passed the routing checks. Raises TransportError naming the cause.
        """
        if self.transport != "ssh" or not self.ssh_forward_port:
            return host, port
        from jobspawner.transport import forwarding
        from jobspawner.transport.ssh import SSHError

        user, server = self._forward_owner()
        try:
            forward = await forwarding.open_forward(
                self._forward_connection(), user, server, host, port
            )
        except SSHError as e:
            raise TransportError(str(e)) from e
        self.ssh_forward_state = forward.state()
        return "127.0.0.1", forward.local_port

    async def transport_restore(self) -> None:
        """Reopen the saved forward (after a hub restart or a lost connection)."""
        if self.transport != "ssh" or not self.ssh_forward_port or not self.ssh_forward_state:
            return
        from jobspawner.transport import forwarding
        from jobspawner.transport.ssh import SSHError

        user, server = self._forward_owner()
        try:
            await forwarding.restore(
                self._forward_connection(), user, server, self.ssh_forward_state
            )
        except (SSHError, OSError) as e:
            self.log.warning(  # type: ignore[attr-defined]
                "%s/%s: cannot reopen the SSH port forward %s: %s",
                user,
                server,
                self.ssh_forward_state,
                e,
            )

    def transport_close(self) -> None:
        """Close the server's forward, if any."""
        if self.transport != "ssh":
            return
        from jobspawner.transport import forwarding

        with contextlib.suppress(TransportError):
            forwarding.close_forward(*self._forward_owner())
        self.ssh_forward_state = None
