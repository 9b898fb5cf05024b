"""An option's regex (Python's syntax) as an HTML ``pattern`` the browser really applies.

Browsers compile ``pattern`` as ``new RegExp("^(?:" + pattern + ")$", "v")``; a pattern that
does not compile under the ``v`` flag is ignored without a word, and the field accepts
anything. Python's syntax differs from the ``v`` flag's in places admins meet daily: a ``-``
at the end of a class (``[A-Za-z0-9_-]``), punctuation in a class (``[.+]``), ``\\-`` or a
literal ``{`` outside one, ``\\w`` and ``\\d`` (Unicode in Python, ASCII in JavaScript).

:func:`html_pattern` translates what it can translate exactly and returns None for anything
else (backreferences, inline flags, ``\\b``...): then the form has no ``pattern`` and the hub
alone checks the value, as it always does. The browser check is a convenience; the hub's
``re.fullmatch`` decides.
"""

from __future__ import annotations

import re

#: Characters JavaScript's ``v`` flag lets (and, in a class, makes) one escape.
_V_ESCAPABLE = frozenset("^$\\.*+?()[]{}|/&-!#%,:;<=>@`~")
#: Escapes whose meaning is the same in both languages.
_SAME = frozenset("ntrfv")
#: Python's class escapes, as ``v``-flag class contents (None: no exact translation).
_SET_IN_CLASS = {
    "d": r"\p{Nd}", "D": r"\P{Nd}", "w": r"\p{L}\p{N}_", "s": r"\s", "S": r"\S", "W": None,
}  # fmt: skip
#: The same outside a class.
_SET_OUTSIDE = {
    "d": r"\p{Nd}", "D": r"\P{Nd}", "w": r"[\p{L}\p{N}_]", "W": r"[^\p{L}\p{N}_]",
    "s": r"\s", "S": r"\S",
}  # fmt: skip
_QUANTIFIER = re.compile(r"\{(\d*)(,?)(\d*)\}")
_HEX = {"x": 2, "u": 4, "U": 8}
_GROUP_OPENERS = ("(?:", "(?=", "(?!", "(?<=", "(?<!")


class _Untranslatable(Exception):
    """The regex uses something the ``v`` flag cannot say the same way."""


def html_pattern(regex: str | None) -> str | None:
    """``regex`` as a ``pattern`` valid under the ``v`` flag and matching the same values
    as ``re.fullmatch(regex, value)``; None when that cannot be guaranteed."""
    if not regex:
        return None
    try:
        return _translate(regex)
    except _Untranslatable:
        return None


def _literal(char: str, in_class: bool) -> str:
    """One character matching itself."""
    if in_class:
        return "\\" + char if char in _V_ESCAPABLE else char
    return "\\" + char if char in "^$\\.*+?()[]{}|/" else char


def _char_escape(regex: str, i: int) -> tuple[str, int]:
    """The escape at ``regex[i] == "\\"`` that stands for one character: (char, next i)."""
    if i + 1 >= len(regex):
        raise _Untranslatable
    e = regex[i + 1]
    if e in _SAME:
        return {"n": "\n", "t": "\t", "r": "\r", "f": "\f", "v": "\v"}[e], i + 2
    if e in _HEX:
        digits = regex[i + 2 : i + 2 + _HEX[e]]
        if len(digits) != _HEX[e] or not all(c in "0123456789abcdefABCDEF" for c in digits):
            raise _Untranslatable
        return chr(int(digits, 16)), i + 2 + _HEX[e]
    if e.isascii() and e.isalnum():
        raise _Untranslatable  # \a, \b, \0, backreferences, \N{...}, \A, \Z...
    return e, i + 2  # an escaped punctuation or non-ASCII character: itself


def _code_point(char: str) -> str:
    """``\\u{...}``: a character by its code point (the ``v`` flag's syntax)."""
    return f"\\u{{{ord(char):x}}}"


