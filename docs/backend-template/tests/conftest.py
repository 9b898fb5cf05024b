"""The contract kit's one fixture: what the kit needs to know about the scheduler under test.

The kit itself (``jobspawner.testing``) is a pytest plugin installed with jobspawner.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from jobspawner.testing import Target
from jobspawner_toyq import hooks

TOYQ = Path(__file__).resolve().parents[1] / "toyq" / "toyq"


@pytest.fixture
def jobspawner_target(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Target:
    monkeypatch.setenv("TOYQ_SPOOL", str(tmp_path / "spool"))
    return Target(
        backend="toyq",
        module=hooks,  # test the hooks without installing the package
        logs=str(tmp_path / "logs"),
        options={"toyq": str(TOYQ)},
        command_env_keep=("TOYQ_SPOOL",),
        patience=20,
    )
