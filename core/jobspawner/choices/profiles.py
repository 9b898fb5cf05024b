"""Spawn profiles (``c.JobSpawner.profiles``) and the options a profile offers.

A profile is a named set of JobSpawner settings (``req_*``, ``backend``,
``backend_options``, ``batch_script``, ``exec_prefix``, timeouts...) that a user picks at
spawn time, as wrapspawner's ProfilesSpawner and KubeSpawner's ``profile_list`` offer. A
profile may offer options: a list of choices (each with a display name and settings it
overrides) or a free input bounded by ``min``/``max`` or a ``regex``. This module parses
the admin's configuration into typed objects; :mod:`jobspawner.choices.user_options` validates what
a
user sent against them.

Configuration (a list, or a callable ``f(spawner)`` returning one, possibly a coroutine)::

    c.JobSpawner.profiles = [
        {
            "display_name": "GPU node, Slurm",
            "slug": "gpu",
            "description": "One <b>A100</b> or V100 for up to 8 hours.",
            "default": True,
            "groups": ["gpu-users"],            # optional: only these groups see it
            "overrides": {"backend": "slurm", "req_queue": "gpu", "req_runtime": "2h"},
            "options": {
                "gpu": {
                    "display_name": "GPU model",
                    "choices": {
                        "a100": {"display_name": "A100", "overrides": {"req_gpu_type": "a100"}},
                        "v100": "NVIDIA V100",
                    },
                    "default": "a100",
                },
                "runtime": {"display_name": "Run time", "min": "10m", "max": "8h"},
                "env": {"display_name": "Conda env", "regex": "[a-z][a-z0-9_-]{0,31}"},
            },
        },
    ]
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from jobspawner.contract.resources import FIELDS, ResourceError, normalise

#: A profile slug, an option name or a choice key: what lands in form field names and URLs.
SLUG = re.compile(r"[a-z0-9](?:[a-z0-9_]|-(?!-)){0,62}")
#: Settings a profile may never override: the profile machinery itself.
_NOT_OVERRIDABLE = frozenset(
    {"profiles", "apply_user_options", "options_form", "options_from_form", "options_from_query"}
)
#: Kinds of free input that are not resources: they become template variables.
FREE_KINDS = ("text", "int", "float")


class ProfileConfigError(ValueError):
    """The admin's profile configuration is wrong; the message names the place."""


@dataclass(frozen=True)
class Choice:
    """One choice of an option: its key, what users read, the settings it overrides."""

    key: str
    display_name: str
    overrides: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Option:
    """An option a profile offers: choices, or a free input with bounds.

    ``resource`` is the resource field the value sets (the option's name when it is one of
    :data:`jobspawner.contract.resources.FIELDS`); other options become template variables under
    ``choices`` in the job script (``{{ choices.env }}``), typed by ``kind``.
    """

    name: str
    display_name: str
    help: str = ""
    choices: tuple[Choice, ...] = ()
    default: Any = None
    kind: str = "text"  # for a free input that is not a resource: text | int | float
    resource: str | None = None
    minimum: Any = None
    maximum: Any = None
    regex: str | None = None
    #: what users read when a value does not match ``regex`` (instead of the regex)
    validation_message: str = ""
    #: the bounds as the admin wrote them (``12h``, ``4G``), shown in hints and refusals
    min_text: str = ""
    max_text: str = ""

    @property
    def free(self) -> bool:
        return not self.choices

    def choice(self, key: str) -> Choice | None:
        return next((c for c in self.choices if c.key == key), None)


@dataclass(frozen=True)
class Profile:
    """One profile: slug, display name, admin HTML description, overrides and options."""

    slug: str
    display_name: str
    description: str = ""
    default: bool = False
    overrides: Mapping[str, Any] = field(default_factory=dict)
    options: tuple[Option, ...] = ()
    groups: tuple[str, ...] = ()
    users: tuple[str, ...] = ()

    def option(self, name: str) -> Option | None:
        return next((o for o in self.options if o.name == name), None)

    def visible_to(self, username: str, groups: Sequence[str]) -> bool:
        """True when the profile names no users or groups, or names this user or a group."""
        if not self.groups and not self.users:
            return True
        return username in self.users or any(g in self.groups for g in groups)


