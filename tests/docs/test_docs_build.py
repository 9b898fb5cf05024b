"""The docs site builds with Sphinx + MyST, warnings as errors (as `./run docs` does)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

from harness.strict import need

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_docs_build_without_warnings(tmp_path):
    have = all(importlib.util.find_spec(m) for m in ("sphinx", "myst_parser"))
    need(have, "sphinx and myst-parser are not installed in the test environment")
    out = tmp_path / "html"
    result = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
         "-d", str(tmp_path / "doctrees"), str(DOCS), str(out)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-4000:]
    for page in ("index", "quickstart", "troubleshooting", "migrating-from-batchspawner",
                 "configuration", "hooks", "security", "backends/slurm"):  # fmt: skip
        assert (out / f"{page}.html").is_file(), page
