"""The lsf backend passes the backend contract of ``jobspawner.testing`` (emulated cluster)."""

from __future__ import annotations

import pytest
from jobspawner.testing import BackendContract, Target
from lsf.lsfkit import Emulator

from .test_lsf_integration import EMULATOR_ENV, USER


@pytest.fixture
def jobspawner_target(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> Target:
    for name, value in emulator.env.items():
        monkeypatch.setenv(name, value)
    return Target(
        backend="lsf",
        logs=f"{emulator.outdir()}/{USER}",
        prefix=("runuser", "-u", USER, "--"),
        command_env_keep=tuple(EMULATOR_ENV),
        username=USER,
        timeout=20,
        patience=20,
        hold=lambda job_id: ["bstop", job_id],  # its owner stops it where it runs (USUSP)
        other_prefix=("runuser", "-u", "bob", "--"),
    )


class TestLsfContract(BackendContract):
    """Every contract test, on the LSF emulator (the failing job's exit code and log tail
    are tested here, no longer in test_lsf_integration)."""
