"""Node-feature constraints: each backend's grammar, and the check the spawner runs.

A ``constraint`` asks for nodes with some *features* (``skylake&ib``, ``bigmem``). It is
never a resource list: the site sets runtime, memory and queues, and a constraint must not
close the site's part of an expression or append a resource of its own. Each backend says
what its scheduler accepts with the ``check_constraint`` hook, usually by describing its
syntax as a :class:`FeatureGrammar`; the spawner calls the hook before anything is
submitted (:func:`validate_constraint`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from jobspawner.contract.resources import ResourceError

if TYPE_CHECKING:
    from jobspawner.facade.backend import Backend

#: What every refusal adds: why a constraint cannot hold resources.
_WHY = "a constraint names node features; runtime, memory and other resources are set by the site"


@dataclass(frozen=True)
class FeatureGrammar:
    """The syntax of one scheduler's feature expressions.

    ``name`` matches one feature name; ``binary`` are the operators between terms (``&``,
    ``||``, ``:``...); ``unary`` those before a term (``!``); ``groups`` the bracket pairs
    that may enclose a sub-expression (balanced); ``count`` allows ``name*N`` (Slurm);
    ``reserved`` are names refused whatever their case (the scheduler's resource names).
    ``example`` is shown in refusals.
    """

    name: re.Pattern[str]
    binary: tuple[str, ...]
    example: str
    unary: tuple[str, ...] = ()
    groups: tuple[tuple[str, str], ...] = ()
    count: bool = False
    reserved: frozenset[str] = field(default_factory=frozenset)
    max_length: int = 256

    def check(self, text: str, reserved: frozenset[str] = frozenset()) -> str | None:
        """Why ``text`` is not an expression of this grammar, or ``None`` when it is.

        ``reserved`` adds names to :attr:`reserved` (e.g. the site's configured resources).
        """
        if not text:
            return "is empty"
        if len(text) > self.max_length:
            return f"is longer than {self.max_length} characters"
        if "=" in text:
            return f"may not contain '=' ({_WHY}; example: {self.example})"
        try:
            tokens = self._tokens(text)
            refused = self.reserved | reserved
            for kind, token in tokens:
                if kind == "name" and token.split("*")[0].lower() in refused:
                    return f"may not name the resource {token.split('*')[0]!r} ({_WHY})"
            _Parser(self, tokens).parse()
        except _Refused as e:
            return f"is not a feature expression: {e} (example: {self.example})"
        return None

    def _tokens(self, text: str) -> list[tuple[str, str]]:
        symbols = sorted(
            {*self.binary, *self.unary, *(c for pair in self.groups for c in pair)},
            key=len,
            reverse=True,
        )
        count = r"(?:\*[0-9]{1,6})?" if self.count else ""
        name = f"(?:{self.name.pattern}){count}"
        alternatives = [f"(?P<name>{name})"]
        if symbols:
            alternatives.append("(?P<op>" + "|".join(re.escape(s) for s in symbols) + ")")
        scanner = re.compile("|".join(alternatives))
        tokens, pos = [], 0
        while pos < len(text):
            m = scanner.match(text, pos)
            if m is None or m.end() == pos:
                raise _Refused(f"{text[pos]!r} is not allowed at position {pos + 1}")
            tokens.append(("name" if m.group("name") else "op", m.group()))
            pos = m.end()
        return tokens


class _Refused(Exception):
    """A token sequence that is not an expression (the message says where)."""


class _Parser:
    """expr := term (BINARY term)*; term := UNARY* (NAME | OPEN expr CLOSE)."""

    def __init__(self, grammar: FeatureGrammar, tokens: list[tuple[str, str]]) -> None:
        self.g = grammar
        self.tokens = tokens
        self.pos = 0
        self.closing = {open_: close for open_, close in grammar.groups}

    def _peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def parse(self) -> None:
        self._expr()
        left = self._peek()
        if left is not None:
            raise _Refused(f"unexpected {left[1]!r}")

    def _expr(self) -> None:
        self._term()
        while (
            (token := self._peek()) is not None and token[0] == "op" and token[1] in self.g.binary
        ):
            self.pos += 1
            self._term()

    def _term(self) -> None:
        token = self._peek()
        while token is not None and token[0] == "op" and token[1] in self.g.unary:
            self.pos += 1
            token = self._peek()
        if token is None:
            raise _Refused("it ends where a feature name is expected")
        kind, text = token
        if kind == "name":
            self.pos += 1
            return
        if text in self.closing:
            self.pos += 1
            self._expr()
            end = self._peek()
            if end != ("op", self.closing[text]):
                raise _Refused(f"{text!r} is not closed by {self.closing[text]!r}")
            self.pos += 1
            return
        raise _Refused(f"{text!r} where a feature name is expected")


def validate_constraint(
    backend: Backend, field_name: str, value: str | None, options: Mapping[str, Any]
) -> None:
    """Raise :class:`ResourceError` naming ``field_name`` when the backend refuses ``value``."""
    if not value:
        return
    reason = backend.check_constraint(value, options)
    if reason:
        raise ResourceError(field_name, value, reason)
