"""Resource requests a backend cannot honour: refused or warned about, never dropped silently.

Each backend declares the resource fields it honours (the ``resource_fields`` hook). A site
setting (``c.JobSpawner.req_<field>``) for a field the backend does not honour stops the hub
at start, except for the fields in :data:`HARMLESS`, where the hub warns: a backend that has
no time limit runs the job until the hub stops it, which is what the user wanted anyway. A
user option for a field the backend does not honour is refused (400; for a harmless field it
is accepted and ignored). The check runs at hub start and in ``jobspawner check``; a
``req_*`` changed later (a ``pre_spawn_hook``) is not checked again.

A request for one node (``nodes = 1``) is always honoured: every backend gives a job at
least one host. With ``c.JobSpawner.batch_script`` set the site's own template decides what
it honours, so nothing is checked (a site plugin's ``resource_fields`` can still declare it).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING, Any

from jobspawner.contract.resources import FIELDS, empty

if TYPE_CHECKING:
    from jobspawner.facade.backend import Backend

#: Fields a backend may ignore with a warning: ignoring them gives the job no less than asked.
HARMLESS = frozenset({"runtime"})


def ignored(values: Mapping[str, Any], honoured: Collection[str] | None) -> list[str]:
    """The fields set in ``values`` (raw requests) that ``honoured`` does not contain.

    ``None`` (the backend declares nothing) ignores nothing. ``nodes`` of 1 is always fine.
    """
    if honoured is None:
        return []
    out = []
    for field, value in values.items():
        if field not in FIELDS or empty(value) or field in honoured:
            continue
        if field == "nodes" and str(value).strip() == "1":
            continue
        out.append(field)
    return sorted(out)


def _listing(honoured: Collection[str]) -> str:
    return ", ".join(sorted(honoured)) or "none"


def site_problems(
    backend: str, values: Mapping[str, Any], honoured: Collection[str] | None
) -> tuple[list[str], list[str]]:
    """``(refusals, warnings)`` for the site's ``req_*`` values, as messages for admins."""
    refusals: list[str] = []
    warnings: list[str] = []
    for field in ignored(values, honoured):
        assert honoured is not None
        what = (
            f'c.JobSpawner.req_{field} is set, but the "{backend}" backend cannot honour '
            f"{field} (it honours: {_listing(honoured)})"
        )
        if field in HARMLESS:
            warnings.append(f"{what}; the job runs without that limit.")
        else:
            refusals.append(
                f"{what}. Remove the setting, or use a backend (or a backend option) that "
                "supports it."
            )
    return refusals, warnings


def user_refusal(backend: str, field: str, honoured: Collection[str] | None) -> str | None:
    """Why a user may not choose ``field`` (plain words), or None when the backend honours it
    (or may ignore it harmlessly, see :data:`HARMLESS`)."""
    if honoured is None or field in honoured or field in HARMLESS:
        return None
    return f"{field}: this site's scheduler ({backend}) does not support it, so it cannot be chosen"


def options_problems(
    backend: str, allowed: Collection[str], honoured: Collection[str] | None
) -> list[str]:
    """Warnings for ``c.JobSpawner.user_options_allowed`` entries the backend ignores."""
    if honoured is None:
        return []
    return [
        f'c.JobSpawner.user_options_allowed has "{field}", which the "{backend}" backend '
        "cannot honour; "
        + (
            "what users choose is ignored."
            if field in HARMLESS
            else "users who choose it are refused."
        )
        + " Remove it from the list."
        for field in sorted(set(allowed) - set(honoured))
        if field in FIELDS
    ]


def check_at_start(
    backend: Backend,
    options: Mapping[str, Any],
    values: Mapping[str, Any],
    allowed: Collection[str],
    custom_script: bool,
    log: Any,
) -> str | None:
    """At hub start: the refusal that stops the hub, or None; warnings go to ``log``.

    ``options`` are the typed backend options, ``values`` the ``req_*`` settings by field,
    ``allowed`` the user options allowed; ``custom_script`` is whether the site set its own
    ``batch_script`` (then nothing is checked).
    """
    if custom_script:
        return None
    honoured = backend.resource_fields(options)
    if honoured is None:
        log.warning(
            'The jobspawner backend "%s" does not say which resources it honours; '
            "c.JobSpawner.req_* settings are passed on unchecked.",
            backend.name,
        )
        return None
    refusals, warnings = site_problems(backend.name, values, honoured)
    for message in [*warnings, *options_problems(backend.name, allowed, honoured)]:
        log.warning("jobspawner: %s", message)
    return " ".join(refusals) or None
