"""Hook-call tracing for admins (``c.JobSpawner.trace_hooks = True``).

Logs, at debug level, every hook call and which implementation answered it: the backend,
a site plugin (``site:...``) or the core's default (``jobspawner.facade.defaults``). It uses
pluggy's hook-call monitoring (``PluginManager.add_hookcall_monitoring``) for the pure
hooks; the action hooks (``submit``, ``query_status``, ``cancel``...), which the facade calls
one implementation at a time so that an awaited ``None`` falls through, report through
:attr:`jobspawner.facade.backend.Backend.on_answer`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import logging

    from pluggy import HookImpl

    from jobspawner.facade.backend import Backend

#: The implementations that returned something during the current hook call.
_answered: ContextVar[list[str] | None] = ContextVar("jobspawner_hook_answers", default=None)


def _recording(impl: HookImpl) -> Callable[..., Any]:
    function = impl.function

    def call(*args: Any) -> Any:
        out = function(*args)
        answers = _answered.get()
        if out is not None and answers is not None and not inspect.isawaitable(out):
            answers.append(impl.plugin_name)
        return out

    call.__wrapped__ = function  # type: ignore[attr-defined]
    return call


def trace_hooks(backend: Backend, log: logging.Logger) -> None:
    """Log which implementation answers each hook of ``backend`` (idempotent)."""
    if backend.on_answer is not None:
        return
    for caller in backend.pm.hook.__dict__.values():
        for impl in caller.get_hookimpls():
            impl.function = _recording(impl)

    def before(hook_name: str, hook_impls: Sequence[HookImpl], kwargs: Mapping[str, Any]) -> None:
        _answered.set([])

    def after(
        outcome: Any, hook_name: str, hook_impls: Sequence[HookImpl], kwargs: Mapping[str, Any]
    ) -> None:
        answers = _answered.get() or []
        _answered.set(None)
        if outcome.exception is not None:
            log.debug("jobspawner hook %s raised %r", hook_name, outcome.exception)
        elif answers:
            log.debug("jobspawner hook %s answered by %s", hook_name, ", ".join(answers))
        else:
            log.debug("jobspawner hook %s: no implementation answered", hook_name)

    def on_answer(hook_name: str, plugin_name: str) -> None:
        log.debug("jobspawner hook %s answered by %s", hook_name, plugin_name)

    backend.pm.add_hookcall_monitoring(before, after)
    backend.on_answer = on_answer
    log.info('jobspawner: tracing the hooks of the "%s" backend (debug level)', backend.name)
