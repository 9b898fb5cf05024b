"""Whether jobspawner's hub integration is in place: the one mark it leaves on JupyterHub.

JupyterHub has no extension point for a spawner at start, so jobspawner's integration
(:mod:`jobspawner.web.hub_start`: the start-up checks and the handlers) wraps two methods of
``JupyterHub``. :func:`wrap_once` wraps a method once and marks the wrapper;
:func:`installed` reads the mark. The spawner imports only this module, never the web side:
it asks, when it is made inside a running hub, whether the integration was installed, and
says what to write when it was not (:func:`warn_if_missing`).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

#: The attribute set on each of jobspawner's wrappers of a JupyterHub method.
MARK = "_jobspawner"

#: What the hub's log says when a JobSpawner is made in a hub without the integration.
MISSING = (
    "jobspawner's hub integration is not installed: the hub did not run jobspawner's start-up "
    "checks and has no handler for the servers' port reports, so no server can start. "
    "JupyterHub loaded the spawner from the module jobspawner.spawner and not through "
    "jobspawner's entry point (is this jobspawner installed in the hub's environment, with "
    "pip?). "
    'Write c.JupyterHub.spawner_class = "jobspawner" (or "jobspawner.JobSpawner"; a subclass '
    "of it: `from jobspawner import JobSpawner`) and restart the hub."
)

_warned = False


def wrap_once(owner: type, name: str, before: Callable[[Any], object]) -> None:
    """Make ``owner.name(self)`` call ``before(self)`` first (idempotent: a method already
    wrapped by jobspawner is left as it is)."""
    original = getattr(owner, name)
    if getattr(original, MARK, False):
        return

    def wrapper(self: Any) -> Any:
        before(self)
        return original(self)

    setattr(wrapper, MARK, True)
    wrapper.__name__ = wrapper.__qualname__ = name
    wrapper.__doc__ = original.__doc__
    setattr(owner, name, wrapper)


def wrapped(owner: type, name: str) -> bool:
    """Whether jobspawner wrapped ``owner.name``."""
    return bool(getattr(getattr(owner, name, None), MARK, False))


def installed() -> bool | None:
    """In a process running a JupyterHub: whether the integration wrapped its start (None
    in any other process: a test, ``jobspawner check``, a job)."""
    app = sys.modules.get("jupyterhub.app")
    hub = getattr(app, "JupyterHub", None)
    if hub is None or not hub.initialized():
        return None
    return wrapped(hub, "init_handlers")


def warn_if_missing(log: Any) -> None:
    """Log :data:`MISSING` once (CRITICAL) when a running hub lacks the integration."""
    global _warned
    if _warned or installed() is not False:
        return
    _warned = True
    log.critical(MISSING)
