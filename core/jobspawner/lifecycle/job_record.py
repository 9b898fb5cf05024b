"""``JobRecord``: everything a server's spawner keeps across hub restarts, in one place.

JupyterHub writes a spawner's ``get_state()`` into its database and hands it back to
``load_state()`` after a restart. jobspawner's part of that state is one :class:`JobRecord`:
the current job (its id, output and secrets files, the backend and settings it was submitted
with, the profile and options chosen for it, an SSH port forward), the cancels still to be
confirmed, whether its start is unfinished, and what the user is told later (why the last
start failed, why the last server stopped, the options of the last start that came up, what
JupyterLab saved before the walltime). Helpers read and write the record, never the
spawner's private attributes.

:meth:`JobRecord.to_state` writes it under the keys earlier releases used, plus ``version``
(:data:`STATE_VERSION`); :meth:`JobRecord.from_state` reads states of this and earlier
releases (no version, version 1). Everything in the state that a user, a job or a scheduler
controls is bounded here, when it is stored (:meth:`JobRecord.note_failure`) and when it is
loaded (a state saved before a cap existed): the failure message, the last end's words, log
file, log tail and relaunch link, the last start's options, the save report. A state of a
newer release is not guessed at: the record stays empty and the hub's log says so.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from jobspawner.boundary import bounded_text
from jobspawner.choices.plain_values import plain
from jobspawner.lifecycle.walltime_report import ReportError, parse_report

#: The state's version: 2 added the start kept across a hub restart (``queued_start``) and
#: an unfinished start's credentials (``server_token``, ``proof_key``).
STATE_VERSION = 2

#: Longest log tail of the last end kept (bytes as stored, :func:`.bounded_text.stored_size`).
MAX_TAIL = bounded_text.STORED_TAIL
#: Longest description of the last end kept (bytes as stored).
MAX_WORDS = 1024
#: Longest log file name kept (bytes as stored).
MAX_LOG_FILE = 4096
#: Longest "start again" URL kept (bytes as stored).
MAX_RELAUNCH = 2048
# The options and resources kept are bounded as the choices room reads them:
# :func:`jobspawner.choices.plain_values.plain` (``MAX_VALUE``, ``MAX_ENTRIES``).

_CONTROL = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|[\x00-\x08\x0b-\x1f\x7f]")


# --- the bounds, one place ---------------------------------------------------------------------


def clean_text(text: str, limit: int, keep_lines: bool = False) -> str:
    """``text`` without control characters (terminal colours included), its end within
    ``limit`` bytes as stored (a marker in place of the rest, :func:`.bounded_text.clip`);
    line breaks are kept only with ``keep_lines``."""
    text = _CONTROL.sub("", text.replace("\r\n", "\n"))
    if not keep_lines:
        text = " ".join(text.split())
    return bounded_text.clip(text, limit)


def hub_path(value: object) -> str:
    """A kept "start again" URL: a path on this hub (``/...``, not ``//host``), or ""."""
    if not isinstance(value, str) or not value.startswith("/") or value.startswith("//"):
        return ""
    text = clean_text(value, MAX_RELAUNCH)
    return text if text == value else ""


def failure_message(message: str) -> str:
    """A failed start's message as kept: at most :data:`~.bounded_text.STORED_MESSAGE`
    bytes stored, its first words and its end kept."""
    return bounded_text.clip(message, bounded_text.STORED_MESSAGE, keep="both")


def _time(value: object) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _failure(value: object) -> dict[str, Any]:
    if not isinstance(value, Mapping) or not isinstance(value.get("message"), str):
        return {}
    return {"message": failure_message(value["message"]), "time": value.get("time")}


def _last_end(value: object) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        return {}
    words, job_id = value.get("words"), value.get("job_id")
    if not (isinstance(words, str) and isinstance(job_id, str) and words):
        return {}
    return {
        "job_id": job_id,
        "time": _time(value.get("time")),
        "words": clean_text(words, MAX_WORDS),
        "log_file": clean_text(str(value.get("log_file") or ""), MAX_LOG_FILE),
        "log_tail": clean_text(str(value.get("log_tail") or ""), MAX_TAIL, keep_lines=True),
        "relaunch": hub_path(value.get("relaunch")),
    }


def _last_started(value: object) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        return {}
    return {
        "job_id": str(value.get("job_id") or ""),
        "time": _time(value.get("time")),
        "options": plain(value.get("options")),
        "resources": plain(value.get("resources")),
    }


def _walltime_saved(value: object) -> dict[str, Any]:
    if not isinstance(value, Mapping) or not isinstance(value.get("job_id"), str):
        return {}
    try:
        body = json.dumps({k: value.get(k) or [] for k in ("saved", "failed")}).encode()
        report = parse_report(body)
    except (ReportError, TypeError, ValueError):
        return {}
    return {"job_id": value["job_id"], "time": value.get("time"), **report}


def _json_mapping(value: object) -> dict[str, Any]:
    """A mapping that JSON can hold (chosen options, job settings), else empty."""
    if not isinstance(value, Mapping):
        return {}
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return {}
    return dict(value)


# --- a start kept across a hub restart ---------------------------------------------------------

#: Longest job id, file name, token or key a kept start holds.
MAX_ID = 256
MAX_PATH = 4096


_ANY_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _short(value: object, limit: int) -> str:
    """A one-line text of at most ``limit`` characters, else ""."""
    text = value if isinstance(value, str) else ""
    return text if len(text) <= limit and not _ANY_CONTROL.search(text) else ""


@dataclass
class QueuedStart:
    """A start a hub restart interrupted whose job is kept (``keep_queued_on_restart``):
    the job, what it was submitted with, and the credentials its server holds, so that the
    user's next start with the same options adopts it
    (:mod:`jobspawner.lifecycle.interrupted_start`)."""

    job_id: str
    job_output: str = ""
    job_secrets: str = ""
    backend: str = ""
    job_settings: dict[str, Any] = field(default_factory=dict)
    profile: str = ""
    options: dict[str, Any] = field(default_factory=dict)
    #: What was asked, normalised (:func:`jobspawner.lifecycle.interrupted_start.request_of`).
    request: dict[str, Any] = field(default_factory=dict)
    #: The server's API token and server-check key, as the job's secrets file has them.
    server_token: str = ""
    proof_key: str = ""
    #: When the restarted hub kept it (epoch seconds).
    kept_at: float | None = None

    def to_state(self) -> dict[str, Any]:
        return {
            "job_id": self.job_id,
            "job_output": self.job_output,
            "job_secrets": self.job_secrets,
            "backend": self.backend,
            "job_settings": dict(self.job_settings),
            "profile": self.profile,
            "options": dict(self.options),
            "request": dict(self.request),
            "server_token": self.server_token,
            "proof_key": self.proof_key,
            "kept_at": self.kept_at,
        }

    @classmethod
    def from_state(cls, value: object) -> QueuedStart | None:
        """A kept start from the state; None when malformed (no job id or no token)."""
        if not isinstance(value, Mapping):
            return None
        job_id = _short(value.get("job_id"), MAX_ID)
        token = _short(value.get("server_token"), MAX_ID)
        if not job_id or not token:
            return None
        return cls(
            job_id=job_id,
            job_output=_short(value.get("job_output"), MAX_PATH),
            job_secrets=_short(value.get("job_secrets"), MAX_PATH),
            backend=_short(value.get("backend"), MAX_ID),
            job_settings=_json_mapping(value.get("job_settings")),
            profile=_short(value.get("profile"), MAX_ID),
            options=_json_mapping(value.get("options")),
            request=_json_mapping(value.get("request")),
            server_token=token,
            proof_key=_short(value.get("proof_key"), MAX_ID),
            kept_at=_time(value.get("kept_at")),
        )


# --- the record --------------------------------------------------------------------------------


@dataclass
class JobRecord:
    """One server's persistent facts (see the module's text)."""

    #: The current job's id ("" when none).
    job_id: str = ""
    #: Its output file and secrets file (until removed).
    job_output: str = ""
    job_secrets: str = ""
    #: The backend it was submitted with.
    backend: str = ""
    #: The settings it was submitted with (``user_options.JOB_SETTINGS``), used after a
    #: restart to poll and cancel it the way it was submitted.
    job_settings: dict[str, Any] = field(default_factory=dict)
    #: The profile and the validated options of the current start.
    profile: str = ""
    options: dict[str, Any] = field(default_factory=dict)
    #: The job was submitted and its server has not answered yet.
    start_unfinished: bool = False
    #: While the start is unfinished (and ``keep_queued_on_restart``): what it asked for,
    #: normalised, and the server's API token and server-check key the job holds, so that a
    #: restarted hub can adopt the job.
    request: dict[str, Any] = field(default_factory=dict)
    server_token: str = ""
    proof_key: str = ""
    #: A start a hub restart interrupted, kept for the user's next start.
    queued: QueuedStart | None = None
    #: The SSH port forward's state (``transport``), while the job runs.
    forward: list[Any] | None = None
    #: Jobs whose cancel was not confirmed yet (retried at the next start).
    unconfirmed_cancels: list[str] = field(default_factory=list)
    #: Why the last start failed: ``{"message", "time"}`` (:func:`failure_message`).
    last_failure: dict[str, Any] = field(default_factory=dict)
    #: Why the last server stopped (``last_end``).
    last_end: dict[str, Any] = field(default_factory=dict)
    #: The options and resources of the last start that came up (``started_options``).
    last_started: dict[str, Any] = field(default_factory=dict)
    #: What JupyterLab saved before the walltime (``walltime``), for its job.
    walltime_saved: dict[str, Any] = field(default_factory=dict)

    def note_failure(self, message: str, when: float | None = None) -> None:
        """Keep why a start failed, bounded (:func:`failure_message`)."""
        self.last_failure = {
            "message": failure_message(message),
            "time": time.time() if when is None else when,
        }

    def finish_start(self) -> None:
        """The start is over (its server answered, or it failed): its credentials go."""
        self.start_unfinished = False
        self.server_token = self.proof_key = ""
        self.request = {}

    def keep_start(self, when: float | None = None) -> QueuedStart:
        """Move the current job, whose start a hub restart interrupted, to :attr:`queued`."""
        self.queued = QueuedStart(
            job_id=self.job_id,
            job_output=self.job_output,
            job_secrets=self.job_secrets,
            backend=self.backend,
            job_settings=dict(self.job_settings),
            profile=self.profile,
            options=dict(self.options),
            request=dict(self.request),
            server_token=self.server_token,
            proof_key=self.proof_key,
            kept_at=time.time() if when is None else when,
        )
        self.forget_job()
        return self.queued

    def adopt(self, queued: QueuedStart) -> None:
        """Make a kept start the current one again (its start still unfinished)."""
        self.queued = None
        self.job_id, self.job_output = queued.job_id, queued.job_output
        self.job_secrets, self.backend = queued.job_secrets, queued.backend
        self.job_settings = dict(queued.job_settings)
        self.start_unfinished = True
        self.request = dict(queued.request)
        self.server_token, self.proof_key = queued.server_token, queued.proof_key

    def started_options(self) -> dict[str, Any]:
        """The options of the last start that came up (:attr:`last_started`; empty when
        none did)."""
        return dict(self.last_started.get("options") or {})

    def repeat_options(self) -> dict[str, Any]:
        """The options the user's next start repeats (plain values): the kept job's
        (:attr:`queued`: the same options adopt it), else the last start's that came up."""
        if self.queued is not None:
            return plain(self.queued.options)
        return self.started_options()

    def forget_job(self) -> None:
        """The job is over for this server (JupyterHub cleared the state after a stop).

        Unconfirmed cancels stay (retried at the next start), and so do the notices for
        the user's next visit: the last failure, the last end, the last start's options.
        """
        self.job_id = self.job_output = self.job_secrets = ""
        self.forward = None
        self.finish_start()

    # --- state ---------------------------------------------------------------------------------
    def to_state(self) -> dict[str, Any]:
        """The record as JupyterHub stores it (JSON), under the keys earlier releases used."""
        state: dict[str, Any] = {"version": STATE_VERSION}
        if self.job_id:
            state.update(job_id=self.job_id, job_output=self.job_output, backend=self.backend)
            if self.job_secrets:
                state["job_secrets"] = self.job_secrets
            if self.profile:
                state["profile"] = self.profile
            if self.options:
                state["options"] = dict(self.options)
            state["job_settings"] = dict(self.job_settings)
            if self.start_unfinished:
                state["start_unfinished"] = True
                if self.request:
                    state["request"] = dict(self.request)
                if self.server_token:
                    state["server_token"] = self.server_token
                if self.proof_key:
                    state["proof_key"] = self.proof_key
            if self.forward:
                state["ssh_forward"] = list(self.forward)
        if self.queued is not None:
            state["queued_start"] = self.queued.to_state()
        if self.unconfirmed_cancels:
            state["unconfirmed_cancels"] = list(self.unconfirmed_cancels)
        if self.last_failure:
            state["last_failure"] = dict(self.last_failure)
        if self.last_end:
            state["last_end"] = dict(self.last_end)
        if self.last_started:
            state["last_started"] = dict(self.last_started)
        if self.walltime_saved and self.walltime_saved.get("job_id") == self.job_id:
            state["walltime_saved"] = dict(self.walltime_saved)
        return state

    @classmethod
    def from_state(
        cls, state: Mapping[str, Any], log: logging.Logger | None = None, name: str = ""
    ) -> JobRecord:
        """The record of a saved state (this release's or an earlier one's); anything
        malformed is dropped, anything a user or job controls bounded. A state of a newer
        release gives an empty record, and ``log`` says why and which job is not followed."""
        version = state.get("version", 0)
        if not isinstance(version, int) or isinstance(version, bool) or version > STATE_VERSION:
            if log is not None:
                log.error(
                    "%s: the saved state has version %r, which this jobspawner (state version "
                    "%s) does not understand, so it is not loaded: job %s is not followed and "
                    "its cancels are not retried. Upgrade jobspawner again, or cancel that job "
                    "with the scheduler's own command.",
                    name or "spawner",
                    version,
                    STATE_VERSION,
                    state.get("job_id") or "(none)",
                )
            return cls()
        # version 0 (no version) had only job_id, which reads the same
        job_id = str(state.get("job_id") or "")
        forward = state.get("ssh_forward") if job_id else None
        cancels = state.get("unconfirmed_cancels")
        unfinished = bool(job_id and state.get("start_unfinished") is True)
        return cls(
            job_id=job_id,
            job_output=str(state.get("job_output") or "") if job_id else "",
            job_secrets=str(state.get("job_secrets") or "") if job_id else "",
            backend=str(state.get("backend") or "") if job_id else "",
            job_settings=_json_mapping(state.get("job_settings")) if job_id else {},
            profile=str(state.get("profile") or "") if job_id else "",
            options=_json_mapping(state.get("options")) if job_id else {},
            start_unfinished=unfinished,
            request=_json_mapping(state.get("request")) if unfinished else {},
            server_token=_short(state.get("server_token"), MAX_ID) if unfinished else "",
            proof_key=_short(state.get("proof_key"), MAX_ID) if unfinished else "",
            queued=QueuedStart.from_state(state.get("queued_start")),
            forward=list(forward) if isinstance(forward, list) else None,
            unconfirmed_cancels=[str(j) for j in cancels] if isinstance(cancels, list) else [],
            last_failure=_failure(state.get("last_failure")),
            last_end=_last_end(state.get("last_end")),
            last_started=_last_started(state.get("last_started")),
            walltime_saved=_walltime_saved(state.get("walltime_saved")),
        )
