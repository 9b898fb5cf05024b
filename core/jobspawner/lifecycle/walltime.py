"""The job's walltime, told to its server, and what its server saved before the end (hub side).

A batch job ends at its time limit whatever its user is doing. The hub already follows every
job in its status rounds; where the scheduler reports when a running job will end (Slurm's
``EndTime``: :attr:`jobspawner.contract.status.JobStatus.end_time`, current after ``scontrol update
TimeLimit``), that is the end, else the job's requested runtime counted from its server's
start. The job's server asks (:mod:`jobspawner.jobside.walltime_server`), with its own API token:

    GET  /hub/api/jobspawner/walltime/<user>[/<server>]
    ->   {"end": <epoch seconds or null>, "runtime": <seconds or null>,
          "warnings": [<seconds before the end>...], "save_before": <seconds>,
          "refresh": <seconds until it should ask again>}

The answer comes from the last status round (no scheduler command of its own). When the end
comes, every open JupyterLab saves its unsaved documents and the server reports what was
saved, once per job, with the same token:

    POST /hub/api/jobspawner/walltime/<user>[/<server>]
         {"saved": [<path>...], "failed": [<path>...]}

The report is the job's word (user-controlled): its body is read up to
:data:`MAX_REPORT` bytes, at most :data:`MAX_PATHS` paths of :data:`MAX_PATH` characters are
kept, without control characters, and it only adds a sentence to the notice the user reads
after the job ended (:mod:`jobspawner.lifecycle.last_end`). ``c.JobSpawner.walltime_notices =
False``
turns all of it off: the job is not told (no ``JOBSPAWNER_WALLTIME`` in its environment) and
these endpoints answer 404.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any, Protocol, cast

from tornado.web import stream_request_body
from traitlets import Bool, Float, HasTraits, List, TraitError, validate

from jobspawner.choices import options_form
from jobspawner.choices.options_host import RelaunchHost
from jobspawner.contract.status import JobState, JobStatus
from jobspawner.lifecycle import started_options
from jobspawner.lifecycle.handshake import ServerTokenHandler, register_api
from jobspawner.lifecycle.job_record import JobRecord
from jobspawner.lifecycle.poller import StatusPoller
from jobspawner.lifecycle.walltime_report import MAX_PATH, MAX_PATHS, ReportError, parse_report

__all__ = ["MAX_PATH", "MAX_PATHS", "ReportError", "parse_report"]

API_PATH = r"/api/jobspawner/walltime/([^/]+)(?:/([^/]*))?"
#: Set to "1" in the job's environment when the hub tells the server its walltime.
ENV_FLAG = "JOBSPAWNER_WALLTIME"
#: The most bytes of a save report the hub reads.
MAX_REPORT = 16 * 1024
#: Bounds of how often a server asks (seconds): the hub's status interval within them.
REFRESH_MIN, REFRESH_MAX = 5.0, 300.0
#: Seconds around the end in which a job that ended counts as ended by its time limit.
LIMIT_SLACK = 90.0


class WalltimeConfig(HasTraits):
    """The ``c.JobSpawner`` settings of the walltime notices (a mixin of ``JobSpawner``)."""

    walltime_notices = Bool(
        True,
        config=True,
        help="""Tell each job's JupyterLab when its job ends: a status-bar countdown, warnings
        (`walltime_warnings`), every open document saved `walltime_save_before` seconds
        before the end, and afterwards a notice on the spawn page and session view that says
        so and offers to start again with the same options. The end is what the scheduler
        reports (Slurm's EndTime, current after a time-limit change), else the requested
        runtime. False: the job is not told anything and nothing is saved for the user.""",
    )
    walltime_warnings = List(
        Float(),
        default_value=[900.0, 120.0],
        config=True,
        help="""Seconds before the job's end at which JupyterLab shows a warning (with a
        button that saves every open document).""",
    )
    walltime_save_before = Float(
        60.0,
        config=True,
        help="""Seconds before the job's end at which every open JupyterLab saves its unsaved
        documents (and the server tells the hub what was saved, for the notice after the
        end). Saving takes seconds; keep it above the status interval's lag.""",
    )

    @validate("walltime_warnings")
    def _valid_warnings(self, proposal: Any) -> list[float]:
        values = [float(v) for v in proposal["value"]]
        if any(v <= 0 for v in values) or len(values) > 10:
            raise TraitError(
                "c.JobSpawner.walltime_warnings must be at most 10 positive numbers of "
                f"seconds before the job's end, e.g. [900, 120]; got {values!r}"
            )
        return sorted(set(values), reverse=True)

    @validate("walltime_save_before")
    def _valid_save_before(self, proposal: Any) -> float:
        value = float(proposal["value"])
        if value < 0:
            raise TraitError(
                "c.JobSpawner.walltime_save_before must be 0 or more seconds before the "
                f"job's end; got {value!r}"
            )
        return value


