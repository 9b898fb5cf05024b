"""``jobspawner check`` on a corpus of broken configurations (tests/core/broken_configs).

Each file says the exact lines check must print and its exit status; on every one, each
``[FAIL]`` has a ``fix:`` line, and no problem is reported twice (under two topics)."""

from __future__ import annotations

from pathlib import Path

import pytest
from jobspawner.cli import main

CORPUS = Path(__file__).parent / "broken_configs"
FILES = sorted(p for p in CORPUS.glob("*.py"))


def expectations(path: Path) -> tuple[list[str], int]:
    lines, status = [], None
    for line in path.read_text().splitlines():
        if line.startswith("# check prints: "):
            lines.append(line.removeprefix("# check prints: "))
        elif line.startswith("# exit: "):
            status = int(line.removeprefix("# exit: "))
    assert status is not None, f"{path.name} names no exit status"
    return lines, status


def test_the_corpus_is_not_empty():
    assert len(FILES) >= 10


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_check_on_a_broken_config(path, capsys):
    expected, status = expectations(path)
    assert main(["check", "-f", str(path), "--user", "root"]) == status
    out = capsys.readouterr().out.splitlines()
    for line in expected:
        assert line in out, f"{path.name}: missing line\n{line}\n--- got:\n" + "\n".join(out)
    fails = [i for i, line in enumerate(out) if line.startswith("[FAIL]")]
    assert fails or status == 0
    for i in fails:
        assert out[i + 1].startswith("       fix: "), f"{path.name}: no fix for {out[i]}"
    messages = [out[i].split(": ", 1)[1] for i in fails]
    assert len(messages) == len(set(messages)), f"{path.name}: a problem reported twice"
