"""The local backend passes the backend contract of ``jobspawner.testing``."""

from __future__ import annotations

import getpass
import os
import sys
from typing import Any

import pytest
from harness.jobenv import ensure_jobenv
from harness.users import ensure_users
from jobspawner.contract import hookspecs
from jobspawner.testing import COVERAGE, BackendContract, Target


@pytest.fixture
def jobspawner_target(tmp_path: Any) -> Target:
    tmp_path.chmod(0o700)
    python, other = sys.executable, None
    if os.geteuid() == 0:
        # the jobs' Python (a copy of this checkout's core), which bob may run too: his
        # cancel of root's job is refused by the system, not by a Python he cannot start
        ensure_users()
        python, other = str(ensure_jobenv() / "bin" / "python"), ("runuser", "-u", "bob", "--")
    return Target(
        backend="local",
        logs=str(tmp_path / "logs"),
        options={"python": python, "spool": str(tmp_path / "spool")},
        username=getpass.getuser(),
        queues=False,
        patience=20,
        # a local job id is "<supervisor pid>-<start>"; a stopped supervisor is suspended
        hold=lambda job_id: ["kill", "-STOP", job_id.split("-")[0]],
        other_prefix=other,
    )


class TestLocalContract(BackendContract):
    """Every contract test, on the local backend."""


def test_every_hook_has_a_contract_test() -> None:
    specs = {
        name for name in dir(hookspecs) if hasattr(getattr(hookspecs, name), "jobspawner_spec")
    }
    assert specs == set(COVERAGE), f"hooks without a contract test: {specs - set(COVERAGE)}"
    for tests in COVERAGE.values():
        for test in tests:
            assert callable(getattr(BackendContract, test, None)), test


def test_the_kit_is_a_pytest_plugin_through_its_entry_point(pytestconfig: Any) -> None:
    """Installed with the core: pytest loads ``jobspawner.testing`` with no conftest line."""
    from importlib.metadata import entry_points

    (ep,) = [e for e in entry_points(group="pytest11") if e.name == "jobspawner"]
    assert ep.value == "jobspawner.testing"
    plugin = pytestconfig.pluginmanager.get_plugin("jobspawner")
    assert plugin is not None and plugin.__name__ == "jobspawner.testing"
    assert any("jobspawner_contract" in m for m in pytestconfig.getini("markers"))
