"""Every shell and Python example of the docs (docs/**/*.md, README.md) runs, unless its
source says why it cannot run here.

A fenced block of Python, bash, sh, shell or console is run by default, so a new example is
run without anyone asking. A block that cannot run here has the HTML comment
``<!-- docs-test: not run: REASON -->`` on the line before its fence (the reason is
required); a block marked ``<!-- file: NAME -->`` is part of docs/backend-template, whose
tests run it (tests/core/test_backend_template.py).

- A Python block that configures (``c.``) runs with a fresh ``c`` (``get_config()`` gives
  it too): every setting it gives JobSpawner, Spawner, JupyterHub or Authenticator must be
  one of theirs, JobSpawner must load the settings (types are checked), and the backend's
  options must be ones the backend declares, when that backend is installed.
- Other Python blocks of a page run in order in one namespace, as a reader pastes them.
- Shell blocks run with bash (``-eu -o pipefail``) from the checkout's root, the test
  environment's programs first on PATH; in a console block with ``$`` prompts only the
  prompted lines are commands.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from traitlets.config import Config

ROOT = Path(__file__).resolve().parents[2]
PAGES = sorted([*(ROOT / "docs").rglob("*.md"), ROOT / "README.md"])
PAGES = [p for p in PAGES if "_build" not in p.parts]
SHELLS = {"bash", "sh", "shell", "console"}
_FENCE = re.compile(r"^```([A-Za-z0-9_-]*)[^\n]*\n(.*?)^```\s*$", re.S | re.M)
_NOT_RUN = re.compile(r"<!-- docs-test: not run: (.*?) -->\s*$")
_FILE = re.compile(r"<!-- file: \S+ -->\s*$")


@dataclass(frozen=True)
class Example:
    page: Path
    line: int
    lang: str
    code: str
    not_run: str | None  # the reason written in the doc, or None: it runs

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def examples() -> list[Example]:
    out = []
    for page in PAGES:
        text = page.read_text()
        for m in _FENCE.finditer(text):
            lang = m.group(1).lower()
            if lang not in SHELLS and lang != "python":
                continue
            before = text[: m.start()].rstrip("\n").rsplit("\n", 1)[-1]
            reason = None
            marked = _NOT_RUN.search(before)
            if marked:
                reason = marked.group(1).strip()
            elif _FILE.search(before):
                reason = "part of docs/backend-template (tests/core/test_backend_template.py)"
            line = text.count("\n", 0, m.start()) + 1
            out.append(Example(page, line, lang, m.group(2), reason))
    return out


EXAMPLES = examples()
RUN = [e for e in EXAMPLES if e.not_run is None]


def test_every_example_runs_or_says_why_not():
    assert len(EXAMPLES) > 40 and len(RUN) > 25, (len(EXAMPLES), len(RUN))
    for e in EXAMPLES:
        assert e.not_run is None or len(e.not_run) > 10, f"{e.where}: say why it cannot run"


def _is_config(code: str) -> bool:
    return re.search(r"^c\.", code, re.M) is not None


def _check_config(c: Config, where: str) -> None:
    from jobspawner.facade.backend import BackendError, load_backend
    from jobspawner.spawner import JobSpawner
    from jupyterhub.app import JupyterHub
    from jupyterhub.auth import Authenticator

    known = {"JobSpawner": JobSpawner, "Spawner": JobSpawner, "JupyterHub": JupyterHub,
             "Authenticator": Authenticator}  # fmt: skip
    for section, cls in known.items():
        names = set(cls.class_traits(config=True))
        wrong = sorted(set(c[section]) - names) if section in c else []
        assert not wrong, f"{where}: {section} has no setting {', '.join(wrong)}"
    spawner = JobSpawner(config=c)  # traitlets checks every value's type
    if "backend_options" in c.JobSpawner and not spawner.plugins:
        try:
            backend = load_backend(spawner.backend, [])
        except BackendError:
            return  # a backend this environment does not have (the tutorial's toyq)
        backend.checked_options(dict(spawner.backend_options))


@pytest.mark.parametrize("example", [e for e in RUN if e.lang == "python"], ids=lambda e: e.where)
def test_python_examples_run(example, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    if _is_config(example.code):
        c = Config()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            exec(compile(example.code, example.where, "exec"), {"c": c, "get_config": lambda: c})
        _check_config(c, example.where)
        return
    namespace: dict[str, Any] = {"__name__": "doc_example"}
    earlier = [e for e in RUN if e.page == example.page and e.lang == "python"]
    for e in earlier[: earlier.index(example) + 1]:  # the page's code before it, then it
        if not _is_config(e.code):
            exec(compile(e.code, e.where, "exec"), namespace)


def _commands(example: Example) -> str:
    lines = example.code.splitlines()
    prompted = [line[2:] for line in lines if line.startswith("$ ")]
    return "\n".join(prompted) if example.lang == "console" and prompted else example.code


@pytest.mark.parametrize("example", [e for e in RUN if e.lang in SHELLS], ids=lambda e: e.where)
def test_shell_examples_run(example):
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}"}
    run = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", _commands(example)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, f"{example.where}:\n{run.stdout[-2000:]}\n{run.stderr[-2000:]}"