def _as_class_char(char: str) -> str:
    """A character inside a ``v``-flag class (control characters as ``\\u{...}``)."""
    if not char.isprintable():
        return _code_point(char)
    return _literal(char, in_class=True)


def _translate_class(regex: str, i: int) -> tuple[str, int]:
    """The class starting at ``regex[i] == "["``: (its translation, the index after it)."""
    i += 1
    negated = regex.startswith("^", i)
    if negated:
        i += 1
    parts: list[str] = []
    first = True

    def atom(j: int) -> tuple[str | None, str, int]:
        """(a single character or None, its v-flag text, next index)."""
        if regex[j] == "\\":
            e = regex[j + 1 : j + 2]
            if e in _SET_IN_CLASS:
                text = _SET_IN_CLASS[e]
                if text is None:
                    raise _Untranslatable
                return None, text, j + 2
            if e == "b":
                return "\b", _as_class_char("\b"), j + 2
            char, k = _char_escape(regex, j)
            return char, _as_class_char(char), k
        return regex[j], _as_class_char(regex[j]), j + 1

    while True:
        if i >= len(regex):
            raise _Untranslatable
        if regex[i] == "]" and not first:
            return "[" + ("^" if negated else "") + "".join(parts) + "]", i + 1
        first = False
        low, low_text, i = atom(i)
        if regex.startswith("-", i) and i + 1 < len(regex) and regex[i + 1] != "]":
            high, high_text, i = atom(i + 1)
            if low is None or high is None:
                raise _Untranslatable  # Python refuses these too
            parts.append(f"{low_text}-{high_text}")
        else:
            parts.append(low_text)


def _translate(regex: str) -> str:
    out: list[str] = []
    quantifiable = False  # may a quantifier follow what was written last?
    groups: list[bool] = []  # for each open group: is it an assertion (not quantifiable)?
    i, n = 0, len(regex)
    while i < n:
        c = regex[i]
        if c == "\\":
            e = regex[i + 1 : i + 2]
            if e in _SET_OUTSIDE:
                out.append(_SET_OUTSIDE[e])
                i += 2
            elif e == "A" and i == 0:
                i += 2  # the pattern is anchored anyway
                quantifiable = False
                continue
            elif e == "Z" and i + 2 == n:
                i += 2
                continue
            else:
                char, i = _char_escape(regex, i)
                out.append(_literal(char, False) if char.isprintable() else _code_point(char))
            quantifiable = True
        elif c == "[":
            text, i = _translate_class(regex, i)
            out.append(text)
            quantifiable = True
        elif c == "(":
            assertion = False
            if regex.startswith("(?P<", i):
                out.append("(?<")
                i += 4
            elif regex.startswith("(?", i):
                opener = next((o for o in _GROUP_OPENERS if regex.startswith(o, i)), None)
                if opener is None:
                    raise _Untranslatable  # inline flags, comments, atomic groups, (?P=...)
                out.append(opener)
                i += len(opener)
                assertion = opener != "(?:"
            else:
                out.append("(")
                i += 1
            groups.append(assertion)
            quantifiable = False
        elif c == ")":
            if not groups:
                raise _Untranslatable
            out.append(c)
            quantifiable = not groups.pop()
            i += 1
        elif c in "*+?" or (c == "{" and _QUANTIFIER.match(regex, i)):
            if not quantifiable:
                raise _Untranslatable
            if c == "{":
                m = _QUANTIFIER.match(regex, i)
                assert m is not None
                low, comma, high = m.groups()
                if not low and not high:
                    raise _Untranslatable  # "{}", "{,}": Python's own reading
                out.append("{" + (low or "0") + comma + high + "}")
                i = m.end()
            else:
                out.append(c)
                i += 1
            if regex.startswith("?", i):  # lazy: the same values match
                out.append("?")
                i += 1
            elif regex.startswith("+", i):
                raise _Untranslatable  # possessive (Python 3.11+)
            quantifiable = False
        else:
            out.append(_literal(c, in_class=False) if c not in "^$.|" else c)
            quantifiable = c not in "^$|"
            i += 1
    return "".join(out)
