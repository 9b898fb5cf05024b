"""The choices room's protocols (jobspawner.choices.options_host) describe the spawner.

mypy cannot check that ``JobSpawner`` satisfies a protocol: its base class, JupyterHub's
``Spawner``, is untyped, so mypy takes the class for a subtype of anything. These tests check
each protocol member on a real spawner instead: it is there, a property's value has the
declared type, a method takes the declared arguments."""

from __future__ import annotations

import inspect
import logging
import types
import typing
from pathlib import Path
from typing import Any, Protocol

import pytest
from forms.kit import make_spawner
from jobspawner.choices import options_host
from jobspawner.lifecycle import started_options
from jobspawner.lifecycle.job_record import JobRecord

#: The protocols a spawner is handed as (the user's is checked on its ``user``).
SPAWNER_PROTOCOLS = [
    options_host.RefusalHost,
    options_host.LiveViewHost,
    options_host.OptionsHost,
    options_host.RelaunchHost,
    options_host.FormHost,
    started_options.RecordHost,
]
#: Names the protocols' annotations use that their modules import only for typing.
TYPING_NAMES = {"JobRecord": JobRecord}


def members(proto: type) -> dict[str, Any]:
    """A protocol's members (its bases' too): name -> the property, method or annotation."""
    out: dict[str, Any] = {}
    for cls in reversed(proto.__mro__):
        if cls in (object, Protocol, typing.Generic) or not getattr(cls, "_is_protocol", False):
            continue
        for name, hint in getattr(cls, "__annotations__", {}).items():
            out[name] = hint
        for name, value in vars(cls).items():
            if not name.startswith("_"):
                out[name] = value
    return out


def hints_of(function: Any) -> dict[str, Any]:
    module = vars(inspect.getmodule(function))
    return typing.get_type_hints(function, globalns=module, localns=TYPING_NAMES)


def wrong_type(value: Any, hint: Any) -> str | None:
    """Why ``value`` is not a ``hint`` (as far as a runtime check can tell), or None."""
    if hint is Any or hint is object:
        return None
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        why = [wrong_type(value, arm) for arm in typing.get_args(hint)]
        return None if None in why else " and ".join(w for w in why if w)
    if origin is not None:
        hint = origin
    if hint is type(None):
        return None if value is None else f"{value!r} is not None"
    if getattr(hint, "_is_protocol", False) and not getattr(hint, "_is_runtime_protocol", False):
        missing = not_satisfied(value, hint)
        return f"{value!r} lacks {missing}" if missing else None
    return None if isinstance(value, hint) else f"{value!r} is not a {hint}"


def bind_placeholders(impl: Any, spec: Any) -> None:
    """Call-shape check: ``impl`` accepts every argument ``spec`` (a protocol's method) takes."""
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    for param in list(inspect.signature(spec).parameters.values())[1:]:  # not self
        if param.kind is param.VAR_POSITIONAL:
            args += ["x", "y"]
        elif param.kind is param.VAR_KEYWORD:
            kwargs["config"] = True
        elif param.kind is param.KEYWORD_ONLY:
            kwargs[param.name] = "x"
        else:
            args.append("x")
    inspect.signature(impl).bind(*args, **kwargs)


def not_satisfied(obj: Any, proto: type) -> list[str]:
    """The members of ``proto`` that ``obj`` lacks or has of another type or shape."""
    problems = []
    for name, member in members(proto).items():
        if not hasattr(obj, name):
            problems.append(f"{name} (missing)")
            continue
        value = getattr(obj, name)
        if isinstance(member, property):
            why = wrong_type(value, hints_of(member.fget)["return"])
        elif callable(member):
            try:
                bind_placeholders(value, member)
                why = None
            except TypeError as e:
                why = f"takes other arguments: {e}"
        else:  # an annotated attribute
            hint = typing.get_type_hints(proto, localns=TYPING_NAMES)[name]
            why = wrong_type(value, hint)
        if why:
            problems.append(f"{name} ({why})")
    return problems


@pytest.mark.parametrize("proto", SPAWNER_PROTOCOLS, ids=lambda p: p.__name__)
def test_the_spawner_satisfies_each_protocol(tmp_path: Path, proto: type) -> None:
    spawner = make_spawner(tmp_path, profiles=[{"display_name": "A", "slug": "a"}])
    assert not_satisfied(spawner, proto) == []


def test_the_spawners_user_is_a_hub_user(tmp_path: Path) -> None:
    assert not_satisfied(make_spawner(tmp_path).user, options_host.HubUser) == []


def test_the_job_record_is_a_choice_record() -> None:
    assert not_satisfied(JobRecord(), options_host.ChoiceRecord) == []


class _Wanting(Protocol):
    @property
    def log(self) -> logging.Logger: ...

    @property
    def log_name(self) -> int: ...

    @property
    def no_such_setting(self) -> str: ...

    def load(self, extra: str) -> None: ...


def test_the_check_sees_a_missing_member_a_wrong_type_and_a_wrong_shape(tmp_path: Path) -> None:
    problems = not_satisfied(make_spawner(tmp_path), _Wanting)
    assert [p.split(" ")[0] for p in problems] == ["log_name", "no_such_setting", "load"]
    assert "missing" in problems[1] and "takes other arguments" in problems[2]
