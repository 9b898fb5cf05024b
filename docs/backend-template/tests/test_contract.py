"""toyq passes every test of the backend contract."""

from __future__ import annotations

from jobspawner.testing import BackendContract


class TestToyqContract(BackendContract):
    """Submit, status, cancel, logs, exit codes, a scheduler that is down... on toyq."""
