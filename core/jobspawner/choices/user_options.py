"""One validation of user options for every path a spawn takes.

The spawn form, ``GET /hub/spawn?opt-...``, the REST API's ``user_options`` and options
stored with ``PATCH`` all reach :func:`apply_user_options` (JobSpawner's default
``apply_user_options``), which accepts each value as itself or as a list of one value
(JupyterHub's form and query string), refuses unknown keys and out-of-bound values with a
400 ``SpawnException`` naming the field and the limit, and only then changes the spawner:
the chosen profile's settings, the resources the user chose, and the typed values that
become the ``choices`` template variable. A refusal changes nothing and submits nothing.
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from jobspawner.choices import refusal_log
from jobspawner.choices.live_view import live_snapshot
from jobspawner.choices.profiles import (
    Option,
    Profile,
    ProfileConfigError,
    default_profile,
    number_of,
    parse_profiles,
)
from jobspawner.contract.resources import FIELDS, ResourceError, format_hms, normalise
from jobspawner.facade.constraints import validate_constraint
from jobspawner.facade.hub_compat import SpawnException

if TYPE_CHECKING:
    from jobspawner.choices.options_host import ChoiceRecord, OptionsHost

#: The settings a running job is followed and stopped with: kept in the spawner's state so a
#: restarted hub uses them, whatever the profile configuration says by then.
JOB_SETTINGS = (
    "backend", "plugins", "backend_options", "exec_prefix", "status_exec_prefix",
    "command_timeout", "command_env_keep", "log_tail_lines",
)  # fmt: skip
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029\x85]")
_MAX_TEXT = 256


@dataclass
class Validated:
    """The outcome of a validation: what the spawner is about to use.

    ``resources`` are the user's resource values as she gave them, ``chosen`` the template
    variables they become (:func:`jobspawner.contract.resources.normalise`'s output): each value is
    normalised once, here, and the spawner renders that (:func:`chosen_resources`)."""

    profile: Profile | None = None
    overrides: dict[str, Any] = field(default_factory=dict)
    resources: dict[str, Any] = field(default_factory=dict)
    chosen: dict[str, Any] = field(default_factory=lambda: normalise({}))
    variables: dict[str, Any] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)


def refuse(message: str, field: str = "") -> SpawnException:
    """A 400 for the user: ``message`` starts with the field's label; ``field`` is the
    option's name (the form highlights that field, :func:`form_refusal`).

    JupyterHub shows ``jupyterhub_message`` (plain words) instead of the exception's text.
    """
    e = SpawnException(message, reason="user_options", status_code=400)
    e.jupyterhub_message = f"Please change your choice. {message}"
    e.jobspawner_field = field
    return e


def label(option: Option) -> str:
    """The field's label as users read it on the form (``Memory``), for refusals."""
    return option.display_name or option.name


def legacy_label(key: str) -> str:
    """The label of a ``user_options_allowed`` field (``req_gpu_type`` -> ``Gpu type``)."""
    return key.replace("_", " ").capitalize()


def _as_format(text: str) -> str:
    """``text`` as a format string that yields itself (``normalise``'s ``label``)."""
    return text.replace("{", "{{").replace("}", "}}")


def config_error(e: Exception) -> SpawnException:
    error = SpawnException(
        f"The spawn profiles are misconfigured ({e}); ask an administrator.",
        reason="config",
        status_code=500,
    )
    error.jupyterhub_message = "The hub's spawn profiles are misconfigured; ask an administrator."
    return error


def unwrap(key: str, raw: Any) -> Any:
    """A value as itself, from a list of exactly one value, refused otherwise."""
    value = raw
    if isinstance(raw, (list, tuple)):
        if len(raw) != 1:
            raise refuse(f"{key}: exactly one value is needed, not {len(raw)}")
        value = raw[0]
    if not (value is None or isinstance(value, (str, int, float))) or isinstance(value, bool):
        raise refuse(
            f"{key}: a {type(value).__name__} is not a valid value (a text or a number is needed)"
        )
    return value


# --- the spawner's baseline (what config says, before any profile) ---------------------------


def restore_baseline(host: OptionsHost) -> None:
    """Undo a previous spawn's profile overrides (the spawner object outlives a server)."""
    baseline: dict[str, Any] = host.choices.baseline
    for name, value in baseline.items():
        setattr(host, name, value)
    baseline.clear()


def set_overrides(host: OptionsHost, overrides: Mapping[str, Any]) -> None:
    """Set settings, remembering the config's value of each so it can be restored.

    A profile that switches to another backend and sets no ``backend_options`` of its own
    starts from none: the config's options were written for the config's backend (and each
    backend refuses keys it does not declare).
    """
    baseline: dict[str, Any] = host.choices.baseline
    if (
        "backend" in overrides
        and "backend_options" not in overrides
        and overrides["backend"] != baseline.get("backend", host.backend)
    ):
        overrides = {**overrides, "backend_options": {}}
    for name, value in overrides.items():
        if name not in baseline:
            baseline[name] = getattr(host, name)
        setattr(host, name, value)


# --- profiles the user may choose -----------------------------------------------------------


def _group_names(host: OptionsHost) -> list[str]:
    groups = getattr(host.user, "groups", None) or []
    return [str(getattr(g, "name", g)) for g in groups]


def parse_visible(host: OptionsHost, raw: Any) -> list[Profile]:
    """The configured profiles this user may see (group/user filters applied)."""

    try:
        profiles = parse_profiles(raw or [], settable_names(host))
    except ProfileConfigError as e:
        host.log.error("jobspawner: %s", e)
        raise config_error(e) from e
    groups = _group_names(host)
    return [p for p in profiles if p.visible_to(host.user.name, groups)]


def settable_names(host: OptionsHost) -> list[str]:
    return sorted(host.traits(config=True))


def profiles_source(host: OptionsHost) -> Any:
    """The configured list, or what the configured callable returns (maybe awaitable)."""
    raw = host.profiles
    return raw(host) if callable(raw) else raw


async def visible_profiles(host: OptionsHost) -> list[Profile]:
    raw = profiles_source(host)
    if inspect.isawaitable(raw):
        raw = await raw
    return parse_visible(host, raw)


# --- validation -----------------------------------------------------------------------------


def show_bound(option: Option, number: Any) -> str:
    """A bound in the admin's words: as written in the profile (``12h``), else formatted."""
    if number is not None and number == option.minimum and option.min_text:
        return option.min_text
    if number is not None and number == option.maximum and option.max_text:
        return option.max_text
    kind = FIELDS[option.resource].kind if option.resource else option.kind
    if kind in ("memory",):
        mb = int(number)
        return f"{mb // 1024}G" if mb % 1024 == 0 else f"{mb}M"
    if kind == "duration":
        return format_hms(int(number))
    return f"{number:g}" if isinstance(number, float) else str(number)


def _check_bounds(option: Option, value: Any, number: float | None) -> None:
    if number is None:
        return
    name = label(option)
    if option.minimum is not None and number < option.minimum:
        raise refuse(
            f"{name}: {value!r} is less than the minimum, {show_bound(option, option.minimum)}",
            option.name,
        )
    if option.maximum is not None and number > option.maximum:
        raise refuse(
            f"{name}: {value!r} is more than the maximum, {show_bound(option, option.maximum)}",
            option.name,
        )


def regex_words(option: Option) -> str:
    """What a value of a regex field must look like: the admin's ``validation_message``,
    else the regex itself."""
    return option.validation_message or f"it must match {option.regex}"


def _check_regex(option: Option, value: Any) -> None:
    if option.regex is not None and not re.fullmatch(option.regex, str(value)):
        raise refuse(
            f"{label(option)}: {value!r} is not allowed here ({regex_words(option)})", option.name
        )


def _choose(
    out: Validated, resource: str, value: Any, label: str = "{}", field: str = ""
) -> dict[str, Any]:
    """Record the user's ``value`` for ``resource``, normalised (the one time it is); a
    refusal names ``label`` (a ``normalise`` format) and marks the form's ``field``."""
    try:
        normalised = normalise({resource: value}, label=label)
    except ResourceError as e:
        raise refuse(str(e), field) from e
    out.resources[resource] = value
    for name in FIELDS[resource].variables:
        out.chosen[name] = normalised[name]
    return normalised


def _validate_option(host: OptionsHost, option: Option, value: Any, out: Validated) -> None:
    name = label(option)
    if option.choices:
        choice = option.choice(str(value))
        if choice is None:
            listed = ", ".join(f"{c.key} ({c.display_name})" for c in option.choices)
            raise refuse(f"{name}: {value!r} is not one of the choices: {listed}", option.name)
        out.overrides.update(choice.overrides)
        if option.resource and not choice.overrides:
            _choose(out, option.resource, choice.key)
        elif not option.resource:
            out.variables[option.name] = choice.key
        out.options[option.name] = choice.key
        return
    if option.resource:
        normalised = _choose(out, option.resource, value, _as_format(name), option.name)
        _check_bounds(option, value, number_of(option.resource, normalised))
        _check_regex(option, value)
        out.options[option.name] = value
        return
    if option.kind in ("int", "float"):
        try:
            if isinstance(value, str):
                if len(value) > 32:
                    raise ValueError
                typed: Any = int(value.strip()) if option.kind == "int" else float(value)
            else:
                typed = int(value) if option.kind == "int" else float(value)
                if option.kind == "int" and typed != value:
                    raise ValueError
            if typed != typed or typed in (float("inf"), float("-inf")):
                raise ValueError
        except (TypeError, ValueError, OverflowError):
            what = "a whole number" if option.kind == "int" else "a number"
            raise refuse(f"{name}: {value!r} is not {what}", option.name) from None
        _check_bounds(option, value, typed)
    else:
        typed = "" if value is None else str(value)
        if len(typed) > _MAX_TEXT or _CONTROL.search(typed):
            raise refuse(
                f"{name}: the value is too long or has a line break or control character",
                option.name,
            )
        _check_regex(option, typed)
    out.variables[option.name] = typed
    out.options[option.name] = typed


def _bound_resources(profile: Profile | None) -> dict[str, str]:
    """The resources the profile's own options set (resource -> option name): its bounds
    and choices hold, so no other key may set the same resource (a plain ``runtime`` from
    ``user_options_allowed`` next to a bounded ``walltime`` option is refused)."""
    if profile is None:
        return {}
    return {o.resource: o.name for o in profile.options if o.resource}


def validate(
    host: OptionsHost, profiles: Sequence[Profile], user_options: Mapping[str, Any]
) -> Validated:
    """Check every key and value; raise a 400 naming the first wrong field."""
    values = {str(k): unwrap(str(k), v) for k, v in (user_options or {}).items()}
    out = Validated()
    if profiles:
        slug = values.pop("profile", None)
        if slug is None or slug == "":
            profile = default_profile(profiles)
        else:
            profile = next((p for p in profiles if p.slug == str(slug)), None)
            if profile is None:
                names = ", ".join(p.slug for p in profiles)
                raise refuse(
                    f"Profile: {slug!r} is not a profile you can choose ({names})", "profile"
                )
        assert profile is not None
        out.profile = profile
        out.options["profile"] = profile.slug
        out.overrides.update(profile.overrides)
        for option in profile.options:
            value = values.pop(option.name, None)
            if value is None or value == "":
                value = option.default
                if value is None and option.choices:
                    value = option.choices[0].key
            if value is None or value == "":
                continue
            _validate_option(host, option, value, out)
    allowed = out.overrides.get("user_options_allowed", host.user_options_allowed)
    bound = _bound_resources(out.profile)
    for key, value in values.items():
        if key in bound:
            raise refuse(
                f"{key}: this profile sets it with its option {bound[key]!r}; choose it there",
                bound[key],
            )
        if key not in allowed:
            offered = ["profile"] if profiles else []
            offered += [o.name for o in out.profile.options] if out.profile else []
            offered += list(allowed)
            raise refuse(
                f"Option {key!r} cannot be chosen here (allowed: {', '.join(offered) or 'none'})"
            )
        if value is not None and value != "":
            _choose(out, key, value, _as_format(legacy_label(key)), key)
            out.options[key] = value
        elif key not in FIELDS:  # an unset value is no request, but its name must be one
            unknown = ResourceError(legacy_label(key), value, "is not a known resource")
            raise refuse(str(unknown), key)
    return out


def _field_of(out: Validated, resource: str) -> tuple[str, str]:
    """The form field that set ``resource`` and its label: the profile's option bound to it,
    else the ``user_options_allowed`` field of that name."""
    option = (
        next((o for o in out.profile.options if o.resource == resource), None)
        if out.profile
        else None
    )
    return (option.name, label(option)) if option else (resource, legacy_label(resource))


def _check_constraint_and_limits(host: OptionsHost, out: Validated) -> None:
    """With the profile's settings in place: the backend's constraint grammar, and the chosen
    queue's existence and maximum run time when the scheduler has told them. A resource the
    (profile's) backend cannot honour is refused when the user chose it freely, and logged
    for the admin when a profile's own option asks for it; never dropped in silence."""
    allowed = out.overrides.get("user_options_allowed", host.user_options_allowed)
    for key in out.resources:
        if key in allowed:  # a free choice the site offers: refused for this backend
            host.refuse_unhonoured_option(key)
        elif host.unhonoured_reason(key):  # the admin's profile option: said, not hidden
            host.log.warning(
                "jobspawner: profile option %r asks for %s, which the %s backend cannot "
                "honour; the job runs without it (remove the option from the profile)",
                key,
                key,
                host.load().name,
            )
    chosen = out.chosen
    field, name = _field_of(out, "constraint")
    try:  # the one check of the user's constraint (the spawner's renders rely on it)
        validate_constraint(host.load(), name, chosen["constraint"], host.backend_options)
    except ResourceError as e:
        raise refuse(str(e), field) from e
    snapshot = live_snapshot(host, wait=False)
    if snapshot is None or not snapshot.available:
        return
    queue_name = chosen["queue"] or host.req_queue or None
    queue = snapshot.queue(queue_name)
    if queue is None:
        if chosen["queue"] and snapshot.queues:
            known = ", ".join(q.name for q in snapshot.queues)
            field, name = _field_of(out, "queue")
            raise refuse(
                f"{name}: {chosen['queue']!r} is not a queue of this cluster ({known})", field
            )
        return
    where = f"of queue {queue.name!r}"
    if chosen["runtime_s"] and queue.max_time_s and chosen["runtime_s"] > queue.max_time_s:
        field, name = _field_of(out, "runtime")
        raise refuse(
            f"{name}: {chosen['runtime']} is more than the limit {where}, "
            f"{format_hms(queue.max_time_s)}",
            field,
        )
    # CPUs, memory and GPUs per node are hints only: queues mix node types, and backends
    # report the largest or the smallest node; the scheduler decides those.


def apply(host: OptionsHost, out: Validated) -> None:
    """Put a validation's outcome in place (profile settings first, then the user's)."""
    set_overrides(host, out.overrides)
    try:
        _check_constraint_and_limits(host, out)
    except BaseException:
        restore_baseline(host)
        raise
    choices = host.choices
    choices.resources = dict(out.resources)
    choices.validated = (dict(out.resources), dict(out.chosen))
    choices.variables = dict(out.variables)
    host.record.profile = out.profile.slug if out.profile else ""
    host.record.options = dict(out.options)


def apply_user_options(
    spawner: OptionsHost, user_options: Mapping[str, Any]
) -> Awaitable[None] | None:
    """JobSpawner's default ``apply_user_options`` (a coroutine when profiles is a callable)."""
    restore_baseline(spawner)
    choices = spawner.choices
    choices.resources, choices.variables, choices.validated = {}, {}, None
    spawner.record.profile, spawner.record.options = "", {}
    submitted, choices.form_submission = choices.form_submission, None  # from the form?
    raw = profiles_source(spawner)
    if inspect.isawaitable(raw):

        async def later() -> None:
            try:
                apply(spawner, validate(spawner, parse_visible(spawner, await raw), user_options))
            except SpawnException as e:
                refusal_log.note(spawner, e)  # one WARNING line, not JupyterHub's traceback
                choices.note_refusal(e, submitted)  # the form shown again marks the field
                raise

        return later()
    try:
        apply(spawner, validate(spawner, parse_visible(spawner, raw), user_options))
    except SpawnException as e:
        refusal_log.note(spawner, e)
        choices.note_refusal(e, submitted)
        raise
    return None


def chosen_resources(host: OptionsHost) -> tuple[dict[str, Any], bool]:
    """The user's chosen resources as template variables, and whether their constraint was
    checked against the backend: the validation's own result (:class:`Validated`) while
    ``choices.resources`` are still what it validated; otherwise (a site's own
    ``apply_user_options`` set them, or something changed them since) normalised now,
    unchecked, so that a value that skipped the validation is still refused."""
    choices = host.choices
    if choices.validated is not None and choices.validated[0] == choices.resources:
        return dict(choices.validated[1]), True
    return normalise(choices.resources, label="{}"), False


# --- state: the profile and the job's settings survive a hub restart -------------------------


def job_settings(host: OptionsHost) -> dict[str, Any]:
    """The settings a job is submitted with (:data:`JOB_SETTINGS`), for its record."""
    settings = {}
    for name in JOB_SETTINGS:
        value = getattr(host, name)
        try:
            json.dumps(value)
        except (TypeError, ValueError):
            continue
        settings[name] = value
    return settings


def restore_settings(host: OptionsHost, record: ChoiceRecord) -> None:
    """Before a loaded job is polled: use the settings it was submitted with."""
    if not record.job_id or not record.job_settings:
        return
    restore_baseline(host)
    known = set(JOB_SETTINGS)
    set_overrides(host, {k: v for k, v in record.job_settings.items() if k in known})
