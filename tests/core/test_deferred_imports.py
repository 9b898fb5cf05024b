"""The job's server imports ``rfc3987_syntax`` on first use, not at start
(:mod:`jobspawner.jobside.deferred_imports`, issue #23 item 8): the stand-in's contract on a small
package, and jsonschema's IRI checks giving their usual answers through it."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from jobspawner.jobside.deferred_imports import DEFERRED, Deferral, DeferredModule, defer

PACKAGE = "jobspawner_costly_example"
DEFERRAL = Deferral(PACKAGE, functions=("check",))


@pytest.fixture
def costly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """A package whose import appends to the list it yields (each import of it, once)."""
    folder = tmp_path / PACKAGE
    folder.mkdir()
    (folder / "__init__.py").write_text(
        textwrap.dedent(
            """
            import builtins
            builtins.jobspawner_costly_runs.append("package")
            VALUE = 42
            def check(term, value):
                return f"{term}:{value}"
            """
        )
    )
    (folder / "part.py").write_text("WHO = 'part'\n")
    runs: list[str] = []
    monkeypatch.setattr("builtins.jobspawner_costly_runs", runs, raising=False)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield runs
    for name in [m for m in sys.modules if m.split(".")[0] == PACKAGE]:
        del sys.modules[name]


def test_a_deferred_module_runs_at_its_first_call_and_once(costly: list[str]) -> None:
    assert defer(DEFERRAL)
    from jobspawner_costly_example import check  # type: ignore[import-not-found]

    assert costly == []
    assert isinstance(sys.modules[PACKAGE], DeferredModule)
    assert check("iri", "x") == "iri:x"
    assert check(term="iri", value="y") == "iri:y"
    assert costly == ["package"]
    real = sys.modules[PACKAGE]
    assert not isinstance(real, DeferredModule) and real.VALUE == 42


def test_any_other_attribute_imports_the_module(costly: list[str]) -> None:
    assert defer(DEFERRAL)
    import jobspawner_costly_example as module

    assert costly == []
    assert module.VALUE == 42
    assert costly == ["package"]
    assert module.check("a", "b") == "a:b"  # the stand-in still answers, from the real one
    with pytest.raises(AttributeError):
        module.missing  # noqa: B018


def test_a_submodule_imports_under_the_stand_in(costly: list[str]) -> None:
    assert defer(DEFERRAL)
    spec = importlib.util.find_spec(PACKAGE)  # what the stand-in says of itself
    assert spec is not None and spec.origin and spec.origin.endswith("__init__.py")
    from jobspawner_costly_example.part import WHO  # type: ignore[import-not-found]

    assert WHO == "part"
    assert costly == []


def test_nothing_is_deferred_that_is_missing_or_imported(costly: list[str]) -> None:
    assert not defer(Deferral("jobspawner_no_such_module", functions=("check",)))
    assert "jobspawner_no_such_module" not in sys.modules
    assert not defer(Deferral(PACKAGE, functions=("check",), needs=("jobspawner_no_such_need",)))
    assert PACKAGE not in sys.modules
    import jobspawner_costly_example  # noqa: F401

    assert not defer(DEFERRAL)
    assert costly == ["package"]


#: jsonschema's answers for the formats rfc3987_syntax checks (RFC 3987).
IRI_ANSWERS = {
    ("iri", "http://example.org/ä"): True,
    ("iri", "not an iri"): False,
    ("iri", "//example.org/a"): False,
    ("iri-reference", "//example.org/a"): True,
    ("iri-reference", "a b"): False,
}


def test_jsonschema_checks_iris_as_before_and_imports_the_parser_only_then() -> None:
    """In a fresh interpreter, as in the job: jsonschema imports without building the IRI
    parsers, and its IRI checks give RFC 3987's answers (the parsers built at the first)."""
    assert [d.module for d in DEFERRED] == ["rfc3987_syntax"]
    program = textwrap.dedent(
        f"""
        import json, sys
        from jobspawner.jobside.deferred_imports import defer_all
        print(json.dumps(defer_all()))
        import jsonschema
        print(json.dumps("rfc3987_syntax.syntax_helpers" in sys.modules))
        checker = jsonschema.FormatChecker()
        cases = {sorted(IRI_ANSWERS)!r}
        print(json.dumps([checker.conforms(value, form) for form, value in cases]))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=120, check=True
    ).stdout.splitlines()
    assert out[0] == '["rfc3987_syntax"]'
    assert out[1] == "false"  # imported jsonschema, not the parsers
    assert out[2] == str([IRI_ANSWERS[c] for c in sorted(IRI_ANSWERS)]).lower().replace("'", "")
