"""``JobStart``: one start of a server, from its job's submission to a server that answers.

Submit the rendered job (or adopt the job a hub restart kept for this start, see
:mod:`jobspawner.lifecycle.interrupted_start`), record it at once, follow it in the shared status
rounds until it runs and its server reported its port (:mod:`jobspawner.lifecycle.handshake`), then
check that this start's server answers there (:mod:`jobspawner.lifecycle.server_check`). A job that
ends, a limit that runs out, a host no route may point at, or a server that cannot prove it
is this start's fails the start with a message that says which
(:mod:`jobspawner.lifecycle.start_failures`).

A start reads its settings from the session's frozen snapshot
(:class:`~jobspawner.lifecycle.session_settings.SessionSettings`) and asks JupyterHub's side (the
spawner) for what only it has through :class:`StartHost`: the job to submit, the port
report's future, the server's token and URL prefix, the TLS context, the route.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from jobspawner.boundary.user_files import UserFileError
from jobspawner.contract.commands import CommandError
from jobspawner.contract.context import BackendContext
from jobspawner.contract.status import JobState, JobStatus
from jobspawner.facade.backend import Backend
from jobspawner.facade.hub_compat import SpawnException
from jobspawner.lifecycle import interrupted_start, server_check, start_failures
from jobspawner.lifecycle.job_record import QueuedStart
from jobspawner.lifecycle.server_check import ProbeResult
from jobspawner.lifecycle.session_host import StartHost
from jobspawner.lifecycle.start_clock import StartClock
from jobspawner.transport import routing
from jobspawner.transport.config import TransportError

if TYPE_CHECKING:
    from jobspawner.lifecycle.job_session import JobSession


class JobStart:
    """One start's state: its job, the port report's future, its clock and check key."""

    def __init__(self, session: JobSession, host: StartHost, ctx: BackendContext) -> None:
        self.session = session
        self.settings = session.settings
        self.host = host
        self.ctx = ctx
        self.backend: Backend = ctx.backend
        self.port: asyncio.Future[tuple[str, int]] | None = None
        self.check_key = ""
        self.adopted = False
        self.clock: StartClock | None = None

    @property
    def job_id(self) -> str:
        """The job of this start ("" before it is submitted, or once it ended)."""
        return self.session.record.job_id

    # --- submit, or adopt a kept job --------------------------------------------------------
    async def submit_or_adopt(self) -> None:
        """Adopt the job a hub restart kept for the same options, else submit a new one."""
        record = self.session.record
        self.adopted = record.queued is not None and await self.take_kept(record.queued)
        if not self.adopted:
            await self.submit()

    async def submit(self) -> None:
        """Render the job script, submit it, and record the job at once."""
        session, settings = self.session, self.settings
        job = self.host.prepare_job()
        spec = job.spec
        self.check_key = job.check_key
        self.port = self.host.expect_port()
        try:
            job_id = await self.backend.submit(self.ctx, spec, job.script)
        except UserFileError as e:
            session.log.error("Submitting %s refused: %s", session.name, e)
            raise SpawnException(f"Your server was not started: {e}", reason="config") from e
        except CommandError as e:
            session.log.error("Submitting %s failed: %s", session.name, e)
            raise SpawnException(f"Submitting the job failed: {e}", reason="submit") from e
        record = session.record
        record.job_id, record.job_output = job_id, spec.output_file
        record.job_secrets, record.backend = spec.secrets_file, settings.backend
        record.start_unfinished = True  # a hub restarted before the end ends it (poll)
        if settings.keep_queued_on_restart:  # what the job holds, for a restarted hub
            record.request = dict(settings.request or {})
            record.server_token = self.host.server_token()
            record.proof_key = self.check_key
        self.host.persist(record)
        self.host.emit(f"Submitted as {self.backend.name} job {job_id}.", 10)
        self.host.emit(f"The job's log file is {spec.output_file}.", 10)

    async def take_kept(self, queued: QueuedStart) -> bool:
        """Adopt the job a hub restart kept when this start asks for the same options
        (True); otherwise cancel it (or note that it ended) and let a new job be submitted."""
        session, settings, host = self.session, self.settings, self.host
        job_id = queued.job_id
        same = interrupted_start.same_start(
            queued, settings.backend, settings.request or {}, settings.job_settings
        )
        if not same:
            host.emit(interrupted_start.replacing(job_id), 5)
            await session.drop_kept_start(host, queued, cancel=True)
            return False
        poller = session.poller()
        status = await poller.status(job_id, max_age=settings.startup_poll_interval / 2)
        if status.state.finished:
            status = await session.confirm_ended(status, job_id)
        if status.state.finished:
            host.emit(interrupted_start.ended_meanwhile(job_id, status), 5)
            await session.drop_kept_start(host, queued, cancel=False)
            return False
        if not host.token_known(queued.server_token):
            host.emit(interrupted_start.revoked(job_id), 5)
            await session.drop_kept_start(host, queued, cancel=True)
            return False
        session.log.info("%s: adopting job %s, kept across a hub restart", session.name, job_id)
        session.record.adopt(queued)
        host.use_kept_token(queued.server_token)  # the token its server holds
        self.check_key = queued.proof_key
        self.port = host.expect_port()
        host.persist(session.record)
        host.emit(interrupted_start.resuming(self.backend.name, job_id), 10)
        host.emit(f"The job's log file is {queued.job_output}.", 10)
        return True

    # --- wait for the job, its port report and its host -------------------------------------
    async def wait_until_ready(self, began: float) -> str:
        """Follow the job until it reported its port and runs on a known host, then check
        that its Jupyter server answers there; return the server's URL."""
        job_id = self.job_id
        try:
            return await self._wait_until_ready(began)
        finally:
            self.session.poller().relax(job_id)

    async def _wait_until_ready(self, began: float) -> str:
        session, settings, backend, ctx = self.session, self.settings, self.backend, self.ctx
        poller = session.poller()
        scheduler_host: str | None = None
        future = self.port
        assert future is not None  # submit_or_adopt ran
        clock = self.clock = StartClock(
            settings.queue_timeout,
            settings.server_start_timeout,
            float(settings.start_timeout),
            began,
        )
        last = "no status yet"
        use_reported = settings.host_source == "server"
        last_host_ok = use_reported
        while not (future.done() and (use_reported or scheduler_host)):
            if future.done():
                future.result()  # a refused report fails the spawn here
            expired = clock.expired()
            if expired:
                raise start_failures.timed_out(settings, self.job_id, last, expired)
            # starting spawners share the hurried rounds (one query for all of them)
            status = await session.shared_status(poller, fresh=future.done() and not last_host_ok)
            if status.state.finished:
                raise await self.job_ended(status)
            if status.state is JobState.RUNNING or future.done():
                clock.running()
            if status.state is JobState.RUNNING:
                scheduler_host = backend.get_host(status, ctx.options) or scheduler_host
            last_host_ok = bool(scheduler_host)
            progress = {JobState.RUNNING: 60, JobState.UNKNOWN: 20}.get(status.state, 30)
            last = backend.describe_status(status)
            if future.done() and not (use_reported or scheduler_host):
                last = f"{last} The server reported its port; waiting for the job's host."
            self.host.emit(last, progress)
            if future.done():  # waiting for the job's host: the next hurried round
                left = max(0.0, clock.deadline - time.monotonic())
                await poller.next_round(timeout=min(settings.startup_poll_interval, left))
            else:
                await session.status_change_or(poller, status, future, clock.deadline)
        reported_host, port = future.result()
        host = reported_host if use_reported else self.scheduler_host(scheduler_host)
        try:  # with c.JobSpawner.ssh_forward_port: the local end of a forward (transport.py)
            host, port = await self.host.transport_route(host, port)
        except TransportError as e:
            raise SpawnException(
                f"Cannot reach the notebook server through the login node: {e}", reason="route"
            ) from e
        self.host.emit(f"The notebook server reported port {port}; checking {host}:{port}.", 70)
        url = routing.server_url(host, port, "https" if settings.internal_ssl else "http")
        await self.wait_for_server(host, port, url, clock.deadline)
        self.host.emit(
            f"The notebook server is listening on {host}:{port} and answers; connecting.", 90
        )
        return url

    def scheduler_host(self, host: str | None) -> str:
        """The scheduler's host for the job (renamed by ``host_map``), refused when no route
        may point there."""
        return start_failures.routable_scheduler_host(self.settings, self.job_id, host)

    # --- check the server that reported ----------------------------------------------------
    async def probe(self, host: str, port: int, api_url: str) -> ProbeResult:
        """One check that this start's server answers at ``api_url``."""
        settings = self.settings
        allowed = self.session.hosts_allowed() if settings.host_source == "server" else None
        try:
            await server_check.check_host_addresses(host, port, allowed)
        except OSError as e:
            return ProbeResult(False, f"the host name {host} does not resolve ({e})")
        return await server_check.probe(
            api_url,
            timeout=5.0,
            ssl_context=self.host.check_ssl_context(),
            key=self.check_key or None,
        )

    async def wait_for_server(self, host: str, port: int, url: str, deadline: float) -> None:
        """Wait until a Jupyter server answers at ``url`` under this server's prefix.

        Retries briefly while the server finishes starting, and follows the job's status
        meanwhile: a job that ends fails the spawn within one status round, a host that no
        route may point at fails it at once, and so does a server that answers without
        proving it is this spawn's (:mod:`jobspawner.jobside.server_proof`); a check that keeps
        failing fails it after ``server_check_timeout`` seconds.
        """
        session = self.session
        poller = session.poller()
        interval = self.settings.startup_poll_interval
        api_url = url + self.host.server_prefix().rstrip("/") + "/api"
        check_deadline = min(deadline, time.monotonic() + self.settings.server_check_timeout)
        last = "no answer yet"
        attempt: asyncio.Future[ProbeResult] | None = None
        next_try, delay = time.monotonic(), 0.2
        try:
            while True:
                if attempt is None and time.monotonic() >= next_try:
                    attempt = asyncio.ensure_future(self.probe(host, port, api_url))
                if attempt is not None:
                    await asyncio.wait([attempt], timeout=interval)
                else:
                    await asyncio.sleep(min(interval, max(0.0, next_try - time.monotonic())))
                if attempt is not None and attempt.done():
                    try:
                        result = attempt.result()
                    except routing.RouteRefused as e:
                        raise SpawnException(
                            f"Cannot route to the notebook server: {e}.", reason="route"
                        ) from e
                    attempt = None
                    if result.ok:
                        return
                    last = result.detail
                    if result.unproven:  # never routed: the spawn fails now
                        raise await self.server_check_failed(
                            host, port, api_url, last, unproven=True
                        )
                    next_try, delay = time.monotonic() + delay, min(delay * 2, 2.0)
                status = await session.shared_status(poller)
                if status.state.finished:
                    raise await self.job_ended(status)
                if time.monotonic() > check_deadline:
                    raise await self.server_check_failed(host, port, api_url, last)
        finally:
            if attempt is not None:
                attempt.cancel()

    # --- failures ---------------------------------------------------------------------------
    async def server_check_failed(
        self, host: str, port: int, api_url: str, last: str, unproven: bool = False
    ) -> SpawnException:
        """The error for a reported port where no Jupyter server of this spawn answers."""
        message = start_failures.server_check_message(
            self.host.server_prefix(),
            host,
            port,
            self.job_id,
            server_check.probe_url(api_url, self.check_key),
            last,
            unproven,
        )
        return await self.session.with_log_tail(message, self.ctx, "server_check")

    async def job_ended(self, status: JobStatus) -> SpawnException:
        """The error for a job that ended before its server reported: state + log tail."""
        return await self.session.job_ended_while_starting(self.ctx, status)
