"""The job's side of the walltime notices: what the server knows of its end, for JupyterLab.

Loaded by ``jobspawner-singleuser`` only when the hub set ``JOBSPAWNER_WALLTIME=1`` in the
job's environment (``c.JobSpawner.walltime_notices``), after the server is up: it costs the
server's start nothing. It

* asks the hub, with the server's own API token, when the job ends
  (``GET /hub/api/jobspawner/walltime/...``, :mod:`jobspawner.lifecycle.walltime`) every ``refresh``
  seconds the hub names: the end the scheduler reports, current after a changed time limit,
  else the requested runtime counted from this server's start;
* answers JupyterLab (the ``jobspawner-walltime`` lab extension) at
  ``GET <base_url>api/jobspawner/walltime`` (a logged-in user of this server): the end, the
  warning times, when to save, and how many times the server asked every open JupyterLab to
  save (``save``): once when the end is ``save_before`` seconds away, and at once on
  ``SIGUSR1`` (the warning signal a scheduler sends before the end, e.g. Slurm's
  ``--signal=B:USR1@120``);
* takes what a JupyterLab saved (``POST`` there: ``{"saved": [...], "failed": [...]}``) and
  tells the hub, which says so on the spawn page after the job ended.

What the hub answers is read bounded (:data:`MAX_ANSWER` bytes, :data:`HUB_TIMEOUT`
seconds) and checked; the hub's own endpoint bounds and checks the report again.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import signal
import time
from typing import Any

#: The flag in the job's environment (``jobspawner.lifecycle.walltime.ENV_FLAG``, without the
#: import).
ENV_FLAG = "JOBSPAWNER_WALLTIME"
#: The path under the server's base URL that JupyterLab asks.
API_PATH = "api/jobspawner/walltime"
#: The most bytes read of the hub's answer, and of a JupyterLab's report.
MAX_ANSWER = 4 * 1024
MAX_REPORT = 16 * 1024
#: Seconds one request to the hub may take.
HUB_TIMEOUT = 10.0
#: How often JupyterLab asks its server at most (seconds; as often as the server asks the hub
#: when that is more often).
LAB_REFRESH = 10.0
#: What is kept of the hub's numbers: nothing beyond a year, nothing negative.
_LONGEST = 366 * 86400.0


def enabled(environ: Any = None) -> bool:
    """Whether the hub asked for the walltime notices."""
    return (os.environ if environ is None else environ).get(ENV_FLAG) == "1"


def _seconds(value: object, default: float | None = None) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return default
    number = float(value)
    return number if math.isfinite(number) and 0 <= number <= _LONGEST else default


def _end(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    number = float(value)
    now = time.time()
    return number if math.isfinite(number) and now - _LONGEST < number < now + _LONGEST else None


class Walltime:
    """What this server knows of its job's end, and the save requests it made."""

    def __init__(self, started: float | None = None) -> None:
        self.started = time.time() if started is None else started
        self.scheduler_end: float | None = None
        self.runtime: float | None = None
        self.warnings: list[float] = []
        self.save_before = 60.0
        self.refresh = 60.0
        self.save = 0  # how many times every JupyterLab was asked to save
        self._asked_for: float | None = None  # the end the last timed request was for
        self.known = False  # the hub answered at least once

    @property
    def end(self) -> float | None:
        """The job's end (epoch seconds): the scheduler's, else start plus the runtime."""
        if self.scheduler_end is not None:
            return self.scheduler_end
        return self.started + self.runtime if self.runtime else None

    @property
    def source(self) -> str | None:
        """Where the end comes from: ``scheduler``, ``requested`` or None."""
        if self.scheduler_end is not None:
            return "scheduler"
        return "requested" if self.runtime else None

    def take(self, data: object) -> None:
        """Keep what the hub answered (anything malformed is ignored, field by field)."""
        if not isinstance(data, dict):
            return
        self.known = True
        self.scheduler_end = _end(data.get("end"))
        self.runtime = _seconds(data.get("runtime"))
        warnings = data.get("warnings")
        if isinstance(warnings, list):
            kept = [s for s in (_seconds(w) for w in warnings[:10]) if s]
            self.warnings = sorted(set(kept), reverse=True)
        self.save_before = _seconds(data.get("save_before"), self.save_before) or 0.0
        refresh = _seconds(data.get("refresh"), self.refresh) or self.refresh
        self.refresh = min(max(refresh, 5.0), 300.0)

    def due(self, now: float | None = None) -> bool:
        """Ask every JupyterLab to save when the end is ``save_before`` seconds away (once
        per end: a later end, after a longer time limit, asks again)."""
        end = self.end
        if end is None or end == self._asked_for:
            return False
        if (time.time() if now is None else now) < end - self.save_before:
            return False
        self._asked_for = end
        self.save += 1
        return True

    def ask_now(self) -> None:
        """Ask every JupyterLab to save now (the scheduler's warning signal)."""
        self.save += 1

    def until_due(self, now: float | None = None) -> float | None:
        """Seconds until the timed save request, or None when there is none to come."""
        end = self.end
        if end is None or end == self._asked_for:
            return None
        return max(0.0, end - self.save_before - (time.time() if now is None else now))

    def for_lab(self) -> dict[str, Any]:
        """What JupyterLab is told."""
        return {
            "end": self.end,
            "source": self.source,
            "now": time.time(),
            "warnings": self.warnings,
            "save_before": self.save_before,
            "save": self.save,
            "refresh": min(LAB_REFRESH, self.refresh),
        }


