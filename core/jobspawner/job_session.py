"""``JobSession``: what the hub does to one server's jobs, apart from JupyterHub's lifecycle.

Issue #22 moves start, wait, probe, cancel, confirm and poll out of ``JobSpawner`` into this
room, one responsibility at a time. It holds now **cancelling and confirming**: a cancel is
confirmed (the backend's ``cancel`` returns only once the scheduler no longer runs the job)
or the job is kept in the record's ``unconfirmed_cancels`` and retried at the next start;
a job that never started its server has its secrets file removed, as the user; a job kept
from a start a hub restart interrupted is dropped the same way.

A session is built from the job's record (:class:`~jobspawner.job_record.JobRecord`), a
factory of backend contexts (the runners act as the user), the shared status poller, and a
host that it reports to through a small protocol (:class:`SessionHost`): ``emit`` a
progress message, ``persist`` the record now. The spawner is that host; helpers (the server
watch) get a session, not the spawner's private methods.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from typing import Protocol

from . import interrupted_start, secrets_cleanup
from .backend import BackendError
from .commands import CommandError
from .context import BackendContext
from .job_record import JobRecord, QueuedStart
from .jobspec import legacy_secrets_file
from .poller import StatusPoller


class SessionHost(Protocol):
    """What a session reports to (the spawner)."""

    def emit(self, message: str, progress: int) -> None:
        """Show ``message`` in the start's progress stream (``progress``: 0-100)."""

    def persist(self, record: JobRecord) -> None:
        """Write ``record`` to the hub's database now (not only when JupyterHub saves)."""


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
    ) -> None:
        self.record = record
        self._context = context
        self._poller = poller
        self._host = host
        self._log = log
        self._name = name

    # --- cancel and confirm ----------------------------------------------------------------
    async def cancel(self, job_id: str, ctx: BackendContext | None = None) -> None:
        """Cancel ``job_id`` and confirm; a job whose cancel is not confirmed is kept in the
        record's ``unconfirmed_cancels`` (and the error raised). The record's current job,
        once cancelled, has its secrets file removed and is cleared."""
        ctx = ctx or self._context()
        record = self.record
        try:
            await ctx.backend.cancel(ctx, [job_id])
        except (CommandError, BackendError) as e:
            self._log.error("Could not confirm the cancel of job %s: %s", job_id, e)
            self._owe(job_id)
            record.job_id = ""
            self._host.persist(record)
            raise
        self._poller().forget(job_id)
        if record.job_id == job_id:
            await self.remove_secrets(ctx)
            record.job_id = ""
        self._host.persist(record)

    async def cancel_after_failed_start(self, ctx: BackendContext) -> None:
        """A start failed or was cancelled: cancel its job (a cancel not confirmed is in the
        record, and ``stop`` says so)."""
        if not self.record.job_id:
            return
        self._log.info("%s: cancelling job %s after a failed start", self._name, self.record.job_id)
        with contextlib.suppress(Exception):  # recorded in unconfirmed_cancels
            await self.cancel(self.record.job_id, ctx)

    async def retry_unconfirmed_cancels(self, ctx: BackendContext) -> None:
        """Cancel again every job whose cancel was not confirmed; keep those still not."""
        record = self.record
        for job_id in list(record.unconfirmed_cancels):
            try:
                await ctx.backend.cancel(ctx, [job_id])
            except (CommandError, BackendError) as e:
                self._log.warning("Job %s still not confirmed cancelled: %s", job_id, e)
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
        await secrets_cleanup.remove_leftover(ctx, path, self._log, self._name)

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
                self._log.error("Could not confirm the cancel of job %s: %s", queued.job_id, e)
                self._owe(queued.job_id)
                self._host.emit(interrupted_start.replacing_unconfirmed(queued.job_id), 5)
                confirmed = False
        if confirmed:
            await self.remove_secrets(ctx, queued.job_secrets)
        self._host.persist(self.record)

    def _owe(self, job_id: str) -> None:
        if job_id not in self.record.unconfirmed_cancels:
            self.record.unconfirmed_cancels = [*self.record.unconfirmed_cancels, job_id]
