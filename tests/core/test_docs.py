"""The docs cover every hook and every option (they are generated; this keeps them so)."""

from __future__ import annotations

import importlib.util
import inspect
import re
from pathlib import Path

from jobspawner import hookspecs

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
