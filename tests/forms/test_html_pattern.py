"""Options' regexes as HTML ``pattern`` attributes valid under the browser's ``v`` flag
(jobspawner.choices.html_pattern); tests/browser/test_form_words.py checks the same table in
Chromium, against Python's ``re.fullmatch``."""

from __future__ import annotations

import re

import pytest

#: (Python regex, the pattern the form gets, or None: none, the hub alone checks)
TRANSLATIONS = [
    ("[A-Za-z0-9_-]{1,40}", r"[A-Za-z0-9_\-]{1,40}"),
    ("[a-z][a-z0-9_-]{0,31}", r"[a-z][a-z0-9_\-]{0,31}"),
    (r"[.+]\d+", r"[\.\+]\p{Nd}+"),
    (r"\w+(\.\w+)?", r"[\p{L}\p{N}_]+(\.[\p{L}\p{N}_]+)?"),
    (r"proj-\d{3,}", r"proj-\p{Nd}{3,}"),
    (r"a\-b", "a-b"),
    (r"\Aabc\Z", "abc"),
    ("x{,3}", "x{0,3}"),
    ("a{b", r"a\{b"),
    ("[]a]", r"[\]a]"),
    ("[^-a]", r"[^\-a]"),
    ("(?:gpu|cpu)s?", "(?:gpu|cpu)s?"),
    ("(?P<n>a)", "(?<n>a)"),
    ("[&&]", r"[\&\&]"),
    ("(?i)abc", None),
    (r"(a)\1", None),
    (r"\bword", None),
    ("a*+", None),
    (r"[\W]", None),
    ("", None),
]


@pytest.mark.parametrize(("regex", "pattern"), TRANSLATIONS)
def test_regexes_become_v_flag_patterns_or_none(regex, pattern):
    from jobspawner.choices.html_pattern import html_pattern

    if regex:
        re.compile(regex)  # every case is a regex an admin may configure
    assert html_pattern(regex) == pattern
