"""``JobSpawner`` has what each protocol its helpers are typed against asks of it.

The helpers (the walltime, the notice of a job's end, the session view's card, a session's
host, the server watch) take a small protocol, never the spawner. mypy cannot check that the
spawner satisfies them: JupyterHub's ``Spawner`` is untyped, so to mypy a subclass of it
satisfies every protocol. This test does it on a spawner: each member is there, of its kind
(a method with the protocol's parameters, or a value), and each value is of its type.
"""

from __future__ import annotations

import inspect
import logging
import types
import typing
from collections.abc import Mapping
from typing import Any, Protocol

import pytest
from jobspawner.lifecycle import last_end, server_watch, session_host, walltime
from jobspawner.lifecycle.job_record import JobRecord
from jobspawner.lifecycle.job_server import JobServer
from jobspawner.web import session_view

from core.test_spawner_unit import make_spawner

PROTOCOLS = [
    walltime.WalltimeSettings,
    walltime.WalltimeJob,
    walltime.WalltimeServer,
    walltime.RelaunchHost,
    last_end.RecordHolder,
    last_end.EndedServer,
    session_view.CardServer,
    session_host.SessionHost,
    session_host.StartHost,
    session_host.PollHost,
    server_watch.WatchedServer,
    JobServer,
]


def members(protocol: type) -> dict[str, Any]:
    """The protocol's public members (its bases' too): name -> its declaration (a function,
    a property, or the annotation of an attribute)."""
    found: dict[str, Any] = {}
    for cls in reversed(protocol.__mro__):
        if not getattr(cls, "_is_protocol", False) or cls is Protocol:
            continue
        hints = typing.get_type_hints(cls)
        for name in vars(cls).get("__annotations__", {}):
            found[name] = hints[name]
        for name, value in vars(cls).items():
            declared = inspect.isfunction(value) or isinstance(value, property)
            if declared and not name.startswith("_"):
                found[name] = value
    return found


def of_type(value: Any, hint: Any) -> bool:
    """Whether ``value`` is of the type ``hint`` (its outer type for a generic one)."""
    if hint is Any:
        return True
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return any(of_type(value, arg) for arg in typing.get_args(hint))
    if hint is None or hint is type(None):
        return value is None
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    origin = typing.get_origin(hint) or hint
    return isinstance(value, origin)


def mismatches(spawner: Any, protocol: type) -> list[str]:
    """What ``spawner`` lacks of ``protocol``, or has of another kind or type."""
    wrong = []
    cls = type(spawner)
    for name, declared in members(protocol).items():
        if not hasattr(spawner, name):
            wrong.append(f"{name}: missing")
            continue
        own = inspect.getattr_static(cls, name, None)
        if inspect.isfunction(declared):
            if not inspect.isfunction(own) and not inspect.iscoroutinefunction(own):
                wrong.append(f"{name}: not a method")
                continue
            want = list(inspect.signature(declared).parameters)
            params = inspect.signature(own).parameters
            have = list(params)
            extra = [params[p] for p in have[len(want) :]]  # more, with defaults, may follow
            if have[: len(want)] != want or any(p.default is p.empty for p in extra):
                wrong.append(f"{name}: parameters {have}, not {want}")
            if inspect.iscoroutinefunction(declared) != inspect.iscoroutinefunction(own):
                wrong.append(f"{name}: async differs")
            continue
        if inspect.isfunction(own):
            wrong.append(f"{name}: a method, not a value")
            continue
        hint = declared
        if isinstance(declared, property):
            hint = typing.get_type_hints(declared.fget)["return"]
        value = getattr(spawner, name)
        if not of_type(value, hint):
            wrong.append(f"{name}: {type(value).__name__}, not {hint}")
    return wrong


@pytest.fixture
def spawner(tmp_path):
    spawner = make_spawner(tmp_path, req_runtime="1h")
    spawner.job_id, spawner.job_output = "42", str(tmp_path / "out.log")
    return spawner


@pytest.mark.parametrize("protocol", PROTOCOLS, ids=lambda p: f"{p.__module__}.{p.__name__}")
def test_the_spawner_has_what_each_protocol_asks(spawner, protocol):
    assert members(protocol), "a protocol without members checks nothing"
    assert mismatches(spawner, protocol) == []


class _Wrong(Protocol):
    """What the spawner does not have: a name, a kind, a type, a parameter."""

    walltime_end: str

    @property
    def no_such_name(self) -> str: ...

    @property
    def record(self) -> Mapping[str, Any]: ...

    @property
    def resources(self) -> dict[str, Any]: ...

    def relaunch_url(self, choices: Mapping[str, Any]) -> str: ...

    def note_job_end(self) -> None: ...

    @property
    def log(self) -> logging.LoggerAdapter[Any]: ...


def test_what_the_spawner_lacks_is_named(spawner):
    wrong = mismatches(spawner, _Wrong)
    assert wrong == [
        "walltime_end: NoneType, not <class 'str'>",
        "no_such_name: missing",
        f"record: {JobRecord.__name__}, not {Mapping[str, Any]}",
        "resources: a method, not a value",
        "relaunch_url: parameters ['self', 'options'], not ['self', 'choices']",
        "note_job_end: parameters ['self', 'status', 'words'], not ['self']",
        "note_job_end: async differs",
        f"log: {type(spawner.log).__name__}, not {logging.LoggerAdapter[Any]}",
    ]
