"""A small ClassAd expression language for the HTCondor emulator (standard library only).

Enough of the language for what jobs, tools and the emulated negotiator evaluate:
literals (integers, reals, strings, ``true``/``false``/``undefined``/``error``), attribute
references (case-insensitive, with ``MY.``/``TARGET.`` scopes), the usual operators with
ClassAd's three-valued logic (``undefined`` propagates, ``false && undefined`` is ``false``),
the meta-operators ``=?=``/``=!=``, ``?:`` and a handful of functions (``time``,
``ifThenElse``, ``isUndefined``, ``int``, ``real``, ``string``, ``strcat``, ``size``,
``stringListMember``, ``regexp``).

Attribute values in an ad are Python values (int, float, str, bool, None = undefined) or
:class:`Expr` objects (unevaluated expressions, kept as text).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any


class _Special:
    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


UNDEFINED = _Special("undefined")
ERROR = _Special("error")


@dataclass(frozen=True)
class Expr:
    """An unevaluated ClassAd expression (its text)."""

    text: str


class ParseError(ValueError):
    pass


_TOKEN = re.compile(
    r"""\s*(?:
      (?P<real>\d+\.\d*(?:[eE][-+]?\d+)?|\d+[eE][-+]?\d+|\.\d+)
     |(?P<int>\d+)
     |(?P<str>"(?:[^"\\]|\\.)*")
     |(?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)?)
     |(?P<op>=\?=|=!=|==|!=|<=|>=|&&|\|\||[-+*/%<>!?:(),{}])
    )""",
    re.VERBOSE,
)


def tokenize(text: str) -> list[tuple[str, Any]]:
    pos, out = 0, []
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise ParseError(f"cannot parse expression at: {text[pos:]!r}")
        pos = m.end()
        kind = m.lastgroup
        value = m.group(kind)  # type: ignore[arg-type]
        if kind == "str":
            value = bytes(value[1:-1], "utf-8").decode("unicode_escape")
        out.append((kind, value))
    return out


_BINARY = [
    ("||",),
    ("&&",),
    ("==", "!=", "=?=", "=!="),
    ("<", "<=", ">", ">="),
    ("+", "-"),
    ("*", "/", "%"),
]


class _Parser:
    def __init__(self, text: str) -> None:
        self.toks = tokenize(text)
        self.i = 0

    def peek(self) -> tuple[str, Any] | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self, op: str | None = None) -> tuple[str, Any]:
        tok = self.peek()
        if tok is None or (op is not None and tok != ("op", op)):
            raise ParseError(f"expected {op or 'a value'}")
        self.i += 1
        return tok

    def parse(self) -> Any:
        node = self.ternary()
        if self.peek() is not None:
            raise ParseError(f"unexpected {self.peek()[1]!r}")  # type: ignore[index]
        return node

    def ternary(self) -> Any:
        cond = self.binary(0)
        if self.peek() == ("op", "?"):
            self.take("?")
            a = self.ternary()
            self.take(":")
            b = self.ternary()
            return ("?:", cond, a, b)
        return cond

    def binary(self, level: int) -> Any:
        if level == len(_BINARY):
            return self.unary()
        left = self.binary(level + 1)
        while True:
            tok = self.peek()
            if tok and tok[0] == "op" and tok[1] in _BINARY[level]:
                self.i += 1
                left = (tok[1], left, self.binary(level + 1))
            else:
                return left

    def unary(self) -> Any:
        tok = self.peek()
        if tok in (("op", "!"), ("op", "-"), ("op", "+")):
            self.i += 1
            return ("u" + tok[1], self.unary())  # type: ignore[index]
        return self.primary()

    def primary(self) -> Any:
        kind, value = self.take()
        if kind == "int":
            return ("lit", int(value))
        if kind == "real":
            return ("lit", float(value))
        if kind == "str":
            return ("lit", value)
        if kind == "op" and value == "(":
            node = self.ternary()
            self.take(")")
            return node
        if kind == "op" and value == "{":
            items = []
            while self.peek() != ("op", "}"):
                items.append(self.ternary())
                if self.peek() == ("op", ","):
                    self.take(",")
            self.take("}")
            return ("list", items)
        if kind == "name":
            low = value.lower()
            if low == "true":
                return ("lit", True)
            if low == "false":
                return ("lit", False)
            if low == "undefined":
                return ("lit", UNDEFINED)
            if low == "error":
                return ("lit", ERROR)
            if self.peek() == ("op", "("):
                self.take("(")
                args = []
                while self.peek() != ("op", ")"):
                    args.append(self.ternary())
                    if self.peek() == ("op", ","):
                        self.take(",")
                self.take(")")
                return ("call", low, args)
            return ("attr", value)
        raise ParseError(f"unexpected {value!r}")


def parse(text: str) -> Any:
    return _Parser(text).parse()


def literal_or_expr(text: str) -> Any:
    """A submit-file ``+Attr = value``: a literal becomes a value, anything else an Expr."""
    text = text.strip()
    try:
        node = parse(text)
    except ParseError:
        return Expr(text)
    if node[0] == "lit" and node[1] not in (UNDEFINED, ERROR):
        return node[1]
    if node[0] == "u-" and node[1][0] == "lit" and isinstance(node[1][1], (int, float)):
        return -node[1][1]
    return Expr(text)


class Scope:
    """Evaluation scope: MY ad and optional TARGET ad (dicts with any-case keys)."""

    def __init__(self, my: dict[str, Any], target: dict[str, Any] | None = None) -> None:
        self.my = {k.lower(): v for k, v in my.items()}
        self.target = {k.lower(): v for k, v in (target or {}).items()}
        self.depth = 0

    def lookup(self, name: str) -> Any:
        low = name.lower()
        if low.startswith("my."):
            return self._value(self.my, low[3:], self.my, self.target)
        if low.startswith("target."):
            return self._value(self.target, low[7:], self.target, self.my)
        if low in self.my:
            return self._value(self.my, low, self.my, self.target)
        return self._value(self.target, low, self.target, self.my)

    def _value(self, ad: dict[str, Any], key: str, my: dict, target: dict) -> Any:
        if key not in ad:
            return UNDEFINED
        v = ad[key]
        if v is None:
            return UNDEFINED
        if isinstance(v, Expr):
            if self.depth > 20:
                return ERROR
            inner = Scope({}, None)
            inner.my, inner.target, inner.depth = my, target, self.depth + 1
            try:
                return inner.eval(parse(v.text))
            except ParseError:
                return ERROR
        return v

    def eval(self, node: Any) -> Any:
        kind = node[0]
        if kind == "lit":
            return node[1]
        if kind == "attr":
            return self.lookup(node[1])
        if kind == "list":
            return [self.eval(n) for n in node[1]]
        if kind == "call":
            return self.call(node[1], node[2])
        if kind == "?:":
            c = self.eval(node[1])
            if c is UNDEFINED or c is ERROR:
                return c
            return self.eval(node[2] if _truth(c) else node[3])
        if kind == "u!":
            v = self.eval(node[1])
            return v if v in (UNDEFINED, ERROR) else (not _truth(v))
        if kind == "u-":
            v = self.eval(node[1])
            return -v if isinstance(v, (int, float)) and not isinstance(v, bool) else ERROR
        if kind == "u+":
            return self.eval(node[1])
        op, a = kind, self.eval(node[1])
        if op == "&&":
            if a is False:
                return False
            b = self.eval(node[2])
            if a is ERROR or b is ERROR:
                return ERROR
            if b is False:
                return False
            if a is UNDEFINED or b is UNDEFINED:
                return UNDEFINED
            return _truth(a) and _truth(b)
        if op == "||":
            if a is True:
                return True
            b = self.eval(node[2])
            if a is ERROR or b is ERROR:
                return ERROR
            if b is True or (a is not UNDEFINED and _truth(a)):
                return True
            if a is UNDEFINED or b is UNDEFINED:
                return UNDEFINED
            return _truth(b)
        b = self.eval(node[2])
        if op == "=?=":
            return _same(a, b)
        if op == "=!=":
            return not _same(a, b)
        if a is ERROR or b is ERROR:
            return ERROR
        if a is UNDEFINED or b is UNDEFINED:
            return UNDEFINED
        if op in ("==", "!=", "<", "<=", ">", ">="):
            if isinstance(a, str) and isinstance(b, str):
                a, b = a.lower(), b.lower()
            elif isinstance(a, str) != isinstance(b, str):
                return ERROR
            try:
                return {
                    "==": a == b,
                    "!=": a != b,
                    "<": a < b,
                    "<=": a <= b,
                    ">": a > b,
                    ">=": a >= b,
                }[op]
            except TypeError:
                return ERROR
        if not all(isinstance(v, (int, float)) for v in (a, b)):
            return ERROR
        if op == "+":
            return a + b
        if op == "-":
            return a - b
        if op == "*":
            return a * b
        if op == "/":
            if b == 0:
                return ERROR
            return a // b if isinstance(a, int) and isinstance(b, int) else a / b
        if op == "%":
            return ERROR if b == 0 else a % b
        return ERROR

    def call(self, name: str, args: list[Any]) -> Any:
        vals = [self.eval(a) for a in args]
        if name == "time":
            return int(time.time())
        if name == "ifthenelse" and len(args) == 3:
            c = vals[0]
            return c if c in (UNDEFINED, ERROR) else (vals[1] if _truth(c) else vals[2])
        if name == "isundefined":
            return vals[0] is UNDEFINED
        if name == "iserror":
            return vals[0] is ERROR
        if name == "int":
            try:
                return int(float(vals[0]))
            except (TypeError, ValueError):
                return ERROR
        if name == "real":
            try:
                return float(vals[0])
            except (TypeError, ValueError):
                return ERROR
        if name == "string":
            return unparse_value(vals[0]) if not isinstance(vals[0], str) else vals[0]
        if name == "strcat":
            return "".join(v if isinstance(v, str) else unparse_value(v) for v in vals)
        if name == "size":
            return len(vals[0]) if isinstance(vals[0], (str, list)) else ERROR
        if name == "stringlistmember" and len(vals) >= 2:
            items = [s.strip() for s in re.split(r"[, ]+", str(vals[1])) if s.strip()]
            return str(vals[0]) in items
        if name == "regexp" and len(vals) >= 2:
            flags = re.I if len(vals) > 2 and "i" in str(vals[2]).lower() else 0
            return re.search(str(vals[0]), str(vals[1]), flags) is not None
        return ERROR


def _truth(v: Any) -> bool:
    if isinstance(v, bool):
        return v
    if isinstance(v, (int, float)):
        return v != 0
    return False


def _same(a: Any, b: Any) -> bool:
    if type(a) is not type(b):
        if (
            isinstance(a, (int, float))
            and isinstance(b, (int, float))
            and not (isinstance(a, bool) or isinstance(b, bool))
        ):
            return a == b
        return False
    return a == b


def evaluate(text: str, my: dict[str, Any], target: dict[str, Any] | None = None) -> Any:
    """Evaluate expression ``text`` against ad ``my`` (and ``target``)."""
    try:
        return Scope(my, target).eval(parse(text))
    except ParseError:
        return ERROR


def is_true(text: str | Expr | Any, my: dict[str, Any], target: dict | None = None) -> bool:
    if isinstance(text, Expr):
        text = text.text
    if isinstance(text, bool):
        return text
    if not isinstance(text, str):
        return False
    return evaluate(text, my, target) is True


def escape_string(s: str) -> str:
    return s.replace("\\", "\\\\").replace('"', '\\"')


def unparse_value(v: Any) -> str:
    """ClassAd text of a value (as ``condor_q -long`` prints it)."""
    if v is None or v is UNDEFINED:
        return "undefined"
    if v is ERROR:
        return "error"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        text = f"{v:.16G}"
        return text if any(c in text for c in ".Ee") else text + ".0"
    if isinstance(v, Expr):
        return v.text
    if isinstance(v, list):
        return "{ " + ",".join(unparse_value(x) for x in v) + " }"
    return '"' + escape_string(str(v)) + '"'
