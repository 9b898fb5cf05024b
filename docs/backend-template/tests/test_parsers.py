"""The pure hooks on recorded toyq output: fast, and no scheduler needed."""

from __future__ import annotations

import pytest
from jobspawner import CancelOutcome, CommandError, JobState
from jobspawner.testing import make_spec, recorded
from jobspawner_toyq import hooks


def test_status_lines_become_states_and_exit_codes() -> None:
    out = recorded("11 running -\n12 failed 3\n99 done 0\n")
    statuses = hooks.parse_status(["11", "12", "13"], out)
    assert statuses["11"].state is JobState.RUNNING and statuses["11"].host == "localhost"
    assert (statuses["12"].state, statuses["12"].exit_code) == (JobState.FAILED, 3)
    assert "13" not in statuses and "99" not in statuses  # not listed, not asked about


def test_a_failed_status_query_raises() -> None:
    with pytest.raises(CommandError):
        hooks.parse_status(["11"], recorded("", returncode=1, stderr="spool unreadable"))


def test_runtime_becomes_a_time_limit_with_the_grace() -> None:
    spec = make_spec(runtime="1h", options={"toyq": "toyq", "grace": 30})
    argv = hooks.submit_command(spec, "#!/bin/bash\n").argv
    assert argv[-2:] == ("-t", "3630")


def test_unknown_jobs_are_gone_when_cancelled() -> None:
    result = recorded("cancelled 11\n", returncode=1, stderr="toyq: no job 12\n")
    assert hooks.parse_cancel(["11", "12"], result) == {"12": CancelOutcome.GONE}
