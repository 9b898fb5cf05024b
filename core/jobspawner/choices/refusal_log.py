"""A refused user option is the user's mistake: one WARNING line in the hub's log, no traceback.

JupyterHub logs an exception that ``apply_user_options`` raises with its traceback (the
spawner's ``_run_apply_user_options``; the spawn page's handlers again) and then as an ERROR
(``Not starting alice's server: ...``), and tornado repeats the 400's message: about 50
lines for one mistyped value. For a jobspawner refusal (a 400 whose message names the field
and the reason) :func:`note` logs one WARNING line naming the user, the field and the
reason, and :class:`RefusalFilter`, on JupyterHub's and tornado's loggers (:func:`install`),
drops their records of that refusal. The user still reads the plain 400 message; every
other error is logged as before.
"""

from __future__ import annotations

import collections
import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jobspawner.choices.options_host import RefusalHost

#: Set on a refusal's exception once :func:`note` logged it.
MARK = "_jobspawner_refusal_logged"
#: What the refusals noted lately read as text (JupyterHub's ERROR line ends with it).
_recent: collections.deque[str] = collections.deque(maxlen=64)


def is_refusal(exc: BaseException) -> bool:
    """A user-option refusal: a 400 for ``user_options`` (JupyterHub's SpawnException)."""
    return getattr(exc, "status_code", None) == 400 and getattr(exc, "reason", None) == (
        "user_options"
    )


def note(host: RefusalHost, exc: BaseException) -> None:
    """Log a refusal once, as one WARNING line; JupyterHub's records of it are dropped."""
    if getattr(exc, MARK, False) or not is_refusal(exc):
        return
    why = getattr(exc, "log_message", None) or str(exc)
    host.log.warning(
        "jobspawner: refused a user option of %s: %s", host.log_name, why, extra={MARK: True}
    )
    setattr(exc, MARK, True)
    _recent.extend({str(exc), why})


class RefusalFilter(logging.Filter):
    """Drops JupyterHub's and tornado's records of a refusal :func:`note` logged: the
    traceback, the ERROR line and tornado's repeat of the 400's message."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, MARK, False):  # the one line :func:`note` writes
            return True
        exc: Any = record.exc_info[1] if record.exc_info else None
        if exc is not None:
            return not getattr(exc, MARK, False)
        if record.levelno >= logging.WARNING and _recent:
            message = record.getMessage()
            # JupyterHub's "Not starting alice's server : <refusal>" and tornado's
            # "400 POST /hub/api/users/alice/server (...): <reason>"
            return not any(message.endswith(text) for text in _recent)
        return True


_FILTER = RefusalFilter()


def install(*loggers: logging.Logger | logging.LoggerAdapter[logging.Logger]) -> None:
    """Put the filter on JupyterHub's loggers (idempotent)."""
    for log in loggers:
        target = log.logger if isinstance(log, logging.LoggerAdapter) else log
        if _FILTER not in target.filters:
            target.addFilter(_FILTER)
