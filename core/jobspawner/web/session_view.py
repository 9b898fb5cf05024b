"""The session view: each of a user's servers as a card, updated live.

``/hub/jobspawner/sessions`` (a page) and ``/hub/api/jobspawner/sessions`` (its JSON) show the
requesting user's own servers (``.../sessions/<name>``: that user's, for a request with
``read:servers`` on her, as JupyterHub's own APIs authorize): the job id, backend and
cluster, the job's state (queued with the scheduler's reason and expected start, or running
on a host), the resources requested, time used and left before the walltime, the log file
and its last lines, and Stop / Launch again with the options of the last start whose server came up
(:mod:`jobspawner.lifecycle.started_options`; a stopped server's card shows that job's options and
resources). A start that failed keeps its reason in the job's record until the next start
(:mod:`jobspawner.lifecycle.failed_start`), so a reload or a hub restart still shows it: a first
line
in plain words, then the job's log lines as preformatted text, escaped like everything the
job writes.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol, cast

from jobspawner.boundary import bounded_text, log_reads
from jobspawner.choices.options_form import relaunch_url
from jobspawner.contract.context import BackendContext
from jobspawner.contract.resources import format_hms
from jobspawner.facade.backend import Backend
from jobspawner.facade.hub_compat import SpawnException
from jobspawner.lifecycle import started_options
from jobspawner.lifecycle.failed_start import split_failure
from jobspawner.lifecycle.job_record import JobRecord
from jobspawner.lifecycle.job_server import JobServer
from jobspawner.lifecycle.last_end import card as last_end_card
from jobspawner.lifecycle.poller import StatusPoller
from jobspawner.lifecycle.walltime import RelaunchServer

#: The page and its API; an optional user name follows (``/jobspawner/sessions/alice``).
PAGE_PATH = r"/jobspawner/sessions(?:/([^/]+))?"
API_PATH = r"/api/jobspawner/sessions(?:/([^/]+))?"
#: A handler method (what JupyterHub's ``needs_scope`` wraps).
Handler = Callable[..., Awaitable[None]]
#: Lines of a job's log shown on its card, and at most this many bytes of them (as JSON).
LOG_LINES = 12
CARD_TAIL = 16 * 1024


# --- what a card asks of a server -----------------------------------------------------------


class CardServer(RelaunchServer, Protocol):
    """What a server's card reads of its spawner (its public side and JupyterHub's)."""

    @property
    def name(self) -> str:
        """The server's name ("" for the default server)."""

    @property
    def user(self) -> Any:
        """JupyterHub's user who owns the server (its ``url``)."""

    @property
    def orm_spawner(self) -> Any:
        """JupyterHub's database row of the server (``display_name``, ``started``)."""

    @property
    def ready(self) -> bool:
        """JupyterHub routes the server (its start finished)."""

    @property
    def pending(self) -> str | None:
        """What JupyterHub is doing with it (``spawn``, ``stop``), else None."""

    @property
    def job_id(self) -> str:
        """The server's current job ("" when none)."""

    @property
    def job_output(self) -> str:
        """The job's output file."""

    @property
    def record(self) -> JobRecord:
        """The job's record: its profile, options, last failure and last end."""

    @property
    def backend(self) -> str:
        """``c.JobSpawner.backend``."""

    @property
    def backend_options(self) -> Mapping[str, Any]:
        """``c.JobSpawner.backend_options`` (its ``cluster``)."""

    @property
    def req_cluster(self) -> str:
        """The cluster the job asked for ("" when none)."""

    def resources(self) -> dict[str, Any]:
        """The resources the job asked for."""

    def poller(self) -> StatusPoller:
        """The shared status poller of its jobs."""

    def load(self) -> Backend:
        """The server's backend."""

    def context(self) -> BackendContext:
        """Who runs the backend's commands, and where (the user's identity)."""


# --- one card -------------------------------------------------------------------------------


def _when(value: Any) -> str | None:
    if isinstance(value, dt.datetime):
        return value.isoformat(timespec="minutes")
    return None


