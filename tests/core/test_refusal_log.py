"""A refused user option: one WARNING line; JupyterHub's records of it dropped, others kept."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import pytest
from jobspawner.choices import refusal_log
from jobspawner.choices.user_options import refuse


def test_a_refusal_is_one_warning_and_other_errors_still_show(caplog: pytest.LogCaptureFixture):
    log = logging.getLogger("test.refusal_log.hub")
    refusal_log.install(log)
    refusal_log.install(log)  # idempotent
    assert log.filters.count(refusal_log._FILTER) == 1
    spawner = SimpleNamespace(log=log, log_name="alice")
    refused = refuse("memory: '8G' is more than the maximum, 4G")
    other = RuntimeError("the scheduler is down")
    with caplog.at_level(logging.INFO, logger=log.name):
        refusal_log.note(spawner, refused)  # type: ignore[arg-type]
        refusal_log.note(spawner, refused)  # once per refusal
        try:
            raise refused
        except Exception:
            log.exception("Exception applying user_options for alice")  # dropped
        log.error("Not starting alice's server : %s", refused)  # dropped
        log.warning("400 POST /hub/api/users/alice/server (127.0.0.1): %s", refused.log_message)
        try:
            raise other
        except Exception:
            log.exception("Unhandled error starting alice's server")  # kept, with traceback
        log.error("Not starting bob's server : something else")  # kept
    kept = [(r.levelname, r.getMessage()) for r in caplog.records]
    assert kept == [
        ("WARNING", "jobspawner: refused a user option of alice: memory: '8G' is more than "
                    "the maximum, 4G"),
        ("ERROR", "Unhandled error starting alice's server"),
        ("ERROR", "Not starting bob's server : something else"),
    ]  # fmt: skip
    assert caplog.records[1].exc_info is not None
