"""The layers are import contracts (``[tool.importlinter]`` in pyproject.toml, checked by
``./run lint``): they hold on the tree, and each one fails when its rule is broken on purpose
(one deliberate violation per contract, in a copy of the packages)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = {
    "jobspawner": ROOT / "core" / "jobspawner",
    **{p.name: p for p in sorted((ROOT / "plugins").glob("*/jobspawner_*"))},
}
CONTRACTS = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"][
    "contracts"
]
#: One import that breaks each contract: (contract id, the module, the line appended to it).
VIOLATIONS = [
    ("job-side", "jobspawner/jobside/job_supervisor.py", "import jobspawner.lifecycle.poller"),
    ("job-side", "jobspawner/jobside/singleuser.py", "import pluggy"),
    ("job-runner", "jobspawner/jobside/local_jobs.py", "import tornado"),
    ("public-api", "jobspawner/__init__.py", "import jinja2"),
    ("contract-modules", "jobspawner/contract/status.py", "from jobspawner import spawner"),
    ("contract-modules", "jobspawner/contract/jobspec.py", "import tornado"),
    ("layers", "jobspawner/contract/jobspec.py", "import jobspawner.facade.backend"),
    ("layers", "jobspawner/lifecycle/poller.py", "from jobspawner.web import hub_start"),
    ("layers", "jobspawner/boundary/log_reads.py", "import jobspawner.transport.ssh"),
    ("spawner-no-web", "jobspawner/spawner.py", "from jobspawner.web import hub_start"),
    ("lifecycle-no-spawner", "jobspawner/lifecycle/last_end.py", "from jobspawner import spawner"),
    ("lifecycle-no-spawner", "jobspawner/web/session_view.py", "import jobspawner.spawner"),
    (
        "plugins-public-api",
        "jobspawner_lsf/hooks.py",
        "from jobspawner.facade.defaults import submit",
    ),
    ("slurm-shared", "jobspawner_firecrest/convert.py", "from jobspawner_slurm import parsers"),
]


def lint_imports(source: Path) -> subprocess.CompletedProcess[str]:
    """``lint-imports`` with the project's contracts on the packages under ``source``."""
    program = shutil.which("lint-imports", path=os.path.dirname(sys.executable))
    assert program, "import-linter is not installed (the test and lint environments have it)"
    env = {**os.environ, "PYTHONPATH": str(source)}
    return subprocess.run(
        [program, "--config", str(ROOT / "pyproject.toml"), "--no-cache"],
        cwd=source,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def name_of(contract_id: str) -> str:
    return next(c["name"] for c in CONTRACTS if c["id"] == contract_id)


@pytest.fixture(scope="module")
def packages(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the core's and every plugin's package (no tests, no caches)."""
    source = tmp_path_factory.mktemp("layers")
    for name, path in PACKAGES.items():
        shutil.copytree(path, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    return source


def test_every_contract_holds_on_the_tree(packages: Path) -> None:
    run = lint_imports(packages)
    assert run.returncode == 0, run.stdout + run.stderr
    for contract in CONTRACTS:
        assert f"{contract['name']} KEPT" in run.stdout


def test_each_contract_fails_on_a_deliberate_violation(packages: Path) -> None:
    assert {c["id"] for c in CONTRACTS} == {v[0] for v in VIOLATIONS}, "a contract untested"
    for _, module, line in VIOLATIONS:
        with (packages / module).open("a") as f:
            f.write(f"\n{line}  # a deliberate violation\n")
    run = lint_imports(packages)
    assert run.returncode == 1, run.stdout + run.stderr
    for contract_id, module, line in VIOLATIONS:
        assert f"{name_of(contract_id)} BROKEN" in run.stdout, (contract_id, run.stdout)
        importer = module.removesuffix(".py").removesuffix("/__init__").replace("/", ".")
        assert importer in run.stdout, (importer, line)
