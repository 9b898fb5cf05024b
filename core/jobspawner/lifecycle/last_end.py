"""Why the user's last server stopped, kept until she starts a new one and shown to her.

When the hub sees a running server's job end without a stop asked through the hub (an
administrator cancelled it, it reached its time limit, it was killed with its node or by the
out-of-memory killer, the server exited on its own), :func:`note_end` keeps a record in the
spawner: when, the job id, how it ended in plain words (:func:`end_words.end_words`),
its log file and the last lines of that log. It is part of the job's record
(:attr:`jobspawner.lifecycle.job_record.JobRecord.last_end`, bounded there), and
``JobSpawner.clear_state`` leaves it, so it outlives JupyterHub's cleanup after the stop and a
hub restart.

The user sees it where she goes next, the spawn page (:func:`form_with_notice`): a notice
above the spawn form; where the site has no form, the notice alone is the form, so
JupyterHub shows the page once instead of starting at once. The session view shows it on the
server's card. The record is dropped when a new start begins: from then on it no longer
describes her last server, and a start that fails keeps its own reason
(:mod:`jobspawner.web.session_view`).

Everything in the record that the job or the scheduler controls (the log's lines, the
scheduler's words) is escaped when rendered; it is stored bounded in size and without
control characters.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

import jinja2

from jobspawner.contract.context import BackendContext
from jobspawner.facade.backend import Backend
from jobspawner.facade.end_words import end_words
from jobspawner.lifecycle import walltime
from jobspawner.lifecycle.job_record import MAX_TAIL, MAX_WORDS, JobRecord, clean_text

if TYPE_CHECKING:
    from jobspawner.contract.status import JobStatus

#: Seconds the hub waits for the job's log when it notices the end.
LOG_TIMEOUT = 10.0

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("jobspawner", "web"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)


class RecordHolder(Protocol):
    """What the notice asks of a server: its job's record, where the last end is kept."""

    @property
    def record(self) -> JobRecord:
        """The job's record (:attr:`~jobspawner.lifecycle.job_record.JobRecord.last_end`)."""


class EndedServer(walltime.WalltimeJob, walltime.RelaunchServer, Protocol):
    """What noting a job's end asks of its server (the spawner's public side)."""

    @property
    def starting(self) -> bool:
        """A start of this server runs in this hub process."""

    @property
    def start_unfinished(self) -> bool:
        """The job was submitted and its server has not answered yet."""

    @property
    def stop_pending(self) -> bool:
        """JupyterHub is stopping this server (a stop asked through the hub)."""

    @property
    def job_output(self) -> str:
        """The job's output file ("" when none)."""

    @property
    def log_tail_lines(self) -> int:
        """``c.JobSpawner.log_tail_lines``: how many of its last lines are kept."""

    @property
    def log(self) -> logging.Logger:
        """The hub's log."""

    @property
    def log_name(self) -> str:
        """The server's name in the hub's log."""

    def load(self) -> Backend:
        """The server's backend."""

    def context(self) -> BackendContext:
        """Who runs the backend's commands, and where (the user's identity)."""

    def persist(self, record: JobRecord) -> None:
        """Write ``record`` to the hub's database now."""


def should_note(spawner: EndedServer) -> bool:
    """True when an ended job is news to the user: her running server's job ended without a
    stop asked through the hub, and it is not recorded yet."""
    if not spawner.job_id or spawner.starting or spawner.start_unfinished:
        return False  # a start handles (and reports) its own job's end
    if spawner.stop_pending:
        return False  # a stop the user, an admin or the culler asked for through the hub
    return bool(spawner.record.last_end.get("job_id") != spawner.job_id)


async def note_end(spawner: EndedServer, status: JobStatus, words: str | None = None) -> None:
    """Record why the server's job ended (see the module's text) and persist it now;
    ``words``: how it ended, when not from the job's status (:mod:`.server_watch`)."""
    if not should_note(spawner):
        return
    job_id = spawner.job_id
    spawner.record.last_end = {
        "job_id": job_id,
        "time": time.time(),
        "words": clean_text(
            walltime.end_words(spawner, status, words or end_words(job_id, status)), MAX_WORDS
        ),
        "log_file": spawner.job_output,
        "log_tail": await _log_tail(spawner),
        "relaunch": walltime.relaunch_url(spawner),
    }
    spawner.log.info(
        "%s: told the user at the next spawn: %s",
        spawner.log_name,
        spawner.record.last_end["words"],
    )
    spawner.persist(spawner.record)


async def _log_tail(spawner: EndedServer) -> str:
    """The last lines of the job's log, read as the user and bounded (:mod:`.log_reads`);
    empty when it cannot be read."""
    if not spawner.job_output:
        return ""
    try:
        tail = await asyncio.wait_for(
            spawner.load().read_log(spawner.context(), spawner.job_output, spawner.log_tail_lines),
            timeout=LOG_TIMEOUT,
        )
    except Exception as e:  # the notice matters more than its log
        spawner.log.debug("%s: could not read the log of the ended job: %s", spawner.log_name, e)
        return ""
    return clean_text(str(tail or ""), MAX_TAIL, keep_lines=True).strip("\n")


def forget(spawner: RecordHolder) -> None:
    """A new start begins: the record no longer describes her last server."""
    spawner.record.last_end = {}


# --- what the user reads --------------------------------------------------------------------


def when_text(stamp: float | None, now: float | None = None) -> str:
    """``at 23:41 UTC`` today, ``on 28 Nov 2026 at 23:41 UTC`` before (the hub's zone)."""
    if stamp is None:
        return ""
    moment = time.localtime(stamp)
    today = time.localtime(time.time() if now is None else now)
    clock = time.strftime("%H:%M %Z", moment)
    if moment[:3] == today[:3]:
        return f"at {clock}"
    return f"on {time.strftime('%d %b %Y', moment).lstrip('0')} at {clock}"


def sentence(record: Mapping[str, Any]) -> str:
    """``Your last server stopped at 23:41 UTC: its batch job 480 was cancelled (...).``"""
    when = when_text(record.get("time"))
    return f"Your last server stopped{' ' + when if when else ''}: {record['words']}"


def render_notice(record: Mapping[str, Any], only: bool = False) -> str:
    """The notice's HTML (every value escaped); ``only``: it is the whole spawn form."""
    stamp = record.get("time")
    iso = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(stamp)) if stamp else ""
    return _ENV.get_template("last_end_notice.html").render(
        sentence=sentence(record),
        iso=iso,
        log_file=record.get("log_file") or "",
        log_tail=record.get("log_tail") or "",
        relaunch=record.get("relaunch") or "",
        only=only,
    )


def form_with_notice(spawner: RecordHolder, form: Any) -> Any:
    """The spawn form with the notice at its top, or the notice alone when the site has no
    form (then JupyterHub shows the spawn page, once, instead of starting at once)."""
    if not spawner.record.last_end:
        return form
    if not form:
        return render_notice(spawner.record.last_end, only=True)
    return render_notice(spawner.record.last_end) + str(form)  # the site's form is its own HTML


def card(spawner: RecordHolder) -> dict[str, Any] | None:
    """The record for the session view's card (plain data; the page escapes it)."""
    record = spawner.record.last_end
    if not record:
        return None
    return {
        "message": sentence(record),
        "job_id": record.get("job_id"),
        "log_file": record.get("log_file") or None,
        "log_tail": record.get("log_tail") or None,
    }
