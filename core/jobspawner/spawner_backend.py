"""How a :class:`jobspawner.spawner.JobSpawner` reaches its backend: the backend it loads, the
identity and prefix its commands run with, the context its hooks get, the caches its query
commands fill (keyed by that identity) and the shared status poller; and which requests the
backend cannot honour. A mixin of ``JobSpawner`` over its settings.
"""

from __future__ import annotations

import json
import os
import re
import shlex
from collections.abc import Mapping
from typing import Any, ClassVar

from traitlets import All, observe

from jobspawner.contract.context import BackendContext
from jobspawner.contract.resources import FIELDS
from jobspawner.contract.status import JobStatus
from jobspawner.facade import honoured, hook_tracing
from jobspawner.facade.backend import Backend, BackendError, load_backend
from jobspawner.facade.hub_compat import SpawnException
from jobspawner.lifecycle import auth_state_sync, metrics, status_rounds
from jobspawner.lifecycle.poller import StatusPoller
from jobspawner.spawner_settings import JobSpawnerSettings
from jobspawner.transport.config import TransportConfig, TransportError

_USERNAME = re.compile(r"\A[A-Za-z0-9_][A-Za-z0-9_.@+-]{0,63}\Z")


class BackendAccess(JobSpawnerSettings, TransportConfig):
    """The backend, the commands and the query caches of one spawner (a mixin of
    ``JobSpawner``, which gives it JupyterHub's ``user`` and ``log``)."""

    user: Any  # JupyterHub's user of this server
    log: Any
    _log_name: str  # JupyterHub's name of this server in its log

    @property
    def log_name(self) -> str:
        """This server's name in the hub's log (``alice`` or ``alice:name``)."""
        return str(self._log_name)

    _backends: ClassVar[dict[tuple[str, tuple[str, ...]], Backend]] = {}
    _pollers: ClassVar[dict[str, StatusPoller]] = {}
    #: Users' auth states (user name -> auth_state) for backends that use them (FirecREST).
    _auth_states: ClassVar[dict[str, dict[str, Any]]] = {}
    #: Their JupyterHub users, to save renewed credentials (:mod:`.auth_state_sync`).
    _auth_state_users: ClassVar[dict[str, Any]] = {}

    # --- the backend and its commands ------------------------------------------------------
    def load(self) -> Backend:
        """The selected backend (loaded once per process per backend/plugins)."""
        key = (self.backend, tuple(self.plugins))
        backend = self._backends.get(key)
        if backend is None:
            backend = load_backend(self.backend, self.plugins)
            self._backends[key] = backend
        if self.trace_hooks:
            hook_tracing.trace_hooks(backend, self.log)
        return backend

    def command_prefix(self, prefix: list[str] | str | None) -> list[str]:
        """``prefix`` (``exec_prefix`` or ``status_exec_prefix``) as argv, ``{username}``
        replaced; refused for a user name that cannot be passed safely."""
        parts = shlex.split(prefix) if isinstance(prefix, str) else list(prefix or [])
        username = self.user.name
        if parts and not _USERNAME.fullmatch(username):
            raise SpawnException(
                f"User name {username!r} cannot be passed to the exec_prefix safely",
                reason="username",
            )
        return [self._with_username("exec_prefix", p) for p in parts]

    def _with_username(self, setting: str, value: str) -> str:
        """``value`` of ``c.JobSpawner.<setting>`` with ``{username}`` replaced."""
        try:
            return value.format(username=self.user.name)
        except (KeyError, IndexError, ValueError) as e:
            raise SpawnException(
                f"c.JobSpawner.{setting} {value!r} has a placeholder other than {{username}}: {e}",
                reason="config",
            ) from e

    def query_prefix(self) -> list[str]:
        """The prefix the status queries run with (the hub's identity unless the backend
        queries per user or ``status_exec_prefix`` is set)."""
        if self.status_exec_prefix is None:
            if status_rounds.status_per_user(self.load()):
                return self.command_prefix(self.exec_prefix)
            return []  # the hub's identity: one query covers every user's jobs
        return self.command_prefix(self.status_exec_prefix)

    def context(self) -> BackendContext:
        backend = self.load()
        keep = tuple(self.command_env_keep)
        try:  # the transport (local or SSH, jobspawner.transport.config) builds the runners
            runner = self.make_runner(
                self.command_prefix(self.exec_prefix), self.command_timeout, keep, log=self.log
            )
            query_runner = self.make_runner(
                self.query_prefix(), self.command_timeout, keep, status=True, log=self.log
            )
        except TransportError as e:
            raise SpawnException(str(e), reason="config") from e
        return BackendContext(
            backend=backend,
            runner=runner,
            query_runner=query_runner,
            options=self.typed_backend_options(),
            username=self.user.name,
            auth_state=self._auth_states.get(self.user.name),
            auth_states=self._auth_states,
            save_auth_state=auth_state_sync.saver(
                self._auth_state_users, self._auth_states, self.log
            ),
        )

    async def _load_auth_state(self) -> None:
        """Share the user's auth state (OIDC tokens) with the backend context, when the
        authenticator keeps one (``c.Authenticator.enable_auth_state``)."""
        try:
            state = await self.user.get_auth_state()
        except Exception as e:  # an auth state that cannot be read is not a reason to fail
            self.log.warning("%s: could not read the auth state: %s", self._log_name, e)
            return
        if state:
            self._auth_states[self.user.name] = dict(state)
            self._auth_state_users[self.user.name] = self.user

    def typed_backend_options(self) -> dict[str, Any]:
        """``backend_options`` checked against the backend's declarations, typed, with the
        declared defaults (:class:`BackendError` names a wrong key or type)."""
        return self.load().checked_options(self.backend_options)

    def root_jobs_refusal(self) -> str | None:
        """Why this configuration must not run, when a root hub would run jobs as root."""
        if self.transport != "local":  # commands run on a login node (jobspawner.transport.config)
            return None if self.allow_root_jobs else self.ssh_root_refusal(self.exec_prefix)
        if os.geteuid() != 0 or self.allow_root_jobs:
            return None
        if not self.load().implemented("submit_command"):
            return None  # an API backend: no command runs on the hub host
        prefix = self.exec_prefix
        parts = shlex.split(prefix) if isinstance(prefix, str) else list(prefix or [])
        if parts:
            return None
        return (
            "the hub runs as root and c.JobSpawner.exec_prefix is empty, so every job would "
            "run as root and job logs would be read as root. Set c.JobSpawner.exec_prefix "
            '(e.g. ["runuser", "-u", "{username}", "--"] or "sudo -u {username}"), or, on a '
            "single-user test machine only, c.JobSpawner.allow_root_jobs = True."
        )

    # --- requests the backend cannot honour (jobspawner.facade.honoured) ---
    def _honoured_fields(self) -> frozenset[str] | None:
        if self.batch_script:  # the site's own template decides what it honours
            return None
        return self.load().resource_fields(self._spec_options())

    def _site_requests(self) -> dict[str, Any]:
        return {key: getattr(self, f"req_{key}") for key in FIELDS}

    def unhonoured_requests_refusal(self, log: Any) -> str | None:
        """At hub start: why ``req_*`` settings stop the hub (warnings go to ``log``)."""
        return honoured.check_at_start(
            self.load(),
            self.typed_backend_options(),
            self._site_requests(),
            self.user_options_allowed,
            bool(self.batch_script),
            log,
        )

    def unhonoured_reason(self, field: str) -> str | None:
        """Why a user option for ``field`` cannot be honoured by the backend, or None."""
        return honoured.user_refusal(self.load().name, field, self._honoured_fields())

    def refuse_unhonoured_option(self, field: str) -> None:
        """A user option for a field the backend ignores is refused (400)."""
        why = self.unhonoured_reason(field)
        if why:
            raise SpawnException(why, reason="user_options", status_code=400)

    def query_cache_key(self, *extra: Any) -> str:
        """The key of every process-wide cache filled by this spawner's query commands
        (status rounds, the live resource view): the backend configuration and the identity
        the commands run as, which is the query prefix and, over SSH, the login account and
        its key (``ssh_status_username`` / ``ssh_status_key_file``, else the user's own).
        Two users whose queries run as different accounts never share an answer."""
        return json.dumps(
            [
                self.backend,
                self.plugins,
                self.query_prefix(),
                self.backend_options,
                self.command_env_keep,
                self.transport_key(status=True),
                *extra,
            ],
            sort_keys=True,
            default=str,
        )

    def poller(self) -> StatusPoller:
        """The poller shared by every spawner with the same backend and query prefix."""
        memo = self._poller_memo  # JupyterHub's polls ask often: the key is built once
        if memo is not None and self._pollers.get(memo[0]) is memo[1]:
            return memo[1]
        key = self.query_cache_key(self.status_interval, self.startup_poll_interval)
        poller = self._pollers.get(key)
        if poller is None:
            ctx = self.context()
            ctx.runner = ctx.query_runner  # a shared poller acts as nobody in particular
            ctx.username = None
            backend = ctx.backend

            async def query(ids: Any) -> Mapping[str, JobStatus]:
                return await backend.query_status(ctx, ids)

            poller = StatusPoller(
                metrics.timed_query(self.backend, query),
                interval=self.status_interval,
                fast_interval=self.startup_poll_interval,
            )
            metrics.count_jobs(self.backend, poller)
            self._pollers[key] = poller
        self._poller_memo = (key, poller)
        return poller

    _poller_memo: tuple[str, StatusPoller] | None = None

    @observe(All)
    def _forget_poller_memo(self, change: Any) -> None:
        """Any setting that changes drops the remembered poller (its key is built anew). A
        setting changed in place (an item of a dict trait) is not seen: assign the trait."""
        self._poller_memo = None

    def _spec_options(self) -> dict[str, Any]:
        try:
            return self.typed_backend_options()
        except BackendError as e:
            raise SpawnException(str(e), reason="config") from e