# --- what the walltime asks of the server's spawner ----------------------------------------


class WalltimeSettings(Protocol):
    """The walltime settings (:class:`WalltimeConfig`'s) of a server."""

    @property
    def walltime_notices(self) -> bool:
        """``c.JobSpawner.walltime_notices``."""

    @property
    def walltime_warnings(self) -> list[float]:
        """``c.JobSpawner.walltime_warnings``."""

    @property
    def walltime_save_before(self) -> float:
        """``c.JobSpawner.walltime_save_before``."""


class WalltimeJob(WalltimeSettings, Protocol):
    """A server's current job, its record and the end it was last told."""

    #: The end this server was last told (epoch seconds; None when none).
    walltime_end: float | None

    @property
    def job_id(self) -> str:
        """The server's current job ("" when none)."""

    @property
    def record(self) -> JobRecord:
        """The job's record (:mod:`jobspawner.lifecycle.job_record`)."""


class WalltimeServer(WalltimeJob, Protocol):
    """What the walltime endpoint asks of the server it answers."""

    @property
    def status_interval(self) -> float:
        """``c.JobSpawner.status_interval``: how often the status rounds ask."""

    @property
    def log(self) -> logging.Logger:
        """The hub's log."""

    @property
    def log_name(self) -> str:
        """The server's name in the hub's log."""

    def poller(self) -> StatusPoller:
        """The shared status poller of its jobs."""

    def resources(self) -> dict[str, Any]:
        """The resources its job asked for (``runtime_s`` among them)."""

    def persist(self, record: JobRecord) -> None:
        """Write ``record`` to the hub's database now."""


class RelaunchServer(started_options.RecordHost, RelaunchHost, Protocol):
    """What starting a server again with its last options asks of it: its record (the
    options) and who and where it is (the spawn page's URL)."""


# --- what the hub knows ------------------------------------------------------------------


def job_env(spawner: WalltimeSettings) -> dict[str, str]:
    """What the job's environment gets: the flag that turns the server's side on."""
    return {ENV_FLAG: "1"} if spawner.walltime_notices else {}


def scheduler_end(status: JobStatus | None) -> float | None:
    """The end the scheduler reports for a running job (epoch seconds), or None."""
    if status is None or status.end_time is None:
        return None
    if status.state not in (JobState.RUNNING, JobState.SUSPENDED):
        return None  # a pending job's end is the scheduler's guess
    return status.end_time.timestamp()


def runtime_seconds(spawner: WalltimeServer) -> float | None:
    """The runtime this server's job asked for (seconds), or None when none is known."""
    try:
        value = spawner.resources().get("runtime_s")
    except Exception:  # a setting changed since the start: no fallback then
        return None
    return float(value) if isinstance(value, (int, float)) and value > 0 else None


def answer(spawner: WalltimeServer) -> dict[str, Any]:
    """What a server asking for its walltime is told (from the last status round)."""
    cached = spawner.poller().cached(spawner.job_id) if spawner.job_id else None
    status = cached[1] if cached else None
    refresh = min(max(float(spawner.status_interval or 0), REFRESH_MIN), REFRESH_MAX)
    return {
        "end": scheduler_end(status),
        "runtime": runtime_seconds(spawner),
        "warnings": list(spawner.walltime_warnings),
        "save_before": spawner.walltime_save_before,
        "refresh": refresh,
    }


# --- the save report ---------------------------------------------------------------------


def note_report(spawner: WalltimeServer, report: Mapping[str, Sequence[str]]) -> None:
    """Keep a save report for the notice after the job's end (the latest one counts)."""
    spawner.record.walltime_saved = {
        "job_id": spawner.job_id,
        "time": time.time(),
        "saved": list(report.get("saved", [])),
        "failed": list(report.get("failed", [])),
    }
    spawner.log.info(
        "%s: its JupyterLab saved %d documents before the walltime (%d could not be saved)",
        spawner.log_name,
        len(spawner.record.walltime_saved["saved"]),
        len(spawner.record.walltime_saved["failed"]),
    )
    spawner.persist(spawner.record)


def forget(spawner: WalltimeJob) -> None:
    """A new start begins: nothing is known of its job's end yet."""
    spawner.record.walltime_saved = {}
    spawner.walltime_end = None