def _where(profile: str, option: str | None = None) -> str:
    return f"c.JobSpawner.profiles[{profile}]" + (f".options[{option}]" if option else "")


def _check_overrides(where: str, overrides: Any, settable: Sequence[str]) -> dict[str, Any]:
    if not isinstance(overrides, Mapping):
        raise ProfileConfigError(f"{where}: overrides must be a dict of JobSpawner settings")
    for name in overrides:
        if name in _NOT_OVERRIDABLE or name not in settable:
            raise ProfileConfigError(
                f"{where}: {name!r} is not a JobSpawner setting a profile can override"
            )
    return dict(overrides)


def _bound(where: str, resource: str | None, kind: str, value: Any) -> Any:
    """A min/max bound in the units its option is compared in (MiB, seconds, a number)."""
    if value is None:
        return None
    try:
        if resource is not None:
            return numeric_value(resource, value, label=where)
        return int(value) if kind == "int" else float(value)
    except (ResourceError, TypeError, ValueError) as e:
        raise ProfileConfigError(f"{where}: the bound {value!r} is not valid: {e}") from e


def numeric_value(resource: str, value: Any, label: str = "{}") -> float | None:
    """The number a resource value is compared by (MiB, seconds, a count); None for names."""
    return number_of(resource, normalise({resource: value}, label=label))


def number_of(resource: str, out: Mapping[str, Any]) -> float | None:
    """The number of ``resource`` in :func:`normalise`'s output ``out``; None for names."""
    kind = FIELDS[resource].kind
    if kind == "memory":
        return float(out[f"{resource}_mb"])
    if kind == "duration":
        return float(out["runtime_s"])
    if kind in ("count", "gpus"):
        return float(out[resource] or 0)
    return None


def _parse_option(profile: str, name: Any, spec: Any, settable: Sequence[str]) -> Option:
    if not isinstance(name, str) or not SLUG.fullmatch(name):
        raise ProfileConfigError(
            f"{_where(profile)}: option name {name!r} must be lower-case letters, digits, _ -"
        )
    where = _where(profile, name)
    if not isinstance(spec, Mapping):
        raise ProfileConfigError(f"{where}: must be a dict")
    unknown = set(spec) - {"display_name", "help", "choices", "default", "kind", "resource",
                           "min", "max", "regex", "validation_message"}  # fmt: skip
    if unknown:
        raise ProfileConfigError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    resource = spec.get("resource", name if name in FIELDS else None)
    if resource is not None and resource not in FIELDS:
        raise ProfileConfigError(f"{where}: resource {resource!r} is not one of {list(FIELDS)}")
    kind = str(spec.get("kind", "text"))
    if resource is None and kind not in FREE_KINDS:
        raise ProfileConfigError(f"{where}: kind must be one of {FREE_KINDS}")
    choices: list[Choice] = []
    raw_choices = spec.get("choices") or {}
    if not isinstance(raw_choices, Mapping):
        raise ProfileConfigError(f"{where}: choices must be a dict of key: display name/dict")
    for key, choice in raw_choices.items():
        if not isinstance(key, str) or not SLUG.fullmatch(key):
            raise ProfileConfigError(f"{where}: choice key {key!r} must be a slug")
        if isinstance(choice, str):
            choice = {"display_name": choice}
        if not isinstance(choice, Mapping):
            raise ProfileConfigError(f"{where}: choice {key!r} must be a text or a dict")
        overrides = _check_overrides(
            f"{where}.choices[{key}]", choice.get("overrides", {}), settable
        )
        if resource is not None and not overrides:
            try:  # the key is the resource value: check it now, not at the first spawn
                normalise({resource: key}, label=f"{where}.choices[{{}}]")
            except ResourceError as e:
                raise ProfileConfigError(str(e)) from e
        choices.append(Choice(key, str(choice.get("display_name", key)), overrides))
    regex = spec.get("regex")
    if regex is not None:
        try:
            re.compile(str(regex))
        except re.error as e:
            raise ProfileConfigError(f"{where}: regex {regex!r} does not compile: {e}") from e
    if not choices and resource is None and kind == "text" and regex is None:
        raise ProfileConfigError(
            f"{where}: a free text option needs a regex bounding what users may type"
        )
    option = Option(
        name=name,
        display_name=str(spec.get("display_name", name)),
        help=str(spec.get("help", "")),
        choices=tuple(choices),
        default=spec.get("default"),
        kind=kind,
        resource=resource,
        minimum=_bound(f"{where}.min", resource, kind, spec.get("min")),
        maximum=_bound(f"{where}.max", resource, kind, spec.get("max")),
        regex=None if regex is None else str(regex),
        validation_message=str(spec.get("validation_message") or ""),
        min_text=_written(spec.get("min")),
        max_text=_written(spec.get("max")),
    )
    if option.validation_message and regex is None:
        raise ProfileConfigError(
            f"{where}: validation_message is what users read when a value does not match the "
            "option's regex; this option has no regex (add one or remove the message)"
        )
    if choices and option.default is not None and option.choice(str(option.default)) is None:
        raise ProfileConfigError(f"{where}: default {option.default!r} is not one of the choices")
    _check_range(where, option, spec)
    return option


