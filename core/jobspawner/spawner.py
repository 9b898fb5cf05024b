"""``JobSpawner``: the JupyterHub spawner lifecycle on top of a backend's hooks.

start: render the script, submit, persist the job id at once, follow the job until it runs
and its server reports its port, fail fast when the job dies. stop: cancel and confirm.
poll: one batched status query per round for all spawners (:mod:`jobspawner.lifecycle.poller`).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any

from jupyterhub.spawner import Spawner
from jupyterhub.traitlets import Command as HubCommand
from traitlets import (
    Any as AnyTrait,
)
from traitlets import (
    Integer,
    List,
    Unicode,
    default,
)

from jobspawner.choices import options_form
from jobspawner.choices import user_options as options_validation
from jobspawner.choices.option_choices import OptionChoices
from jobspawner.choices.overridden import overridden
from jobspawner.contract.commands import CommandError
from jobspawner.contract.context import BackendContext
from jobspawner.contract.status import JobStatus
from jobspawner.facade import hub_compat, hub_integration
from jobspawner.facade.backend import BackendError
from jobspawner.facade.hub_compat import SpawnException
from jobspawner.lifecycle import (
    failed_start,
    internal_certs,
    interrupted_start,
    last_end,
    metrics,
    server_command,
    server_watch,
    started_options,
    status_rounds,
    walltime,
)
from jobspawner.lifecycle.job_record import JobRecord, QueuedStart
from jobspawner.lifecycle.job_session import JobSession
from jobspawner.lifecycle.poller import StatusPoller
from jobspawner.lifecycle.server_watch import ServerWatch, ServerWatchConfig
from jobspawner.lifecycle.session_host import PreparedJob
from jobspawner.lifecycle.session_settings import SessionSettings
from jobspawner.lifecycle.start_clock import StartClock
from jobspawner.lifecycle.user_env import account_environment
from jobspawner.lifecycle.walltime import WalltimeConfig
from jobspawner.spawner_job import SERVER_NAME, JobBuilding
from jobspawner.transport import routing


class JobSpawner(
    JobBuilding,
    ServerWatchConfig,
    WalltimeConfig,
    Spawner,  # type: ignore[misc]
):
    """Start each single-user server as a batch job through a scheduler backend.

    Its own settings are declared in :class:`jobspawner.spawner_settings.JobSpawnerSettings`
    (and the server watch's, the transport's and the walltime notices' in their rooms); here
    are the defaults that differ from JupyterHub's ``Spawner`` and the adapters JupyterHub
    calls.
    """

    # --- the persisted state: one JobRecord (jobspawner.lifecycle.job_record) ---
    record: JobRecord
    api_token: str  # JupyterHub's trait (typed here: a kept start gives its token back)

    @property
    def job_id(self) -> str:
        """The current job's id ("" when none)."""
        return self.record.job_id

    @job_id.setter
    def job_id(self, value: str) -> None:
        self.record.job_id = value

    @property
    def job_output(self) -> str:
        """The current job's output file."""
        return self.record.job_output

    @job_output.setter
    def job_output(self, value: str) -> None:
        self.record.job_output = value

    @property
    def job_secrets(self) -> str:
        """The current job's secrets file, until removed."""
        return self.record.job_secrets

    @job_secrets.setter
    def job_secrets(self, value: str) -> None:
        self.record.job_secrets = value

    @property
    def unconfirmed_cancels(self) -> list[str]:
        """Jobs whose cancel was not confirmed yet."""
        return self.record.unconfirmed_cancels

    @unconfirmed_cancels.setter
    def unconfirmed_cancels(self, value: list[str]) -> None:
        self.record.unconfirmed_cancels = list(value)

    @property
    def start_unfinished(self) -> bool:
        """The job was submitted and its server has not answered yet."""
        return self.record.start_unfinished

    @start_unfinished.setter
    def start_unfinished(self, value: bool) -> None:
        self.record.start_unfinished = value

    _port_future = AnyTrait(None, allow_none=True)

    # --- defaults that differ from Spawner's ----------------------------------------------
    # Declared as traits (not @default methods) so that `jupyterhub --generate-config` shows
    # them: it reads each trait's declared default.
    poll_interval = Integer(
        300,
        config=True,
        help="""Seconds between JupyterHub's own polls of each running server (JupyterHub's
        default is 30). The hub's status rounds (`status_interval`) already notice a job
        that ended and run JupyterHub's handling at once, so this per-server timer is only a
        safety net; each poll reads the last round's answer. With `status_interval = 0` set
        it back to 30.""",
    )
    cmd = HubCommand(
        ["jobspawner-singleuser"],
        allow_none=True,
        config=True,
        help="""The server command run in the job. It must be `jobspawner-singleuser` (or a
        wrapper that ends by running it with the same arguments and environment): the
        server reports its port to the hub and proves to the hub's check that it is the
        server this start launched (see `require_server_proof`). `jupyterhub-singleuser`
        cannot, and a spawn with it is refused.""",
    )
    ip = Unicode(
        "0.0.0.0",
        config=True,
        help="""The address the server in the job listens on: all of the compute node's
        addresses, since the hub connects from another host.""",
    )
    env_keep = List(
        ["LANG", "LC_ALL"],
        config=True,
        help="""Variables of the hub's environment passed to the job's server. The hub's
        PATH means nothing on a compute node, so only the locale is kept by default; the job
        always gets the user's own HOME, USER, LOGNAME and SHELL.""",
    )

    @default("apply_user_options")
    def _default_apply_user_options(self) -> Any:
        return JobSpawner._apply_resource_options

    @default("options_form")
    def _default_options_form(self) -> Any:
        if self.profiles or self.user_options_allowed:
            return options_form.options_form
        return ""

    @default("options_from_form")
    def _default_options_from_form(self) -> Any:
        return options_form.options_from_form

    def options_from_query(self, query_data: Mapping[str, Any]) -> Any:
        """``GET /hub/spawn?opt-NAME=...``: the options under their plain names on every
        supported JupyterHub (:func:`jobspawner.facade.hub_compat.query_options`)."""
        return super().options_from_query(hub_compat.query_options(query_data))

    def __init__(self, **kwargs: Any) -> None:
        self.record = JobRecord()  # before the traits: their observers may read it
        super().__init__(**kwargs)
        self._events: list[dict[str, Any]] = []
        self._new_event = asyncio.Event()
        self._starting = False
        self._cancel_task: asyncio.Future[None] | None = None
        #: the user's choice for the next start (jobspawner.choices.user_options, .options_form)
        self.choices = OptionChoices()
        self.current_watch: ServerWatch | None = None  # jobspawner.lifecycle.server_watch
        self.walltime_end: float | None = None  # the end this server was last told
        #: the clock of the last start's wait (for the metrics: which limit ran out)
        self.spawn_clock: StartClock | None = None
        #: this start's server-check key (jobspawner.jobside.server_proof): in memory only
        self._server_check_key = ""
        # a hub that loaded this class without jobspawner's hub integration is told so
        hub_integration.warn_if_missing(self.log)

    # --- user options -----------------------------------------------------------------------
    @staticmethod
    def _apply_resource_options(spawner: JobSpawner, user_options: Mapping[str, Any]) -> Any:
        """Default `apply_user_options`: :func:`jobspawner.choices.user_options.apply_user_options`.

        Profiles, their options and ``user_options_allowed``; a value may come as itself
        or as a list of one value. Every refusal is a 400 naming the field and the limit.
        """
        return options_validation.apply_user_options(spawner, user_options)

    # --- the job's environment (the rest of building the job: jobspawner.spawner_job) ---
    def get_env(self) -> dict[str, str]:
        """JupyterHub's server environment plus the user's HOME, USER, LOGNAME, SHELL."""
        env: dict[str, str] = super().get_env()
        env.update(account_environment(self.account()))
        env.update(self.port_choice().environment())
        env.update(walltime.job_env(self))
        return env

    # --- progress -------------------------------------------------------------------------
    def emit(self, message: str, progress: int) -> None:
        """A progress message of the start (and a line in the hub's log)."""
        if self._events and self._events[-1]["message"] == message:
            return
        self.log.info("%s: %s", self._log_name, message)
        self._events.append({"progress": progress, "message": message})
        self._new_event.set()

    async def progress(self) -> AsyncIterator[dict[str, Any]]:
        sent = 0
        while True:
            while sent < len(self._events):
                yield self._events[sent]
                sent += 1
            if not self._starting:
                return
            self._new_event.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._new_event.wait(), timeout=1.0)

    # --- the port handshake ---------------------------------------------------------------
    def awaiting_port(self) -> bool:
        future = self._port_future
        return bool(self._starting and future is not None and not future.done())

    def port_reported(self, host: str, port: int) -> None:
        """Called by the handshake handler after it checked token, state and types.

        The port is the job's to choose, within ``port_range`` (or the pinned port) when the
        site set one: a port outside it is refused. The reported host is kept only for
        ``host_source = "server"``, and only inside ``server_hosts_allowed``: otherwise this
        raises :class:`~jobspawner.transport.routing.RouteRefused` (the handler answers 400) and the
        spawn fails with the same reason.
        """
        if not self.awaiting_port():
            return
        try:
            outside = self.port_choice().refusal(port)
            if outside:
                raise routing.RouteRefused(outside)
            if self.host_source == "server":
                routing.check_reported_host(host, self.hosts_allowed())
        except routing.RouteRefused as e:
            self.log.warning("%s: refused a port report: %s", self._log_name, e)
            self._port_future.set_exception(
                SpawnException(f"The job's port report was refused: {e}.", reason="route")
            )
            raise
        self._port_future.set_result((host, port))

    def hosts_allowed(self) -> routing.HostAllowList:
        """``server_hosts_allowed`` parsed; a bad entry is a config error naming it."""
        return self.job_session().hosts_allowed()

    @property
    def _user_resources(self) -> dict[str, Any]:
        """The user's resource values (``choices.resources``), under the name a site's own
        ``apply_user_options`` may set them by."""
        return self.choices.resources

    @_user_resources.setter
    def _user_resources(self, value: dict[str, Any]) -> None:
        self.choices.resources = value

    # --- what helpers read of JupyterHub's side -------------------------------------------
    @property
    def starting(self) -> bool:
        """A start of this server runs in this hub process."""
        return self._starting

    @property
    def stop_pending(self) -> bool:
        """JupyterHub is stopping this server (a stop asked through the hub)."""
        return bool(self._stop_pending)

    @property
    def polled(self) -> bool:
        """JupyterHub polls this server (it runs, as far as JupyterHub knows)."""
        return self._poll_callback is not None

    # --- the job session (jobspawner.lifecycle.job_session) ---
    def session_settings(self, starting: bool = False) -> SessionSettings:
        """The settings the session reads, now (``starting``: with what the start asks for,
        its profile's overrides applied)."""
        if not starting:
            return SessionSettings.of(self)
        keep = self.keep_queued_on_restart or self.record.queued is not None
        return SessionSettings.of(
            self,
            request=self._request() if keep else None,
            job_settings=options_validation.job_settings(self),
        )

    def job_session(self, settings: SessionSettings | None = None) -> JobSession:
        """This server's jobs as the hub acts on them (start, poll, cancel and confirm),
        reading ``settings`` (by default the settings now)."""
        return JobSession(
            self.record,
            self.context,
            self.poller,
            self,
            self.log,
            self._log_name,
            settings or self.session_settings(),
        )

    def persist(self, record: JobRecord) -> None:
        """The session's report: write the record (this spawner's) to the database now."""
        self._persist_state()

    # --- lifecycle ------------------------------------------------------------------------
    def _persist_state(self) -> None:
        """Write the state to the hub database now (not only after start returns)."""
        orm_spawner = self.orm_spawner
        if orm_spawner is None:
            return
        from sqlalchemy import exc, inspect

        try:
            session = inspect(orm_spawner).session
        except exc.NoInspectionAvailable:  # not a database object (tools, tests)
            return
        if session is None:
            return
        orm_spawner.state = self.get_state()
        session.commit()

    async def start(self) -> str:
        self._events = []
        self._starting = True
        self.record.last_failure = {}
        last_end.forget(self)
        walltime.forget(self)
        self.stop_server_watch()
        try:
            await self._load_auth_state()
            return await self._start()
        except Exception as e:
            failed_start.record_failure(self.record, e)  # kept in the record, shown in plain words
            metrics.spawn_failed(self, e)
            self._persist_state()
            raise
        finally:
            self._starting = False
            self._new_event.set()

    async def _start(self) -> str:
        """Check the configuration, then run the start in a session (:mod:`.job_start`)
        that reads the settings as they are now, the profile's overrides applied."""
        began = time.monotonic()
        try:
            self.load()
            ctx = self.context()
        except BackendError as e:
            self.log.error("jobspawner backend error: %s", e)
            raise SpawnException(str(e), reason="backend") from e
        refusal = self.root_jobs_refusal()
        if refusal:
            self.log.error("jobspawner refuses to spawn: %s", refusal)
            raise SpawnException(
                "The hub is not configured to start servers safely; ask an administrator.",
                reason="config",
            )
        self._refuse_foreign_server()
        session = self.job_session(self.session_settings(starting=True))
        fresh_token = str(self.api_token or "")
        start = await session.begin_start(self, ctx)
        self.watch_job(hurry=True)
        try:
            url = await start.wait_until_ready(began)
        except BaseException:
            self.transport_close()
            if start.adopted:  # the kept token goes; JupyterHub's stop deletes this start's own
                self.revoke_token(str(self.api_token or ""))
                self.api_token = fresh_token
            # end the spawn now (JupyterHub gives a cancelled spawn one second before it
            # calls stop); the cancel and its confirmation go on in a task stop() waits for
            self._cancel_task = asyncio.ensure_future(session.cancel_after_failed_start(ctx))
            raise
        finally:
            self.spawn_clock = start.clock  # kept for the metrics (which limit ran out)
        self.record.finish_start()
        started_options.remember(self, started_options.readable(self.resources()))
        self._persist_state()
        self._start_server_watch(url)
        metrics.spawn_ready(self)
        return url

    # --- what a start asks of JupyterHub's side (jobspawner.lifecycle.session_host.StartHost) ---
    def prepare_job(self) -> PreparedJob:
        """This start's job: its spec, its script (logged, the token redacted), its key."""
        spec = self.build_spec()
        script = self.render(spec)
        self._log_script(script)
        return PreparedJob(spec, script, self._server_check_key)

    def expect_port(self) -> asyncio.Future[tuple[str, int]]:
        """A new future for the port report (:meth:`port_reported` resolves it)."""
        self._port_future = asyncio.get_running_loop().create_future()
        future: asyncio.Future[tuple[str, int]] = self._port_future
        return future

    def server_token(self) -> str:
        """The API token this start gives its server."""
        return str(self.api_token or "")

    def use_kept_token(self, token: str) -> None:
        """The kept job's server holds ``token`` (see
        :mod:`jobspawner.lifecycle.interrupted_start`)."""
        self.api_token = token

    def token_known(self, token: str) -> bool:
        """Whether ``token`` is still this user's token in JupyterHub's database."""
        return interrupted_start.token_known(self.orm_spawner, token)

    def revoke_token(self, token: str) -> None:
        """Delete a kept start's server token from JupyterHub's database."""
        if interrupted_start.revoke_token(self.orm_spawner, token, self.log, self._log_name):
            self.log.info("%s: deleted the server token of a kept start", self._log_name)

    def kept_job_access(self, queued: QueuedStart) -> tuple[BackendContext, StatusPoller]:
        """The backend, identity and poller a kept job was submitted with."""
        known = {
            k: v for k, v in queued.job_settings.items() if k in options_validation.JOB_SETTINGS
        }
        with overridden(self, known):
            return self.context(), self.poller()

    def server_prefix(self) -> str:
        """This server's URL prefix (``/user/alice/`` or ``/user/alice/name/``)."""
        server = self.server
        if server is not None:
            return str(server.base_url)
        from jupyterhub.utils import url_path_join

        return str(url_path_join(self.user.url, f"{self.name}/" if self.name else ""))

    def check_ssl_context(self) -> Any:
        """The TLS context the hub uses to reach servers (internal_ssl), else None."""
        if not self.internal_ssl:
            return None
        from jupyterhub.utils import make_ssl_context

        settings = getattr(self.user, "settings", None) or {}
        return make_ssl_context(
            settings.get("internal_ssl_key"),
            settings.get("internal_ssl_cert"),
            cafile=settings.get("internal_ssl_ca"),
        )

    def _request(self) -> dict[str, Any]:
        """What this start asks for, normalised (:func:`.interrupted_start.request_of`)."""
        return interrupted_start.request_of(
            self.record.profile, self.resources(), self.choices.variables
        )

    def _refuse_foreign_server(self) -> None:
        """Fail at once when c.Spawner.cmd cannot report its port (jupyterhub-singleuser)."""
        refusal = server_command.refusal(self.cmd)
        if refusal:
            self.log.error("jobspawner refuses to spawn %s: %s", self._log_name, refusal)
            raise SpawnException(
                "The hub's server command is misconfigured, so no server can start; ask an "
                "administrator (the hub's log says what to change).",
                reason="config",
            )

    def _log_script(self, script: str) -> None:
        """The job script at debug level, the API token (should it be there) redacted."""
        token = str(self.api_token or "")
        shown = script.replace(token, "<redacted>") if token else script
        self.log.debug("%s: job script:\n%s", self._log_name, shown)

    # --- poll -------------------------------------------------------------------------------
    async def poll(self) -> int | None:
        """None while the job exists (pending, held, running, suspended, or unknown because
        the scheduler did not answer); an exit status once it has ended."""
        if self._cancel_task is not None and not self._cancel_task.done():
            return None  # a cancel is being confirmed: let JupyterHub call stop() to wait
        if not self.job_id:
            return 0
        if self.start_unfinished and not self._starting:
            return await self._end_interrupted_start()
        await self._load_auth_state()
        return await self.job_session().poll(self)

    async def _end_interrupted_start(self) -> int:
        """End a start that a hub restart interrupted: keep its job for the user's next
        start (``keep_queued_on_restart``) or cancel it, and tell the user
        (:mod:`jobspawner.lifecycle.interrupted_start`); JupyterHub then stops the server."""
        session = self.job_session()
        message = session.keep_interrupted_start(self)
        if message is None:
            await self._load_auth_state()
            message = await session.cancel_interrupted_start(self)
        self._spawn_future = interrupted_start.failed_spawn(message)
        return 1

    # --- why the last server stopped, told to the user (jobspawner.lifecycle.last_end) ---
    async def note_job_end(self, status: JobStatus, words: str | None = None) -> None:
        """Keep why a running server's job ended, for the spawn page and the session view."""
        try:
            await last_end.note_end(self, status, words)
        except Exception as e:  # telling the user must never stop JupyterHub's handling
            self.log.warning("%s: could not record why job %s ended: %s", self._log_name,
                             self.job_id, e)  # fmt: skip

    async def get_options_form(self) -> Any:
        """The spawn form, with why the last server stopped at its top (while recorded)."""
        return last_end.form_with_notice(self, await super().get_options_form())

    # --- internal_ssl (jobspawner.lifecycle.internal_certs) ---
    def _internal_certs_folder(self) -> str:
        try:
            return internal_certs.job_folder(
                self.internal_certs_dir, self._homedir(), self.user.name, self.name
            )
        except (ValueError, KeyError, IndexError) as e:
            raise SpawnException(str(e), reason="config") from e

    async def move_certs(self, paths: dict[str, str]) -> dict[str, str]:
        """Put the server's certificates where its job, running as the user, reads them."""
        folder = self._internal_certs_folder()
        await self._load_auth_state()
        try:
            return await internal_certs.move_to_job(self.context(), paths, folder)
        except (CommandError, OSError) as e:
            self.log.error(
                "%s: could not write the certificates to %s: %s", self._log_name, folder, e
            )
            raise SpawnException(
                f"The server's certificates could not be written to {folder}: {e}",
                reason="internal_ssl",
            ) from e

    async def _remove_internal_certs(self) -> None:
        if not self.internal_ssl:
            return
        try:
            await internal_certs.remove_from_job(self.context(), self._internal_certs_folder())
        except (CommandError, SpawnException) as e:
            self.log.warning("%s: could not remove the certificates: %s", self._log_name, e)

    async def stop(self, now: bool = False) -> None:
        self.stop_server_watch()
        await self._load_auth_state()
        task, self._cancel_task = self._cancel_task, None
        if task is not None:
            await task  # the cancel started when the start failed or was cancelled
        self.transport_close()
        await self._remove_internal_certs()
        if self.job_id:
            await self.job_session().cancel(self.job_id)
        elif self.unconfirmed_cancels:
            raise RuntimeError(
                f"{self._log_name}: the cancel of job(s) {', '.join(self.unconfirmed_cancels)} "
                "is not confirmed; it is retried at the next start"
            )

    # --- the server watch (jobspawner.lifecycle.server_watch) ---
    def _start_server_watch(self, url: str) -> None:
        """Hold an idle connection to the server just verified at ``url``'s address."""
        address = server_watch.routed_address(url)
        if address is not None:
            server_watch.start_watch(self, *address)

    def stop_server_watch(self) -> None:
        """End the server watch, if any."""
        server_watch.stop_watch(self)

    async def server_watch_poll(self) -> int | None:
        """None, or an exit status when the watch says the server is lost."""
        return await server_watch.poll_running(self)

    # --- shared status rounds (jobspawner.lifecycle.status_rounds) ---
    def watch_job(self, hurry: bool = False) -> None:
        """Put the current job in the shared rounds; hear when a round sees it ended."""
        poller = self.poller()
        schedule = status_rounds.run_soon(self.poll_and_notify)
        poller.watch(self.job_id, status_rounds.notify_listener(self, schedule))
        if hurry:
            poller.hurry(self.job_id)

    def job_end_hinted(self) -> None:
        """The job's server said it is stopping: follow its job closely for a while."""
        if self.job_id:
            self.poller().hurry(self.job_id, seconds=20.0)

    async def rename(self, old_name: str, new_name: str) -> None:
        """JupyterHub 6 renames only stopped servers; the state (a cancel still to confirm)
        stays with the renamed server, and its next job is named after the new name.

        Refused while a job is still recorded (a cancel being confirmed, or a job left by a
        crash): that job's server answers under the old name's URL only. A job kept from a
        start a hub restart interrupted would too: it is cancelled (as for other options).
        """
        if self.record.queued is not None:
            await self._load_auth_state()
            await self.job_session().drop_kept_start(self, self.record.queued, cancel=True)
        busy = self._cancel_task is not None and not self._cancel_task.done()
        if self.job_id or busy:
            job = self.job_id or "of its last start"
            raise SpawnException(
                f"The server {old_name!r} cannot be renamed yet: its job {job} has not been "
                "confirmed ended. Stop the server, wait a moment, and try again.",
                reason="rename",
                status_code=409,
            )
        if not SERVER_NAME.fullmatch(new_name):
            raise SpawnException(
                f"Invalid server name {new_name!r}", reason="server_name", status_code=400
            )
        self.log.info("%s: renamed %r -> %r", self._log_name, old_name, new_name)

    async def delete_forever(self) -> None:
        """A deleted server's job kept from an interrupted start is cancelled (no orphan)."""
        if self.record.queued is not None:
            await self._load_auth_state()
            await self.job_session().drop_kept_start(self, self.record.queued, cancel=True)

    # --- state: the record (jobspawner.lifecycle.job_record) ---
    def get_state(self) -> dict[str, Any]:
        state: dict[str, Any] = super().get_state()
        record = self.record
        if record.job_id:  # what the job was submitted with, to poll and cancel it later
            record.backend = self.backend
            record.job_settings = options_validation.job_settings(self)
            record.forward = self.ssh_forward_state
        state.update(record.to_state())
        return state

    def load_state(self, state: dict[str, Any]) -> None:
        super().load_state(state)
        self.record = record = JobRecord.from_state(state, self.log, self._log_name)
        self.ssh_forward_state = record.forward
        options_validation.restore_settings(self, record)  # before the job is polled
        if record.job_id:
            # after a hub restart every spawner's first poll then shares one query
            try:
                self.watch_job()
            except Exception as e:  # loading state must never fail on this
                self.log.debug("could not watch job %s: %s", record.job_id, e)
        self.job_session().watch_kept_start(self)
        if record.backend and record.backend != self.backend and record.job_id:
            self.log.warning(
                "%s: job %s was submitted with backend %r, now %r",
                self._log_name,
                record.job_id,
                record.backend,
                self.backend,
            )

    def clear_state(self) -> None:
        super().clear_state()
        self.record.forget_job()
        self.ssh_forward_state = None
        # unconfirmed cancels survive: they are retried at the next start; so does why the
        # last server stopped (jobspawner.lifecycle.last_end), for the user's next visit
