"""The layers are import contracts (``[tool.importlinter]`` in pyproject.toml, checked by
``./run lint``): they hold on the tree, and each one fails when its rule is broken on purpose
(one deliberate violation per contract, in a copy of the packages)."""

from __future__ import annotations

import ast
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
    ("layers", "jobspawner/choices/profiles.py", "from jobspawner.lifecycle import job_record"),
    ("spawner-no-web", "jobspawner/spawner.py", "from jobspawner.web import hub_start"),
    ("lifecycle-no-spawner", "jobspawner/lifecycle/last_end.py", "from jobspawner import spawner"),
    ("lifecycle-no-spawner", "jobspawner/web/session_view.py", "import jobspawner.spawner"),
    ("choices-no-spawner", "jobspawner/choices/live_view.py", "from jobspawner import spawner"),
    (
        "plugins-public-api",
        "jobspawner_lsf/hooks.py",
        "from jobspawner.facade.defaults import submit",
    ),
    ("slurm-shared", "jobspawner_firecrest/convert.py", "from jobspawner_slurm import parsers"),
]


#: What a folder may not import even under ``if TYPE_CHECKING:`` (import-linter leaves those
#: imports out): the choices room and the lifecycle are typed against their protocols, not the
#: spawner (nor the choices room against the lifecycle's record).
TYPING_RULES = {
    "choices": ("jobspawner.spawner", "jobspawner.lifecycle"),
    "lifecycle": ("jobspawner.spawner",),
}


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


def imported_names(path: Path) -> list[str]:
    """Every module ``path`` imports, at run time or for typing (``from a import b``: a.b)."""
    names = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names += [f"{node.module}.{alias.name}" for alias in node.names]
    return names


def typing_violations(root: Path) -> list[str]:
    """The imports of :data:`TYPING_RULES`' folders that break them: ``module -> name``."""
    found = []
    for folder, forbidden in TYPING_RULES.items():
        for path in sorted((root / "jobspawner" / folder).rglob("*.py")):
            for name in imported_names(path):
                if any(name == f or name.startswith(f"{f}.") for f in forbidden):
                    found.append(f"{path.relative_to(root)} -> {name}")
    return found


def test_no_folder_imports_for_typing_what_it_may_not_import() -> None:
    assert typing_violations(ROOT / "core") == []


def test_a_type_only_import_breaks_the_typing_rules(tmp_path: Path) -> None:
    shutil.copytree(PACKAGES["jobspawner"] / "choices", tmp_path / "jobspawner" / "choices")
    with (tmp_path / "jobspawner" / "choices" / "live_view.py").open("a") as f:
        f.write("\nif TYPE_CHECKING:\n    from jobspawner.spawner import JobSpawner\n")
    with (tmp_path / "jobspawner" / "choices" / "user_options.py").open("a") as f:
        f.write("\nif TYPE_CHECKING:\n    import jobspawner.lifecycle.job_record\n")
    assert typing_violations(tmp_path) == [
        "jobspawner/choices/live_view.py -> jobspawner.spawner.JobSpawner",
        "jobspawner/choices/user_options.py -> jobspawner.lifecycle.job_record",
    ]