def _written(bound: Any) -> str:
    """A bound as the admin wrote it (``"12h"``, ``"4G"``, ``16``); empty when unset."""
    if bound is None:
        return ""
    if isinstance(bound, float) and bound.is_integer():
        return str(int(bound))
    return str(bound).strip()


def _check_range(where: str, option: Option, spec: Mapping[str, Any]) -> None:
    """``min`` not above ``max``, and a default between them (no user could pick it)."""
    low, high = option.minimum, option.maximum
    if low is not None and high is not None and low > high:
        raise ProfileConfigError(
            f"{where}: min {spec.get('min')!r} is above max {spec.get('max')!r}, so no value "
            f"is allowed; swap them"
        )
    if option.default is None or option.choices:
        return
    try:
        value = (
            numeric_value(option.resource, option.default, label=f"{where}.default")
            if option.resource is not None
            else float(option.default)
            if option.kind in ("int", "float")
            else None
        )
    except (ResourceError, TypeError, ValueError) as e:
        raise ProfileConfigError(f"{where}: default {option.default!r} is not valid: {e}") from e
    if value is None:
        return
    if (low is not None and value < low) or (high is not None and value > high):
        raise ProfileConfigError(
            f"{where}: default {option.default!r} is outside min {spec.get('min')!r} .. max "
            f"{spec.get('max')!r}"
        )


def parse_profile(index: int, spec: Any, settable: Sequence[str]) -> Profile:
    """One entry of ``c.JobSpawner.profiles``; :class:`ProfileConfigError` names its place."""
    if isinstance(spec, Profile):
        return spec
    if not isinstance(spec, Mapping):
        raise ProfileConfigError(f"c.JobSpawner.profiles[{index}] must be a dict")
    slug = spec.get("slug")
    label = str(slug if slug is not None else index)
    if not isinstance(slug, str) or not SLUG.fullmatch(slug):
        raise ProfileConfigError(
            f"{_where(label)}: slug {slug!r} must be lower-case letters, digits, _ - (1-63)"
        )
    unknown = set(spec) - {"display_name", "slug", "description", "default", "overrides",
                           "options", "groups", "users"}  # fmt: skip
    if unknown:
        raise ProfileConfigError(f"{_where(slug)}: unknown key(s) {', '.join(sorted(unknown))}")
    options = spec.get("options") or {}
    if not isinstance(options, Mapping):
        raise ProfileConfigError(f"{_where(slug)}: options must be a dict")
    return Profile(
        slug=slug,
        display_name=str(spec.get("display_name", slug)),
        description=str(spec.get("description", "")),
        default=bool(spec.get("default", False)),
        overrides=_check_overrides(_where(slug), spec.get("overrides", {}), settable),
        options=tuple(_parse_option(slug, n, o, settable) for n, o in options.items()),
        groups=tuple(str(g) for g in spec.get("groups", ())),
        users=tuple(str(u) for u in spec.get("users", ())),
    )


def parse_profiles(specs: Any, settable: Sequence[str]) -> list[Profile]:
    """The whole list; slugs must be unique."""
    if not isinstance(specs, Sequence) or isinstance(specs, (str, bytes)):
        raise ProfileConfigError("c.JobSpawner.profiles must be a list (or a callable giving one)")
    profiles = [parse_profile(i, s, settable) for i, s in enumerate(specs)]
    seen: set[str] = set()
    for p in profiles:
        if p.slug in seen:
            raise ProfileConfigError(f"c.JobSpawner.profiles: slug {p.slug!r} is used twice")
        seen.add(p.slug)
    return profiles