async def describe(spawner: CardServer) -> dict[str, Any]:
    """One server's card as JSON-able data (asks the scheduler at most every 10 seconds)."""
    card: dict[str, Any] = {
        "name": spawner.name,
        "display_name": getattr(spawner.orm_spawner, "display_name", None) or spawner.name,
        "url": spawner.user.url + (f"{spawner.name}/" if spawner.name else ""),
        "ready": bool(spawner.ready),
        "pending": spawner.pending or None,
        "job_id": spawner.job_id or None,
        "backend": spawner.backend,
        "cluster": spawner.req_cluster or spawner.backend_options.get("cluster") or None,
        "profile": spawner.record.profile or None,
        "options": dict(spawner.record.options) if spawner.job_id else None,
        "log_file": spawner.job_output or None,
        "failure": spawner.record.last_failure.get("message")
        if spawner.record.last_failure
        else None,
        "failure_log": None,
        "relaunch": None,
    }
    last = started_options.options(spawner)
    if last:  # the options of the last server that came up, never a refused choice
        card["relaunch"] = relaunch_url(spawner, last)
    resources: dict[str, Any] = {}
    if spawner.job_id:
        with contextlib.suppress(SpawnException):  # a card even for a broken request
            resources = spawner.resources()
        card["resources"] = started_options.readable(resources)
    else:  # what the last job that ran had, not the configuration's defaults
        card["options"] = last or None
        card["profile"] = last.get("profile") or None
        card["resources"] = started_options.resources(spawner)
    runtime_s = resources.get("runtime_s")
    started = getattr(spawner.orm_spawner, "started", None)
    if spawner.job_id and isinstance(started, dt.datetime):
        used = max(0, int((dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
                           - started.replace(tzinfo=None)).total_seconds()))  # fmt: skip
        card["time_used"] = format_hms(used)
        if runtime_s:
            card["time_left"] = format_hms(max(0, runtime_s - used))
    if spawner.job_id:
        status = await spawner.poller().status(spawner.job_id, max_age=10.0)
        card["state"] = status.state.value
        card["state_text"] = spawner.load().describe_status(status)
        if spawner.ready and status.state.value == "running":
            where = f" on {status.host}" if status.host else ""
            card["state_text"] = f"Your server is running{where}."
        card["reason"] = status.reason
        card["expected_start"] = _when(status.expected_start)
        card["host"] = status.host
        try:
            tail = await spawner.load().read_log(  # bounded, shared a few seconds
                spawner.context(), spawner.job_output, LOG_LINES, max_age=log_reads.CACHE_SECONDS
            )
            card["log_tail"] = bounded_text.clip(tail, CARD_TAIL)
        except Exception as e:  # the card matters more than its log
            card["log_tail"] = f"(could not read the log: {e})"
    else:
        ended = last_end_card(
            spawner
        )  # why the last server stopped (jobspawner.lifecycle.last_end)
        card["state"] = "failed" if card["failure"] else "stopped"
        card["state_text"] = card["failure"] or (ended and ended["message"]) or "Not running."
        if card["failure"]:
            card["state_text"], card["failure_log"] = split_failure(card["failure"])
            card["failure_log"] = card["failure_log"] or None
        if ended and not card["failure"]:
            card["log_file"], card["log_tail"] = ended["log_file"], ended["log_tail"]
    return card


async def describe_user(user: Any) -> list[dict[str, Any]]:
    """The cards of ``user``'s jobspawner servers."""
    cards = []
    for name in sorted(user.orm_spawners):
        spawner = user.spawners[name]
        if isinstance(spawner, JobServer):
            cards.append(await describe(cast("CardServer", spawner)))  # a JobSpawner
    return cards


# --- handlers -------------------------------------------------------------------------------


def _handlers() -> tuple[Any, Any]:
    """The page and its API, authorized as JupyterHub's own server handlers are.

    Both need ``read:servers`` on the user whose servers they show (JupyterHub's
    ``needs_scope`` with the ``user_name`` filter, as its progress API does): a token with
    only the identify scopes an OAuth client gets is refused (403), another user's request
    finds nothing (404). Without a user name in the path they show the requester's own
    servers, under the same check. Only ``needs_scope``, ``find_user`` and ``current_user``
    of JupyterHub are used: they are the same in JupyterHub 5 and 6.
    """
    import jinja2
    from jupyterhub.apihandlers.base import APIHandler
    from jupyterhub.handlers.base import BaseHandler
    from jupyterhub.scopes import needs_scope
    from tornado import web

    # JupyterHub's check, as on its own server APIs (untyped there)
    read_servers = cast("Callable[[Handler], Handler]", needs_scope("read:servers"))

    def owner(handler: Any, user_name: str | None) -> str:
        """The user whose servers were asked for: the one named, else the requester."""
        if user_name:
            return user_name
        current = handler.current_user
        if current is None or getattr(current, "kind", "user") != "user":
            raise web.HTTPError(
                403, "a service has no sessions of its own: ask for a user's, at sessions/<name>"
            )
        return str(current.name)

    def found(handler: Any, user_name: str) -> Any:
        user = handler.find_user(user_name)
        if user is None:  # the same answer as a user the token may not see
            raise web.HTTPError(404, "No access to resources or resources not found")
        return user

    class SessionsPage(BaseHandler):  # type: ignore[misc]
        """The page; its script refreshes the cards from the API every few seconds."""

        def get_template(self, name: str, sync: bool = False) -> Any:
            base = self.settings["jinja2_env"]
            env = base.overlay(
                loader=jinja2.ChoiceLoader([jinja2.PackageLoader("jobspawner", "web"), base.loader])
            )
            return env.get_template(name)

        @web.authenticated
        async def get(self, user_name: str | None = None) -> None:
            await self._page(user_name=owner(self, user_name))

        @read_servers
        async def _page(self, user_name: str) -> None:
            cards = await describe_user(found(self, user_name))
            html = await self.render_template(
                "jobspawner_sessions.html",
                cards=cards,
                cards_json=json.dumps(cards),
                for_user=user_name,
            )
            self.finish(html)

    class SessionsAPI(APIHandler):  # type: ignore[misc]
        """The cards of one user's servers (the requester's own by default), as JSON."""

        async def get(self, user_name: str | None = None) -> None:
            if self.current_user is None:
                raise web.HTTPError(403, "Missing or invalid credentials.")
            await self._sessions(user_name=owner(self, user_name))

        @read_servers
        async def _sessions(self, user_name: str) -> None:
            cards = await describe_user(found(self, user_name))
            self.set_header("Content-Type", "application/json")
            self.finish(json.dumps({"sessions": cards}))

    return SessionsPage, SessionsAPI


def register() -> None:
    """Add the page and its API to JupyterHub's handlers (idempotent)."""
    from jupyterhub import apihandlers, handlers

    if any(path == PAGE_PATH for path, *_ in handlers.default_handlers):
        return
    page, api = _handlers()
    handlers.default_handlers.append((PAGE_PATH, page))
    apihandlers.default_handlers.append((API_PATH, api))
