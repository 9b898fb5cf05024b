"""Why the user's last server stopped, kept until she starts a new one and shown to her.

When the hub sees a running server's job end without a stop asked through the hub (an
administrator cancelled it, it reached its time limit, it was killed with its node or by the
out-of-memory killer, the server exited on its own), :func:`note_end` keeps a record in the
spawner: when, the job id, how it ended in plain words (:func:`end_words.end_words`),
its log file and the last lines of that log. The record is part of the spawner's state
(:func:`state_entries`, :func:`restore`), and ``JobSpawner.clear_state`` leaves it, so it
outlives JupyterHub's cleanup after the stop and a hub restart.

The user sees it where she goes next, the spawn page (:func:`form_with_notice`): a notice
above the spawn form; where the site has no form, the notice alone is the form, so
JupyterHub shows the page once instead of starting at once. The session view shows it on the
server's card. The record is dropped when a new start begins: from then on it no longer
describes her last server, and a start that fails keeps its own reason
(:mod:`jobspawner.session_view`).

Everything in the record that the job or the scheduler controls (the log's lines, the
scheduler's words) is escaped when rendered; it is stored bounded in size and without
control characters.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import jinja2

from . import bounded_text, walltime
from .end_words import end_words

if TYPE_CHECKING:
    from .spawner import JobSpawner
    from .status import JobStatus

STATE_KEY = "last_end"
#: Longest log tail kept (bytes as stored, :func:`.bounded_text.stored_size`; its end kept).
MAX_TAIL = bounded_text.STORED_TAIL
#: Longest description of the end kept (bytes as stored).
MAX_WORDS = 1024
#: Longest log file name kept (bytes as stored).
MAX_LOG_FILE = 4096
#: Longest "start again" URL kept (bytes as stored).
MAX_RELAUNCH = 2048
#: Seconds the hub waits for the job's log when it notices the end.
LOG_TIMEOUT = 10.0

_CONTROL = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|[\x00-\x08\x0b-\x1f\x7f]")
_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("jobspawner", "web"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)


def _clean(text: str, limit: int, keep_lines: bool = False) -> str:
    """``text`` without control characters (terminal colours included), its end within
    ``limit`` bytes as stored (a marker in place of the rest, :func:`.bounded_text.clip`);
    line breaks are kept only with ``keep_lines``."""
    text = _CONTROL.sub("", text.replace("\r\n", "\n"))
    if not keep_lines:
        text = " ".join(text.split())
    return bounded_text.clip(text, limit)


def should_note(spawner: JobSpawner) -> bool:
    """True when an ended job is news to the user: her running server's job ended without a
    stop asked through the hub, and it is not recorded yet."""
    if not spawner.job_id or spawner._starting or spawner.start_unfinished:
        return False  # a start handles (and reports) its own job's end
    if getattr(spawner, "_stop_pending", False):
        return False  # a stop the user, an admin or the culler asked for through the hub
    return bool(spawner._last_end.get("job_id") != spawner.job_id)


async def note_end(spawner: JobSpawner, status: JobStatus, words: str | None = None) -> None:
    """Record why the server's job ended (see the module's text) and persist it now;
    ``words``: how it ended, when not from the job's status (:mod:`.server_watch`)."""
    if not should_note(spawner):
        return
    job_id = spawner.job_id
    spawner._last_end = {
        "job_id": job_id,
        "time": time.time(),
        "words": _clean(
            walltime.end_words(spawner, status, words or end_words(job_id, status)), MAX_WORDS
        ),
        "log_file": spawner.job_output,
        "log_tail": await _log_tail(spawner),
        "relaunch": walltime.relaunch_url(spawner),
    }
    spawner.log.info(
        "%s: told the user at the next spawn: %s", spawner._log_name, spawner._last_end["words"]
    )
    spawner._persist_state()


async def _log_tail(spawner: JobSpawner) -> str:
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
        spawner.log.debug("%s: could not read the log of the ended job: %s", spawner._log_name, e)
        return ""
    return _clean(str(tail or ""), MAX_TAIL, keep_lines=True).strip("\n")


def forget(spawner: JobSpawner) -> None:
    """A new start begins: the record no longer describes her last server."""
    spawner._last_end = {}


# --- state ----------------------------------------------------------------------------------


def state_entries(spawner: JobSpawner) -> dict[str, Any]:
    """The record for ``get_state`` (nothing when there is none)."""
    return {STATE_KEY: dict(spawner._last_end)} if spawner._last_end else {}


def restore(spawner: JobSpawner, state: Mapping[str, Any]) -> None:
    """The record from a saved state; anything malformed is dropped."""
    record = state.get(STATE_KEY)
    spawner._last_end = {}
    if not isinstance(record, Mapping):
        return
    words, job_id, when = record.get("words"), record.get("job_id"), record.get("time")
    if not (isinstance(words, str) and isinstance(job_id, str) and words):
        return
    spawner._last_end = {
        "job_id": job_id,
        "time": float(when) if isinstance(when, (int, float)) else None,
        "words": _clean(words, MAX_WORDS),
        "log_file": _clean(str(record.get("log_file") or ""), MAX_LOG_FILE),
        "log_tail": _clean(str(record.get("log_tail") or ""), MAX_TAIL, keep_lines=True),
        "relaunch": _relaunch(record.get("relaunch")),
    }


def _relaunch(value: object) -> str:
    """A kept "start again" URL: a path on this hub (``/...``, not ``//host``), or ""."""
    if not isinstance(value, str) or not value.startswith("/") or value.startswith("//"):
        return ""
    text = _clean(value, MAX_RELAUNCH)
    return text if text == value else ""


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


def form_with_notice(spawner: JobSpawner, form: Any) -> Any:
    """The spawn form with the notice at its top, or the notice alone when the site has no
    form (then JupyterHub shows the spawn page, once, instead of starting at once)."""
    if not spawner._last_end:
        return form
    if not form:
        return render_notice(spawner._last_end, only=True)
    return render_notice(spawner._last_end) + str(form)  # the site's form is its own HTML


def card(spawner: JobSpawner) -> dict[str, Any] | None:
    """The record for the session view's card (plain data; the page escapes it)."""
    record = spawner._last_end
    if not record:
        return None
    return {
        "message": sentence(record),
        "job_id": record.get("job_id"),
        "log_file": record.get("log_file") or None,
        "log_tail": record.get("log_tail") or None,
    }