def static_profiles_refusal(raw: Any, settable: Sequence[str]) -> str | None:
    """Why a static ``c.JobSpawner.profiles`` list would break every spawn page (None: it
    parses, or it is a callable, which is checked per user by ``jobspawner check --user``)."""
    if callable(raw) or not raw:
        return None
    try:
        parse_profiles(raw, settable)
    except ProfileConfigError as e:
        return f"{e}. Fix c.JobSpawner.profiles (docs/profiles.md lists what each key takes)"
    return None


def default_profile(profiles: Sequence[Profile]) -> Profile | None:
    """The profile marked default, else the first."""
    return next((p for p in profiles if p.default), profiles[0] if profiles else None)


# --- migrating from wrapspawner's ProfilesSpawner ---------------------------------------------

#: batchspawner class -> jobspawner backend.
BATCHSPAWNER_BACKENDS = {
    "TorqueSpawner": "torque", "MoabSpawner": "moab", "PBSSpawner": "pbspro",
    "SlurmSpawner": "slurm", "LsfSpawner": "lsf", "CondorSpawner": "condor",
    "GridengineSpawner": "sge", "UserEnvMixin": None, "LocalProcessSpawner": "local",
    "SudoSpawner": "local",
}  # fmt: skip
#: batchspawner setting -> jobspawner setting, where the names differ.
_BATCHSPAWNER_SETTINGS = {
    "req_nprocs": "req_cpus", "req_ngpus": "req_gpus", "req_partition": "req_queue",
    "req_project": "req_account", "req_options": None, "req_host": None,
    "req_srun": None, "req_prologue": "prologue", "req_epilogue": "epilogue",
    "req_nnodes": "req_nodes", "req_jobname": None, "req_keepvars": None,
}  # fmt: skip


def from_profiles_spawner(entries: Sequence[Sequence[Any]]) -> list[dict[str, Any]]:
    """``c.ProfilesSpawner.profiles`` tuples as ``c.JobSpawner.profiles`` dicts.

    Each ``(display name, key, spawner class, settings)`` becomes a profile whose backend is
    the one of the batchspawner class (``LocalProcessSpawner`` becomes the ``local``
    backend) and whose settings are renamed (``req_nprocs`` -> ``req_cpus``...). Settings
    with no jobspawner equivalent are refused with their name, so nothing is lost silently.
    The first entry is the default, as in ProfilesSpawner.
    """
    out: list[dict[str, Any]] = []
    for i, entry in enumerate(entries):
        if len(entry) != 4:
            raise ProfileConfigError(f"ProfilesSpawner entry {i} is not a 4-tuple")
        display, key, cls, settings = entry
        class_name = (cls if isinstance(cls, str) else getattr(cls, "__name__", "")).split(".")[-1]
        if class_name not in BATCHSPAWNER_BACKENDS or BATCHSPAWNER_BACKENDS[class_name] is None:
            raise ProfilesConfigMigrationError(key, f"spawner class {cls!r} has no backend")
        overrides: dict[str, Any] = {"backend": BATCHSPAWNER_BACKENDS[class_name]}
        for name, value in dict(settings).items():
            if name == "state_exechost_exp":  # the whole host name, renamed (host_map)
                overrides["host_map"] = {r"(.+)": value} if value else {}
                continue
            new = _BATCHSPAWNER_SETTINGS.get(name, name)
            if new is None:
                raise ProfilesConfigMigrationError(key, f"setting {name!r} has no equivalent")
            if new in ("req_cpus", "req_gpus", "req_nodes") and isinstance(value, str):
                value = int(value)
            overrides[new] = value
        out.append({"display_name": display, "slug": _slugify(key), "default": i == 0,
                    "overrides": overrides})  # fmt: skip
    return out


class ProfilesConfigMigrationError(ProfileConfigError):
    """A ProfilesSpawner entry that cannot be carried over as it is."""

    def __init__(self, key: Any, reason: str) -> None:
        super().__init__(f"ProfilesSpawner profile {key!r}: {reason}; translate it by hand")


def _slugify(key: Any) -> str:
    slug = re.sub(r"[^a-z0-9_-]+", "-", str(key).lower()).strip("-")[:63]
    return slug or "profile"
