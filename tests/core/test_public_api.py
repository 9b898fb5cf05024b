"""Backends use the public API only: what ``jobspawner`` exports (``__all__``)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import jobspawner

ROOT = Path(__file__).resolve().parents[2]
#: The modules a backend may import from (its tests may use the kit too).
PUBLIC = {"jobspawner", "jobspawner.testing"}


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
        elif isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
    return found


def test_plugins_import_only_the_public_api() -> None:
    sources = sorted(ROOT.glob("plugins/*/jobspawner_*/**/*.py"))
    assert len(sources) > 30
    private = [
        f"{path.relative_to(ROOT)}: {module}"
        for path in sources
        for module in _imports(path)
        if module.startswith("jobspawner.") and module not in PUBLIC
    ]
    assert not private, "import these from jobspawner (add them to its __all__):\n" + "\n".join(
        private
    )


def test_every_exported_name_resolves() -> None:
    for name in jobspawner.__all__:
        assert getattr(jobspawner, name) is not None, name


def test_job_side_import_stays_light() -> None:
    """The job-side helpers import the package: neither JupyterHub nor Jinja2 come with it."""
    code = (
        "import sys, jobspawner; "
        "print(sorted(m for m in ('jinja2', 'jupyterhub') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
