"""The docs cover every hook and every option (they are generated; this keeps them so)."""

from __future__ import annotations

import importlib.util
import inspect
import json
import re
from pathlib import Path

import pytest
from jobspawner.contract import hookspecs
from jobspawner.facade.backend import SHIPPED_BACKENDS

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _load(name):
    spec = importlib.util.spec_from_file_location(name, DOCS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_hook_spec_has_a_docstring_with_its_contract():
    specs = [f for _, f in inspect.getmembers(hookspecs, inspect.isfunction)
             if hasattr(f, "jobspawner_spec")]  # fmt: skip
    assert len(specs) >= 15
    for fn in specs:
        assert fn.__doc__ and len(fn.__doc__.strip()) > 60, fn.__name__
        assert "Example" in fn.__doc__, f"{fn.__name__} has no example"


def test_hooks_doc_is_up_to_date():
    assert (DOCS / "hooks.md").read_text() == _load("gen_hooks").render()


def test_hooks_doc_is_grouped_by_lifecycle_without_sphinx_roles():
    text = (DOCS / "hooks.md").read_text()
    assert not re.search(r":(func|class|meth|mod|data|attr|exc):`", text)
    titles = re.findall(r"^## (.+)$", text, re.M)
    assert titles == [title for title, _ in _load("gen_hooks").GROUPS]
    assert text.index("### `submit_command") < text.index("### `status_command")
    assert text.index("### `status_command") < text.index("### `cancel_command")


def test_configuration_doc_is_up_to_date():
    assert (DOCS / "configuration.md").read_text() == _load("gen_config").render()


def test_backend_option_tables_are_up_to_date():
    gen = _load("gen_backend_options")
    for page, names in gen.PAGES.items():
        text = (DOCS / "backends" / page).read_text()
        for name in names:
            assert f"<!-- options:{name} -->" in text, f"{page} lacks the {name} table"
        assert text == gen.render(text), f"docs/backends/{page}: run docs/gen_backend_options.py"


def test_fidelity_table_is_up_to_date():
    gen = _load("gen_fidelity")
    text = (DOCS / "backends" / "index.md").read_text()
    assert "<!-- fidelity -->" in text and "<!-- /fidelity -->" in text
    assert text == gen.render(text), "docs/backends/index.md: run docs/gen_fidelity.py"


def test_fidelity_data_has_one_well_formed_entry_per_backend(tmp_path):
    gen = _load("gen_fidelity")
    entries = gen.load()
    assert [e["name"] for e in entries] == list(gen.BACKENDS)
    assert set(SHIPPED_BACKENDS) | {"slurm over ssh"} == set(gen.BACKENDS)
    for broken, message in [
        ('name = "slurm"', "the entries must be"),
        ('ci_kind = "real daemon"', "ci_kind must be one of"),
        ("date = 2026-11-22", "date is a bare YYYY-MM-DD"),
    ]:
        original = gen.DATA.read_text()
        assert broken in original
        replacement = {
            'name = "slurm"': 'name = "slurm-typo"',
            'ci_kind = "real daemon"': 'ci_kind = "realish"',
            "date = 2026-11-22": 'date = "late November"',
        }[broken]
        path = tmp_path / "fidelity.toml"
        path.write_text(original.replace(broken, replacement, 1))
        with pytest.raises(ValueError, match=message):
            gen.load(path)


def test_fidelity_pbspro_entry_matches_the_recorded_openpbs_provenance():
    gen = _load("gen_fidelity")
    (pbspro,) = [e for e in gen.load() if e["name"] == "pbspro"]
    root = DOCS.parent / "tests" / "torque" / "fixtures" / "openpbs"
    provenance = json.loads((root / "provenance.json").read_text())
    (check,) = pbspro["checked"]
    assert check["date"].isoformat() == provenance["recorded"][:10]
    assert f"OpenPBS {provenance['openpbs_version']}" in check["system"]
    assert f"commit {provenance['openpbs_commit'][:7]}" in check["system"]
