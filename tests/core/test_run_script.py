"""``./run``: a hatch environment made from other pyproject files than the checkout's is made
again before it is used (hatch installs the project once, when it makes an environment: an
older environment keeps the old entry points while its code follows the checkout). A machine
that keeps its environments between checkouts ran every hub on a stale entry point before."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

#: Stands in for hatch: logs each call; ``env find/create/remove`` act on a folder per env.
FAKE_HATCH = """#!/bin/bash
echo "$*" >>"$LOG"
case "$1 $2" in
  "env find") echo "$ENVS/$3" ;;
  "env create") [ -d "$ENVS/$3" ] || mkdir -p "$ENVS/$3" ;;
  "env remove") rm -rf "$ENVS/$3" ;;
esac
"""


def project(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    shutil.copy(ROOT / "run", tmp_path / "run")
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')
    (tmp_path / "plugins" / "a").mkdir(parents=True)
    (tmp_path / "plugins" / "a" / "pyproject.toml").write_text('[project]\nname = "a"\n')
    hatch = tmp_path / ".venv" / "bin" / "hatch"
    hatch.parent.mkdir(parents=True)
    hatch.write_text(FAKE_HATCH)
    hatch.chmod(0o755)
    env = {"PATH": "/usr/bin:/bin", "LOG": str(tmp_path / "log"), "ENVS": str(tmp_path / "envs")}
    return tmp_path, env


def run(root: Path, env: dict[str, str], *args: str) -> list[str]:
    """``./run ARGS``; the hatch calls it made."""
    log = Path(env["LOG"])
    log.write_text("")
    subprocess.run([str(root / "run"), *args], env=env, check=True, capture_output=True)
    return log.read_text().splitlines()


def test_an_environment_is_made_once_and_again_when_a_pyproject_changed(tmp_path: Path) -> None:
    root, env = project(tmp_path)
    assert run(root, env, "tests", "-x") == [
        "env find test",
        "env create test",
        "run test:all -x",
    ]
    assert run(root, env, "tests") == ["env find test", "run test:all"]  # up to date
    # a plugin's entry points changed: the environment is made again
    (root / "plugins" / "a" / "pyproject.toml").write_text('[project]\nname = "a"\n# new\n')
    assert run(root, env, "tests") == [
        "env find test",
        "env remove test",
        "env create test",
        "run test:all",
    ]
    assert run(root, env, "tests") == ["env find test", "run test:all"]


def test_an_environment_made_before_the_record_existed_is_made_again(tmp_path: Path) -> None:
    root, env = project(tmp_path)
    (tmp_path / "envs" / "hubs.5.3.0").mkdir(parents=True)  # made by hatch alone
    assert run(root, env, "env", "hubs.5.3.0") == [
        "env find hubs.5.3.0",
        "env remove hubs.5.3.0",
        "env create hubs.5.3.0",
    ]
    assert run(root, env, "env", "hubs.5.3.0") == ["env find hubs.5.3.0"]
