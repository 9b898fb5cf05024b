"""Torque, PBS Pro and Moab pass the backend contract of ``jobspawner.testing`` (emulator)."""

from __future__ import annotations

import secrets
import shutil
from collections.abc import Iterator
from typing import Any

import pytest
from jobspawner.facade.backend import load_backend
from jobspawner.testing import BackendContract, Target

from .test_integration import ALICE, FLAVOURS, _users_and_root  # noqa: F401  (autouse fixture)


@pytest.fixture(params=FLAVOURS)
def jobspawner_target(request: Any, make_emulator: Any, monkeypatch: Any) -> Iterator[Target]:
    flavour = request.param
    emu = make_emulator(flavour, keep_completed=60, nodes={"vm": 4})
    monkeypatch.setenv("PBSEMU_SPOOL", str(emu.spool))
    declared = load_backend(flavour).option_declarations().options
    logs = f"/home/alice/.pbsemu-contract-{secrets.token_hex(4)}"
    yield Target(
        backend=flavour,
        logs=logs,
        options={k: v for k, v in emu.options().items() if k in declared},
        prefix=ALICE,
        command_env_keep=("PBSEMU_*",),
        timeout=20,
        patience=20,
        # qhold of a running job: checkpointed, requeued and held (see pbsemu.hold_running)
        hold=lambda job_id: [str(emu.bin / "qhold"), job_id],
        other_prefix=("runuser", "-u", "bob", "--"),
    )
    shutil.rmtree(logs, ignore_errors=True)


class TestPbsFamilyContract(BackendContract):
    """Every contract test, on the Torque, PBS Pro and Moab emulators (the failing job's exit
    code, words and log tail are tested here, no longer in test_integration)."""
