"""``JobSession``: what the hub does to one server's jobs, apart from JupyterHub's lifecycle.

Issue #22 moved start, wait, probe, cancel, confirm and poll out of ``JobSpawner`` into this
room:

- **start** (:mod:`jobspawner.lifecycle.job_start`): submit the rendered job or adopt the job a hub
  restart kept, follow it until its server reported its port and answers the check;
- **poll**: the job's status from the shared rounds (:mod:`jobspawner.lifecycle.poller`), an ended
job
  confirmed as its user, its exit status; a start a hub restart interrupted is ended here
  (its job kept for the user's next start, or cancelled);
- **cancel and confirm**: a cancel is confirmed (the backend's ``cancel`` returns only once
  the scheduler no longer runs the job) or the job is kept in the record's
  ``unconfirmed_cancels`` and retried at the next start; a job that never started its server
  has its secrets file removed, as the user; a job kept from a start a hub restart
  interrupted is dropped the same way.

A session is built from the job's record (:class:`~jobspawner.lifecycle.job_record.JobRecord`), a
frozen snapshot of the settings (:class:`~jobspawner.lifecycle.session_settings.SessionSettings`), a
factory of backend contexts (the runners act as the user), the shared status poller, and a
host that it reports to through small protocols (:mod:`jobspawner.lifecycle.session_host`):
``emit`` a
progress message, ``persist`` the record now, and what only JupyterHub's side has. The
spawner is that host; helpers (the server watch) get a session, not the spawner.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

from jobspawner.boundary import bounded_text, secrets_cleanup
from jobspawner.contract.commands import CommandError
from jobspawner.contract.context import BackendContext
from jobspawner.contract.jobspec import legacy_secrets_file
from jobspawner.contract.status import JobState, JobStatus
from jobspawner.facade.backend import BackendError
from jobspawner.facade.end_words import ended_while_starting
from jobspawner.facade.hub_compat import SpawnException
from jobspawner.lifecycle import interrupted_start, status_rounds
from jobspawner.lifecycle.job_record import JobRecord, QueuedStart
from jobspawner.lifecycle.job_start import JobStart
from jobspawner.lifecycle.poller import StatusPoller
from jobspawner.lifecycle.session_host import PollHost, SessionHost, StartHost, TokenHost
from jobspawner.lifecycle.session_settings import SessionSettings
from jobspawner.transport.routing import HostAllowList

__all__ = ["JobSession", "SessionHost"]


class JobSession:
    """One server's jobs as this hub process acts on them (see the module's text)."""

    def __init__(
        self,
        record: JobRecord,
        context: Callable[[], BackendContext],
        poller: Callable[[], StatusPoller],
        host: SessionHost,
        log: logging.Logger,
        name: str,
        settings: SessionSettings | None = None,
    ) -> None:
        self.record = record
        self._settings = settings
        self.context = context
        self.poller = poller
        self.host = host
        self.log = log
        self.name = name

    @property
    def settings(self) -> SessionSettings:
        """The settings this session reads (a start's: frozen when it began)."""
        if self._settings is None:
            raise RuntimeError(f"{self.name}: this session was built without settings")
        return self._settings

    # --- start (jobspawner.lifecycle.job_start) ---
    async def begin_start(self, host: StartHost, ctx: BackendContext) -> JobStart:
        """A start up to its job in the queue: cancels still owed retried, the host rules
        checked, the kept job adopted or a new one submitted and recorded."""
        await self.retry_unconfirmed_cancels(ctx)
        if self.settings.host_source == "server":
            self.hosts_allowed()  # a bad entry fails the spawn before a job is submitted
        start = JobStart(self, host, ctx)
        await start.submit_or_adopt()
        return start

    def hosts_allowed(self) -> HostAllowList:
        """``server_hosts_allowed`` parsed; a bad entry is a config error naming it."""
        try:
            return HostAllowList.parse(list(self.settings.server_hosts_allowed))
        except ValueError as e:
            raise SpawnException(str(e), reason="config") from e

    async def shared_status(self, poller: StatusPoller, fresh: bool = False) -> JobStatus:
        """This job's status from the shared rounds; its own query only when none is recent
        (``fresh``: an answer newer than half a startup interval)."""
        interval = self.settings.startup_poll_interval
        cached = poller.cached(self.record.job_id)
        if cached is not None and not fresh and cached[0] <= interval * 1.5:
            return cached[1]
        return await poller.status(self.record.job_id, max_age=interval / 2)

    async def status_change_or(
        self, poller: StatusPoller, seen: JobStatus, future: asyncio.Future[Any], deadline: float
    ) -> None:
        """Wait until a shared round sees this job's status change from ``seen``, or for
        ``future`` (the port report), never past ``deadline``: a queued spawn does not wake
        at every round while its job keeps waiting. It still wakes every 30 startup
        intervals, so a spawn whose rounds stopped asks on its own (:meth:`shared_status`)."""
        waiter = poller.changed(self.record.job_id, seen)
        longest = 30 * self.settings.startup_poll_interval
        try:
            await asyncio.wait(
                [future, waiter],
                timeout=max(0.0, min(longest, deadline - time.monotonic())),
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            waiter.cancel()

    async def confirm_ended(self, status: JobStatus, job_id: str = "") -> JobStatus:
        """A job (this server's, or ``job_id``) the hub's own query no longer lists,
        confirmed as its user (PrivateData)."""
        ctx = self.context()
        if ctx.query_runner.prefix == ctx.runner.prefix:
            return status
        ctx.query_runner = ctx.runner
        job_id = job_id or self.record.job_id
        return await status_rounds.confirm_vanished(ctx.backend, ctx, job_id, status)

    # --- the log tail of a failure ----------------------------------------------------------
    async def failure_tail(self, ctx: BackendContext) -> str:
        """The end of the job's log for a failure message: bounded when read
        (:mod:`.log_reads`) and cut to :data:`~.bounded_text.STORED_TAIL` bytes, since the
        message is kept in the state (the hub's database) and sent to the spawn page."""
        output = self.record.job_output
        try:
            tail = await ctx.backend.read_log(ctx, output, self.settings.log_tail_lines)
        except Exception as e:  # the message matters more than the log
            tail = f"(could not read {output}: {e})"
        return bounded_text.clip(tail.rstrip(), bounded_text.STORED_TAIL)

    async def with_log_tail(self, message: str, ctx: BackendContext, reason: str) -> SpawnException:
        """``message`` and, when the job's log has any, its last lines."""
        tail = await self.failure_tail(ctx)
        if tail.strip():
            message += f"\nLast lines of {self.record.job_output}:\n{tail}"
        return SpawnException(message, reason=reason)

    async def job_ended_while_starting(
        self, ctx: BackendContext, status: JobStatus
    ) -> SpawnException:
        """The error for a job that ended before its server reported: state + log tail (the
        job forgotten, its secrets file removed)."""
        record = self.record
        job_id = record.job_id
        record.job_id = ""
        self.host.persist(record)
        self.poller().forget(job_id)
        await self.remove_secrets(ctx)
        tail = await self.failure_tail(ctx)
        message = ended_while_starting(job_id, status)
        if tail.strip():
            message += f"\nLast lines of {record.job_output}:\n{tail}"
        else:
            message += f"\nIts output file {record.job_output} is empty or unreadable."
        return SpawnException(message, reason="job_ended")

    # --- poll -------------------------------------------------------------------------------
    async def poll(self, host: PollHost) -> int | None:
        """None while the record's job exists (pending, held, running, suspended, or unknown
        because the scheduler did not answer); its exit status once it has ended."""
        record, settings = self.record, self.settings
        max_age = status_rounds.poll_max_age(settings.status_max_age, settings.status_interval)
        status = await self.poller().status(record.job_id, max_age=max_age)
        if status.state.finished:
            status = await self.confirm_ended(status)
        if not status.state.finished:
            await host.transport_restore()  # an SSH port forward lost by a hub restart
            return await host.server_watch_poll()
        host.stop_server_watch()
        host.transport_close()  # JupyterHub calls stop() only for a server that still runs
        self.log.info("%s: job %s has ended (%s)", self.name, record.job_id, status.state.value)
        await host.note_job_end(status)
        if status.state is JobState.CANCELLED and not status.exit_code:
            return 143  # cancelled (SIGTERM), even when the server exited cleanly on it
        if status.exit_code is not None:
            return status.exit_code
        return 0 if status.state is JobState.DONE else 1

    # --- a start a hub restart interrupted (jobspawner.lifecycle.interrupted_start) ---
    def keep_interrupted_start(self, host: TokenHost) -> str | None:
        """A start a hub restart interrupted, its job kept for the user's next start with
        the same options (``keep_queued_on_restart``): the user's words, or None when it is
        not kept (then :meth:`cancel_interrupted_start`)."""
        record = self.record
        job_id = record.job_id
        if not (self.settings.keep_queued_on_restart and record.server_token):
            return None
        self.log.warning(
            "%s: JupyterHub restarted while job %s was starting; the job is kept and the "
            "user's next start with the same options resumes it "
            "(c.JobSpawner.keep_queued_on_restart)",
            self.name,
            job_id,
        )
        record.keep_start()
        self.watch_kept_start(host)
        host.persist(record)
        return interrupted_start.kept_message(job_id)

    async def cancel_interrupted_start(self, host: TokenHost) -> str:
        """A start a hub restart interrupted and that is not kept: its job cancelled (a
        cancel not confirmed is owed), its token deleted; the user's words."""
        record = self.record
        job_id = record.job_id
        self.log.warning(
            "%s: JupyterHub restarted while job %s was starting; a restarted hub cannot "
            "follow the start, so the job is cancelled and the user asked to start again",
            self.name,
            job_id,
        )
        try:
            await self.cancel(job_id)
        except Exception as e:  # kept in unconfirmed_cancels, retried at the next start
            self.log.error("%s: could not cancel job %s: %s", self.name, job_id, e)
        record.job_id = ""
        host.revoke_token(record.server_token)
        record.finish_start()
        host.persist(record)
        return interrupted_start.user_message(job_id)

    def watch_kept_start(self, host: TokenHost) -> None:
        """Follow a kept job in the shared rounds: when it ends before a start adopts it,
        its server token is deleted at once (the record keeps the rest for the next start,
        which says how it ended)."""
        queued = self.record.queued
        if queued is None:
            return
        schedule = status_rounds.run_soon

        def listener(job_id: str, status: JobStatus) -> None:
            if self.record.queued is queued:
                schedule(lambda: self._kept_job_ended(host, queued, status))()

        try:
            self.poller().watch(queued.job_id, listener)
        except Exception as e:  # loading state must never fail on this
            self.log.debug("could not watch kept job %s: %s", queued.job_id, e)

    async def _kept_job_ended(
        self, host: TokenHost, queued: QueuedStart, status: JobStatus
    ) -> None:
        status = await self.confirm_ended(status, queued.job_id)
        if not status.state.finished or self.record.queued is not queued:
            return
        self.log.info(
            "%s: job %s, kept from before a hub restart, ended before a start adopted it (%s)",
            self.name,
            queued.job_id,
            status.state.value,
        )
        host.revoke_token(queued.server_token)

    async def drop_kept_start(self, host: TokenHost, queued: QueuedStart, cancel: bool) -> None:
        """A kept start not adopted: cancel its job (as it was submitted) and confirm, remove
        its secrets file, delete its token. A cancel not confirmed is retried later."""
        ctx, poller = host.kept_job_access(queued)
        await self.drop_kept(queued, ctx, poller, cancel)
        host.revoke_token(queued.server_token)

    # --- cancel and confirm ----------------------------------------------------------------
    async def cancel(self, job_id: str, ctx: BackendContext | None = None) -> None:
        """Cancel ``job_id`` and confirm; a job whose cancel is not confirmed is kept in the
        record's ``unconfirmed_cancels`` (and the error raised). The record's current job,
        once cancelled, has its secrets file removed and is cleared."""
        ctx = ctx or self.context()
        record = self.record
        try:
            await ctx.backend.cancel(ctx, [job_id])
        except (CommandError, BackendError) as e:
            self.log.error("Could not confirm the cancel of job %s: %s", job_id, e)
            self._owe(job_id)
            record.job_id = ""
            self.host.persist(record)
            raise
        self.poller().forget(job_id)
        if record.job_id == job_id:
            await self.remove_secrets(ctx)
            record.job_id = ""
        self.host.persist(record)

    async def cancel_after_failed_start(self, ctx: BackendContext) -> None:
        """A start failed or was cancelled: cancel its job (a cancel not confirmed is in the
        record, and ``stop`` says so)."""
        if not self.record.job_id:
            return
        self.log.info("%s: cancelling job %s after a failed start", self.name, self.record.job_id)
        with contextlib.suppress(Exception):  # recorded in unconfirmed_cancels
            await self.cancel(self.record.job_id, ctx)

    async def retry_unconfirmed_cancels(self, ctx: BackendContext) -> None:
        """Cancel again every job whose cancel was not confirmed; keep those still not."""
        record = self.record
        for job_id in list(record.unconfirmed_cancels):
            try:
                await ctx.backend.cancel(ctx, [job_id])
            except (CommandError, BackendError) as e:
                self.log.warning("Job %s still not confirmed cancelled: %s", job_id, e)
                continue
            record.unconfirmed_cancels = [j for j in record.unconfirmed_cancels if j != job_id]

    async def remove_secrets(self, ctx: BackendContext, path: str | None = None) -> None:
        """Delete a job's secrets file as the user (the record's job's by default): a job
        that never started its server (cancelled while queued, failed before the server)
        leaves it behind otherwise."""
        record = self.record
        if path is None:
            path = record.job_secrets or (
                legacy_secrets_file(record.job_output) if record.job_output else ""
            )
        await secrets_cleanup.remove_leftover(ctx, path, self.log, self.name)

    async def drop_kept(
        self, queued: QueuedStart, ctx: BackendContext, poller: StatusPoller, cancel: bool
    ) -> None:
        """A kept start not adopted: its job cancelled (with ``cancel``; ``ctx`` and
        ``poller`` as it was submitted) and confirmed, its secrets file removed; a cancel not
        confirmed is owed (retried at the next start) and the progress says so."""
        poller.forget(queued.job_id)
        if self.record.queued is queued:
            self.record.queued = None
        confirmed = True
        if cancel:
            try:
                await ctx.backend.cancel(ctx, [queued.job_id])
            except (CommandError, BackendError) as e:
                self.log.error("Could not confirm the cancel of job %s: %s", queued.job_id, e)
                self._owe(queued.job_id)
                self.host.emit(interrupted_start.replacing_unconfirmed(queued.job_id), 5)
                confirmed = False
        if confirmed:
            await self.remove_secrets(ctx, queued.job_secrets)
        self.host.persist(self.record)

    def _owe(self, job_id: str) -> None:
        if job_id not in self.record.unconfirmed_cancels:
            self.record.unconfirmed_cancels = [*self.record.unconfirmed_cancels, job_id]