def parse_lab_report(body: bytes) -> dict[str, list[str]] | None:
    """``{"saved": [...], "failed": [...]}`` of strings from a JupyterLab, or None."""
    if len(body) > MAX_REPORT:
        return None
    try:
        data = json.loads(body or b"null")
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    out: dict[str, list[str]] = {}
    for key in ("saved", "failed"):
        values = data.get(key) or []
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            return None
        out[key] = values[:50]
    return out


class HubLink:
    """The server's requests to the hub's walltime endpoint, with its own token."""

    def __init__(self, url: str, token: str, ssl_context: Any) -> None:
        self.url = url
        self.token = token
        self.ssl_context = ssl_context

    async def _fetch(self, method: str, body: bytes | None = None) -> Any:
        from tornado.httpclient import HTTPRequest
        from tornado.simple_httpclient import SimpleAsyncHTTPClient

        client = SimpleAsyncHTTPClient(force_instance=True, max_body_size=MAX_ANSWER)
        request = HTTPRequest(
            self.url,
            method=method,
            body=body,
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"},
            follow_redirects=False,
            connect_timeout=HUB_TIMEOUT,
            request_timeout=HUB_TIMEOUT,
            ssl_options=self.ssl_context,
        )
        try:
            return await client.fetch(request, raise_error=False)
        finally:
            client.close()

    async def ask(self) -> object:
        """The hub's answer (JSON), or None when it gave none."""
        response = await self._fetch("GET")
        if response.code != 200:
            return None
        try:
            return json.loads(response.body or b"null")
        except ValueError:
            return None

    async def report(self, saved: dict[str, list[str]]) -> bool:
        """Tell the hub what was saved; whether it took it."""
        response = await self._fetch("POST", json.dumps(saved).encode())
        return bool(response.code == 204)


class Service:
    """The server's walltime: the loop that asks the hub, the save requests, the reports."""

    def __init__(self, link: HubLink, log: Any, walltime: Walltime | None = None) -> None:
        self.link = link
        self.log = log
        self.walltime = walltime or Walltime()
        self.saved: dict[str, list[str]] = {"saved": [], "failed": []}
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Run the loop and listen for SIGUSR1 (on the running event loop)."""
        loop = asyncio.get_running_loop()
        self._task = loop.create_task(self.run())
        loop.add_signal_handler(signal.SIGUSR1, self.signalled)

    def signalled(self) -> None:
        """The scheduler's warning signal: the end is near, every JupyterLab saves now."""
        self.log.info("jobspawner: the scheduler's warning signal: asking JupyterLab to save")
        self.walltime.ask_now()

    async def run(self) -> None:
        """Ask the hub every ``refresh`` seconds; ask JupyterLab to save when it is due."""
        while True:
            try:
                answer = await self.link.ask()
            except Exception as e:  # the hub is away for a while: ask again later
                self.log.debug("jobspawner: could not ask the hub for the walltime: %s", e)
                answer = None
            self.walltime.take(answer)
            if self.walltime.due():
                self.log.info("jobspawner: the walltime is near: asking JupyterLab to save")
            pause = self.walltime.refresh
            until = self.walltime.until_due()
            if until is not None:
                pause = min(pause, until + 0.5)
            await asyncio.sleep(pause)

    async def lab_saved(self, report: dict[str, list[str]]) -> None:
        """A JupyterLab saved (or could not save) documents: merge and tell the hub."""
        for key in ("saved", "failed"):
            merged = dict.fromkeys([*self.saved[key], *report.get(key, [])])
            self.saved[key] = list(merged)[:50]
        self.saved["failed"] = [p for p in self.saved["failed"] if p not in self.saved["saved"]]
        try:
            if not await self.link.report(self.saved):
                self.log.warning("jobspawner: the hub did not take the save report")
        except Exception as e:
            self.log.warning("jobspawner: could not tell the hub what was saved: %s", e)


def handler(service: Service) -> Any:
    """The tornado handler of ``<base_url>api/jobspawner/walltime`` (logged-in users)."""
    from jupyter_server.base.handlers import APIHandler
    from tornado import web

    class WalltimeHandler(APIHandler):
        def _log(self) -> None:
            """JupyterLab's routine question (every few seconds) is logged at debug level,
            so it does not fill the job's log, whose last lines the hub shows."""
            if self.request.method == "GET" and self.get_status() < 300:
                self.log.debug("%s %s", self.get_status(), self.request.uri)
                return
            super()._log()

        @web.authenticated
        def get(self) -> None:
            self.set_header("Cache-Control", "no-store")
            self.finish(json.dumps(service.walltime.for_lab()))

        @web.authenticated
        async def post(self) -> None:
            report = parse_lab_report(self.request.body)
            if report is None:
                self.set_status(400)
                self.finish(json.dumps({"message": 'expected {"saved": [...], "failed": [...]}'}))
                return
            await service.lab_saved(report)
            self.set_status(204)
            self.finish()

    return WalltimeHandler


def install(app: Any, hub_url: str, ssl_context: Any) -> None:
    """Add the handler to the server ``app`` and start the service once its loop runs."""
    import re

    from jupyter_server.utils import url_path_join
    from tornado.ioloop import IOLoop

    link = HubLink(hub_url, os.environ.get("JUPYTERHUB_API_TOKEN", ""), ssl_context)
    service = Service(link, app.log)
    path = re.escape(url_path_join(app.base_url, API_PATH))
    app.web_app.add_handlers(".*$", [(path, handler(service))])
    IOLoop.current().add_callback(service.start)