# --- what the user reads after the end -----------------------------------------------------


def reached_limit(status: JobStatus, end: float | None, now: float | None = None) -> bool:
    """Whether a job ended by its time limit: the scheduler says so (Slurm's TIMEOUT), or it
    ended within :data:`LIMIT_SLACK` seconds of the end it was told."""
    if (status.native_state or "").upper().startswith("TIMEOUT"):
        return True
    if end is None:
        return False
    return abs((time.time() if now is None else now) - end) <= LIMIT_SLACK


def _names(paths: Sequence[str], most: int = 10) -> str:
    shown = ", ".join(paths[:most])
    return shown + (f" and {len(paths) - most} more" if len(paths) > most else "")


def end_words(spawner: WalltimeJob, status: JobStatus, words: str) -> str:
    """``words`` (how the job ended), told in terms of its time limit and what was saved when
    the walltime ended it; ``words`` unchanged otherwise."""
    if not spawner.walltime_notices:
        return words
    record = spawner.record.walltime_saved
    saved_here = bool(record) and record.get("job_id") == spawner.job_id
    end = spawner.walltime_end
    if not (reached_limit(status, end) or saved_here):
        return words
    text = f"its batch job {spawner.job_id} reached its time limit."
    if saved_here:
        saved, failed = record.get("saved") or [], record.get("failed") or []
        if saved:
            text += f" Your unsaved documents were saved before it ended: {_names(saved)}."
        elif not failed:
            text += " No open document had unsaved changes."
        if failed:
            text += f" These could not be saved and lost their last changes: {_names(failed)}."
    return text


def relaunch_url(spawner: RelaunchServer) -> str:
    """The spawn page's URL that starts this server again with the options of its last start
    that came up (:mod:`jobspawner.lifecycle.started_options`, as the session view's,
    :func:`jobspawner.choices.options_form.relaunch_url`), or "" when there are none to repeat (the
    notice is then the whole spawn form, and its Start button does that)."""
    options = started_options.options(spawner)
    return options_form.relaunch_url(spawner, options) if options else ""


# --- the endpoint --------------------------------------------------------------------------


@stream_request_body
class WalltimeHandler(ServerTokenHandler):
    """``GET``/``POST /hub/api/jobspawner/walltime/<user>[/<server>]`` with the server's
    own token: the walltime it is told, the save report it gives."""

    _body: bytearray

    async def prepare(self) -> None:
        """A longer body than :data:`MAX_REPORT` is refused (400) by tornado before it is
        read: a declared length at once, a chunked one as soon as it is longer."""
        self._body = bytearray()
        connection: Any = self.request.connection
        connection.set_max_body_size(MAX_REPORT)

    def data_received(self, chunk: bytes) -> None:
        self._body.extend(chunk)

    def _log(self) -> None:
        """A server's routine question (every status interval) is logged at debug level, as
        JupyterHub logs its health checks; anything else as usual."""
        if self.request.method == "GET" and self.get_status() < 300:
            self.log.debug("%s %s (%.1f ms)", self.get_status(), self.request.uri,
                           1000 * self.request.request_time())  # fmt: skip
            return
        super()._log()

    def _spawner(self, user_name: str, server_name: str | None) -> WalltimeServer | None:
        server = self.spawner_for_token(user_name, server_name)
        if server is None:
            self._refuse(403, "this token may not ask about that server")
            return None
        spawner = cast("WalltimeServer", server)  # a JobServer is a JobSpawner: it is one
        if not spawner.walltime_notices or not spawner.job_id:
            self._refuse(404, "the hub does not tell this server its walltime")
            return None
        return spawner

    async def get(self, user_name: str, server_name: str | None = None) -> None:
        spawner = self._spawner(user_name, server_name)
        if spawner is None:
            return
        data = answer(spawner)
        spawner.walltime_end = data["end"] or spawner.walltime_end
        self.set_header("Content-Type", "application/json")
        self.set_header("Cache-Control", "no-store")
        self.finish(json.dumps(data))

    async def post(self, user_name: str, server_name: str | None = None) -> None:
        spawner = self._spawner(user_name, server_name)
        if spawner is None:
            return
        try:
            report = parse_report(bytes(self._body))
        except ReportError as e:
            return self._refuse(400, str(e))
        note_report(spawner, report)
        self.set_status(204)
        self.finish()


def register() -> None:
    """Add the handler to JupyterHub's API handlers (idempotent)."""
    register_api(API_PATH, WalltimeHandler)
