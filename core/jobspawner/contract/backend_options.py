"""Declared, typed backend options (``c.JobSpawner.backend_options``).

Each backend declares its options once, with the ``backend_options`` hook: a list of
:class:`Option` (name, type, default, help). The core checks the site's dict against the
declarations at hub start and at every spawn (an unknown key or a wrong type is refused with
the backend's name, the key and the allowed keys), and hands hooks and templates *typed*
values with the defaults filled in: a template reads ``opts.use_srun`` as a real ``bool``,
never the truthiness of the string ``"false"``. The option tables in ``docs/backends/`` are
generated from the same declarations (:func:`markdown_table`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

#: What each declared type accepts, for messages.
_TYPE_WORDS = {
    bool: "true or false",
    int: "a whole number",
    float: "a number",
    str: "a string",
    list: "a list",
    dict: "a mapping",
    object: "any value",
}
_TRUE = frozenset({"true", "yes", "on", "1"})
_FALSE = frozenset({"false", "no", "off", "0", ""})


class OptionError(ValueError):
    """The site's backend options do not match the backend's declarations."""


@dataclass(frozen=True)
class Option:
    """One backend option: its name, type (``bool``, ``int``, ``float``, ``str``, ``list``
    or ``dict``), default and a one-sentence help for the docs.

    ``object`` takes any value as it is (a string, a command as a list, or a callable).
    ``choices`` limits a string to some values; ``nullable`` lets ``None`` mean "unset"
    (the default ``None`` always may). ``list`` items are converted to strings; with
    ``many`` a lone string is taken as a one-item list.
    """

    name: str
    type: type
    default: Any = None
    help: str = ""
    choices: tuple[str, ...] = ()
    nullable: bool = field(default=False)
    many: bool = False

    def __post_init__(self) -> None:
        if self.type not in _TYPE_WORDS:
            raise TypeError(f"option {self.name}: unsupported type {self.type!r}")

    def convert(self, value: Any) -> Any:
        """``value`` as this option's type; :class:`OptionError` says what was expected."""
        if value is None and (self.nullable or self.default is None):
            return None
        kind = self.type
        out: Any
        if kind is object:  # a command line or a callable (e.g. a token source)
            out = value
        elif kind is bool:
            out = parse_bool(value)
        elif kind is int and not isinstance(value, bool):
            out = _to_number(value, int)
        elif kind is float and not isinstance(value, bool):
            out = _to_number(value, float)
        elif kind is str and isinstance(value, str):
            out = value
        elif kind is list and self.many and isinstance(value, str):
            out = [value]
        elif kind is list and isinstance(value, (list, tuple)):
            out = [str(v) for v in value]
        elif kind is dict and isinstance(value, Mapping):
            out = {str(k): v for k, v in value.items()}
        else:
            out = None
        if out is None:
            raise OptionError(f"must be {_TYPE_WORDS[kind]}, not {value!r}")
        if self.choices and out not in self.choices:
            raise OptionError(f"must be one of {', '.join(map(repr, self.choices))}, not {out!r}")
        return out

    @property
    def type_word(self) -> str:
        return "str or list" if self.many else self.type.__name__


def parse_bool(value: Any) -> bool | None:
    """The one reading of a yes/no value: ``True``/``False``, ``1``/``0``, or (any case, spaces
    around ignored) ``true yes on 1`` / ``false no off 0`` and ``""``; None for anything
    else (the caller says what was expected)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    return None


def _to_number(value: Any, kind: type) -> Any:
    if isinstance(value, (int, float, str)):
        try:
            return kind(value)
        except (TypeError, ValueError):
            return None
    return None


def program_options(*names: str) -> list[Option]:
    """One ``str`` option per scheduler program: its path (default: the name, on PATH)."""
    return [
        Option(name, str, None, f"Path of `{name}` (default: `{name}`, looked up on PATH).")
        for name in names
    ]


class Declarations:
    """The options one backend (plus the core and site plugins) declares, by name."""

    def __init__(self, backend: str, options: Iterable[Option]) -> None:
        self.backend = backend
        self.options: dict[str, Option] = {}
        for option in options:
            self.options.setdefault(option.name, option)

    def __bool__(self) -> bool:
        return bool(self.options)

    def allowed(self) -> str:
        return ", ".join(sorted(self.options)) or "none"

    def check(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """The typed options: the site's, converted, plus every declared default.

        Raises :class:`OptionError` naming, for every wrong key at once, the backend, the key
        and the allowed keys (one run shows every typo).
        """
        typed, problems = self._convert(values)
        if problems:
            if any(key not in self.options for key in values):
                problems.append(f"Allowed keys: {self.allowed()}.")
            raise OptionError(" ".join(problems))
        return typed

    def problems(self, values: Mapping[str, Any]) -> list[str]:
        """Every problem of ``values``, one sentence each (empty: they are valid)."""
        return self._convert(values)[1]

    def _convert(self, values: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
        typed: dict[str, Any] = {}
        problems: list[str] = []
        unknown = [key for key in values if key not in self.options]
        for key in unknown:
            problems.append(
                f'c.JobSpawner.backend_options has the key "{key}", which the '
                f'"{self.backend}" backend does not know.' + _close_match(key, self.options)
            )
        for key, value in values.items():
            option = self.options.get(key)
            if option is None:
                continue
            try:
                typed[key] = option.convert(value)
            except OptionError as e:
                problems.append(
                    f'c.JobSpawner.backend_options["{key}"] for the "{self.backend}" backend {e}.'
                )
        for name, option in self.options.items():
            if option.default is not None:  # an unset option without default stays absent
                typed.setdefault(name, option.default)
        return typed, problems


def _close_match(key: str, known: Mapping[str, Option]) -> str:
    import difflib

    near = difflib.get_close_matches(key, list(known), n=1)
    return f' Did you mean "{near[0]}"?' if near else ""


def markdown_table(options: Sequence[Option]) -> str:
    """The option table of a backend's docs page (generated, checked by a drift test)."""
    lines = ["| Option | Type | Default | What it does |", "|---|---|---|---|"]
    for option in sorted(options, key=lambda o: o.name):
        default = "" if option.default is None else f"`{option.default!r}`"
        text = option.help.replace("|", "\\|")
        if option.choices:
            text += f" One of {', '.join(f'`{c}`' for c in option.choices)}."
        lines.append(f"| `{option.name}` | {option.type_word} | {default} | {text} |")
    return "\n".join(lines) + "\n"
