"""The tutorial's template backend (docs/backend-template) passes its own tests, the
contract kit among them, without being installed: the tutorial cannot rot."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parents[2] / "docs" / "backend-template"


def test_the_template_backend_passes_its_tests_and_the_contract() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "tests", "-q", "-p", "no:cacheprovider",
         "-c", "pyproject.toml", "--rootdir", "."],
        cwd=TEMPLATE,
        capture_output=True,
        text=True,
        timeout=240,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    passed = re.search(r"(\d+) passed", run.stdout)
    assert passed and int(passed.group(1)) >= 15, run.stdout[-1000:]
    assert "failed" not in run.stdout


def test_the_tutorial_shows_the_template_as_it_is() -> None:
    """Every code block of docs/writing-a-backend.md marked with a file name is that file."""
    text = (TEMPLATE.parent / "writing-a-backend.md").read_text()
    blocks = re.findall(r"<!-- file: (\S+) -->\n```[a-z]*\n(.*?)```", text, re.S)
    assert len(blocks) >= 3
    for name, body in blocks:
        source = (TEMPLATE / name).read_text()
        assert body.strip() in source, f"the tutorial's {name} differs from the template's"
