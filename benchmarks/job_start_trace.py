"""Run a single-user server as its console script does, timing the steps of its start.

Run by :mod:`job_start` with the job environment's Python, as the job's user:
    python [-X importtime] job_start_trace.py jobspawner|jupyterhub EVENTS_FILE
It starts ``jobspawner-singleuser`` (``jobspawner.jobside.singleuser:main``) or
``jupyterhub-singleuser`` (``jupyterhub.singleuser:main``) unchanged, and once the server's
modules are imported (by the program itself, in its own order) wraps a few of its methods with
a clock: each call's start and end (``time.time()``) and the CPU seconds it took (with the
children it waited for) go to EVENTS_FILE as one JSON line, as they happen, so the benchmark
reads them after it has stopped the server. Standard library only: the job environment has
no benchmark code.
"""

from __future__ import annotations

import functools
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import inspect
import json
import os
import sys
import time
import types
from collections.abc import Callable, Sequence
from typing import Any

STARTED = time.time()


def cpu() -> float:
    """This process's CPU seconds, with those of the children it waited for (``node``)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


STARTED_CPU = cpu()

#: (module, class or "", attribute, step name): what is timed. The steps follow
#: ``ServerApp.initialize`` (jupyter_server 2) and the hub extension's round-trip.
STEPS = (
    ("jupyter_server.serverapp", "ServerApp", "load_config_file", "config files"),
    ("jupyter_server.serverapp", "ServerApp", "find_server_extensions", "extension discovery"),
    ("jupyter_server.serverapp", "ServerApp", "init_server_extensions", "extension linking"),
    ("jupyter_server.serverapp", "ServerApp", "init_configurables", "managers"),
    ("jupyter_server.serverapp", "ServerApp", "init_webapp", "web application"),
    ("jupyter_server.serverapp", "ServerApp", "load_server_extensions", "extension loading"),
    ("jupyterhub.singleuser.extension", "JupyterHubSingleUser", "check_hub_version", "hub check"),
    ("jupyter_server.serverapp", "ServerApp", "init_httpserver", "http server"),
    ("jupyter_server.serverapp", "ServerApp", "start_app", "start"),
    ("jupyter_server.serverapp", "ServerApp", "_bind_http_server", "bind"),
    ("jobspawner.jobside.singleuser", "", "report_port", "port report"),
)
#: The module whose import means the server's modules are in (both programs import it).
READY_MODULE = "jupyterhub.singleuser.extension"
PROGRAMS = {"jobspawner": "jobspawner.jobside.singleuser", "jupyterhub": "jupyterhub.singleuser"}


class Events:
    """Appends one JSON line per timed call to a file."""

    def __init__(self, path: str) -> None:
        self._file = open(path, "a", buffering=1)  # noqa: SIM115 (open while the server runs)
        self.write("process", STARTED, STARTED, 0.0, STARTED_CPU)

    def write(self, step: str, start: float, end: float, cpu_start: float, cpu_end: float) -> None:
        line = {"step": step, "start": start, "end": end, "cpu": cpu_end - cpu_start}
        self._file.write(json.dumps(line) + "\n")


def _timed(events: Events, step: str, function: Callable[..., Any]) -> Callable[..., Any]:
    if getattr(function, "_job_start_timed", False):
        return function
    if inspect.iscoroutinefunction(function):

        @functools.wraps(function)
        async def timed_async(*args: Any, **kwargs: Any) -> Any:
            start, cpu_start = time.time(), cpu()
            try:
                return await function(*args, **kwargs)
            finally:
                events.write(step, start, time.time(), cpu_start, cpu())

        timed_async._job_start_timed = True  # type: ignore[attr-defined]
        return timed_async

    @functools.wraps(function)
    def timed(*args: Any, **kwargs: Any) -> Any:
        start, cpu_start = time.time(), cpu()
        try:
            return function(*args, **kwargs)
        finally:
            events.write(step, start, time.time(), cpu_start, cpu())

    timed._job_start_timed = True  # type: ignore[attr-defined]
    return timed


def wrap_steps(events: Events) -> list[str]:
    """Wrap every step whose module is imported; the steps wrapped."""
    wrapped = []
    for module_name, class_name, attribute, step in STEPS:
        module = sys.modules.get(module_name)
        if module is None:
            continue
        owner: Any = getattr(module, class_name) if class_name else module
        if not hasattr(owner, attribute):
            continue
        setattr(owner, attribute, _timed(events, step, getattr(owner, attribute)))
        wrapped.append(step)
    return wrapped


class _AfterImport(importlib.abc.MetaPathFinder):
    """Calls ``then`` once :data:`READY_MODULE` has been imported by the program."""

    def __init__(self, then: Callable[[], None]) -> None:
        self.then = then

    def find_spec(
        self, name: str, path: Sequence[str] | None, target: types.ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if name != READY_MODULE:
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None:
            return spec
        loader, then = spec.loader, self.then
        original = loader.exec_module

        def exec_module(module: types.ModuleType) -> None:
            original(module)
            then()

        loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


def main(argv: list[str]) -> Any:
    program, events_path = argv
    events = Events(events_path)

    def ready() -> None:  # the server's modules are in: time the rest
        events.write("imports", STARTED, time.time(), STARTED_CPU, cpu())
        wrap_steps(events)

    sys.meta_path.insert(0, _AfterImport(ready))
    module = importlib.import_module(PROGRAMS[program])
    sys.argv = [f"{program}-singleuser"]
    return module.main()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
