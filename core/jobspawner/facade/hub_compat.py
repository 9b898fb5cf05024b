"""Every difference between the JupyterHub versions jobspawner supports, in one place.

jobspawner runs on JupyterHub 5.3 up to the last 5.x and on 6.x (``SUPPORTED``). Nothing else
in the package looks at JupyterHub's version: it imports what differs from here.

What differs, and what this module does about it:

- ``SpawnException`` (the failure a spawner raises for a refused or failed start, shown to the
  user without a traceback) is JupyterHub 6's. On 5.x an equivalent is defined here: an HTTP
  error with the same constructor and attributes, which JupyterHub 5 also logs without a
  traceback; its text is the user's message, since JupyterHub 5's spawn form shows
  ``str(error)`` where 6 shows the ``jupyterhub_message``.
- ``PATCH /hub/api/users/{name}/servers/{server}`` (rename a server, store its user_options)
  is JupyterHub 6's (``HAS_SERVER_PATCH``): on 5.x the hub never calls ``Spawner.rename``.
- The REST body that starts a server: JupyterHub 6 takes ``{"user_options": ...}`` (and a
  ``display_name``), 5.x takes the options themselves (:func:`start_request_body`).
- ``GET /hub/spawn?opt-NAME=...``: JupyterHub 6 strips the ``opt-`` prefix before
  ``options_from_query``, 5.x passes every query argument as it is; :func:`query_options`
  strips it on 5.x, so the same links (the session view's relaunch links) work on both.
- A refusal on the spawn page (GET ?opt-..., or the posted form): JupyterHub 5.4 and later
  answer with the error's status, 5.3 with 200 and the message on the re-rendered form
  (``FORM_REFUSAL_STATUS``).
- The shared-password authenticator (the demo's), ``apply_user_options`` and the
  ``start_timeout`` handling are the same on 5.3 and later: nothing to bridge.
"""

from __future__ import annotations

import importlib.metadata
import re
from collections.abc import Mapping
from typing import Any

from tornado import web

__all__ = [
    "FORM_REFUSAL_STATUS",
    "HAS_SERVER_PATCH",
    "HUB_VERSION",
    "INSTALL_HINT",
    "OLDEST",
    "SUPPORTED",
    "SpawnException",
    "hub_version",
    "query_options",
    "start_request_body",
    "unsupported_reason",
    "version_tuple",
]

#: The JupyterHub versions jobspawner supports (and the project declares and CI proves).
SUPPORTED = ">=5.3,<7"
OLDEST = (5, 3)
FIRST_UNSUPPORTED = (7,)
#: What an admin on another version installs.
INSTALL_HINT = "pip install 'jupyterhub>=5.3,<7'"


def version_tuple(version: str) -> tuple[int, ...]:
    """The leading numbers of a version ("5.3.0" -> (5, 3, 0), "6.1.0b1" -> (6, 1, 0))."""
    numbers: list[int] = []
    for part in version.split("."):
        match = re.match(r"\d+", part)
        if not match:
            break
        numbers.append(int(match.group()))
        if match.end() != len(part):
            break
    return tuple(numbers)


def hub_version() -> str:
    """The installed JupyterHub's version."""
    return importlib.metadata.version("jupyterhub")


def unsupported_reason(version: str) -> str | None:
    """Why jobspawner cannot run on JupyterHub ``version`` and what to install; None if it can."""
    parsed = version_tuple(version)
    if OLDEST <= parsed < FIRST_UNSUPPORTED:
        return None
    return (
        f"JupyterHub {version} is not supported: jobspawner runs on JupyterHub {SUPPORTED} "
        f"(5.3 up to the last 5.x, and 6.x). Install a supported one: {INSTALL_HINT}"
    )


HUB_VERSION = version_tuple(hub_version())
#: JupyterHub 6's server PATCH: renaming servers (``Spawner.rename``), storing user_options,
#: display names.
HAS_SERVER_PATCH = HUB_VERSION >= (6,)
#: The status of the spawn page's answer (GET ?opt-..., or a posted form) when a start is
#: refused: the error's status since JupyterHub 5.4.0 (its spawn page sets it), 200 on 5.3
#: (the form again, with the message).
FORM_REFUSAL_STATUS = 400 if HUB_VERSION >= (5, 4) else 200


class _SpawnExceptionBefore6(web.HTTPError):
    """JupyterHub 6's ``SpawnException`` for JupyterHub 5: a start refused or failed for a
    reason the user is told (``message``), with a short ``reason`` label for the logs.

    JupyterHub 5 logs an ``HTTPError`` raised by a start as one line, without a traceback.
    The class attributes replace tornado's read-only ``log_message`` property.
    """

    message: str = ""
    reason: str | None = ""
    log_message: str = ""
    message_html: str = ""
    status_code: int = 400

    def __init__(
        self,
        message: str,
        *,
        reason: str,
        log_message: str = "",
        message_html: str = "",
        status_code: int = 400,
    ) -> None:
        super().__init__(status_code, None, reason=reason)
        self.message = message
        self.reason = reason
        self.log_message = log_message or message
        self.message_html = message_html
        self.status_code = status_code

    def get_message(self) -> str:
        """What tornado logs: the detail."""
        return self.log_message

    def __str__(self) -> str:
        """The user's words: JupyterHub 5's spawn form shows ``str(error)``."""
        return str(getattr(self, "jupyterhub_message", "") or self.message)


try:
    from jupyterhub.spawner import SpawnException
except ImportError:  # JupyterHub 5
    SpawnException = _SpawnExceptionBefore6


#: The prefix of a user option's query argument on the spawn page (JupyterHub 6's).
QUERY_PREFIX = "opt-"
#: JupyterHub 6 strips ``QUERY_PREFIX`` itself.
HUB_STRIPS_QUERY_PREFIX = HUB_VERSION >= (6,)


def query_options(query: Mapping[str, Any]) -> dict[str, Any]:
    """What ``options_from_query`` gets, the same on every JupyterHub: with any ``opt-NAME``
    argument, only those, under NAME (JupyterHub 6's rule); otherwise the arguments as given."""
    if HUB_STRIPS_QUERY_PREFIX:
        return dict(query)
    prefixed = {k[len(QUERY_PREFIX) :]: v for k, v in query.items() if k.startswith(QUERY_PREFIX)}
    return {k: v for k, v in prefixed.items() if k} if prefixed else dict(query)


def start_request_body(
    user_options: Mapping[str, Any] | None, display_name: str = ""
) -> dict[str, Any]:
    """The JSON body of ``POST /hub/api/users/{name}/servers/{server}`` for this hub.

    JupyterHub 6 takes the options under ``user_options`` (with an optional display name);
    5.x takes the options as the body itself and has no display names.
    """
    options = dict(user_options or {})
    if not HAS_SERVER_PATCH:
        return options
    body: dict[str, Any] = {"user_options": options}
    if display_name:
        body["display_name"] = display_name
    return body
