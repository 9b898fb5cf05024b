"""What the hub keeps of a job's output (the spawner's state, in its database) is capped."""

from __future__ import annotations

import asyncio
import json

import pytest
from jobspawner.contract.status import JobState, JobStatus
from jobspawner.facade.hub_compat import SpawnException
from jobspawner.lifecycle import last_end

from .test_spawner_unit import make_spawner

#: What one server's state may take in the hub's database, whatever its job printed.
STATE_LIMIT = 16 * 1024


def state_size(spawner) -> int:
    return len(json.dumps(spawner.get_state()))  # as JupyterHub stores it (ensure_ascii)


async def test_a_start_whose_job_prints_a_30_mib_line_keeps_a_small_state(tmp_path):
    script = (
        "head -c 31457280 /dev/zero | tr '\\0' x; echo; "
        "printf '\\360\\237\\230\\200%.0s' $(seq 3000); echo; echo 'Error: bad config'; exit 3"
    )
    spawner = make_spawner(tmp_path, cmd=["bash", "-c", script])
    with pytest.raises(SpawnException) as e:
        await asyncio.wait_for(spawner.start(), 30)
    assert state_size(spawner) < STATE_LIMIT
    message = spawner.record.last_failure["message"]
    assert message.startswith("Your server could not start. Job ")
    assert message.endswith("Error: bad config") and "characters cut" in message
    assert len(e.value.jupyterhub_message.encode()) < STATE_LIMIT


async def test_the_record_of_an_ended_server_keeps_a_small_state(tmp_path):
    spawner = make_spawner(tmp_path)
    spawner.orm_spawner = None
    output = tmp_path / "job.log"
    output.write_text(("\U0001f600" * 900 + "\n") * 150 + "\x01" * 5000 + "\nlast\n")
    spawner.job_id, spawner.job_output = "480", str(output)
    reason = "\u2028\U0001f600" * 5000
    await last_end.note_end(spawner, JobStatus(JobState.FAILED, reason=reason))
    assert spawner.record.last_end["log_tail"].endswith("last")
    assert state_size(spawner) < STATE_LIMIT


def test_a_state_saved_before_the_cap_is_cut_when_loaded(tmp_path):
    spawner = make_spawner(tmp_path)
    huge = "Your server could not start. Job 1 ended.\n" + "x" * 5_000_000 + "\nthe end"
    tail = "\U0001f600" * 1_000_000
    spawner.load_state(
        {
            "version": 1,
            "last_failure": {"message": huge, "time": 1.0},
            "last_end": {"job_id": "1", "words": "w" * 100_000, "log_tail": tail},
        }
    )
    assert state_size(spawner) < STATE_LIMIT
    message = spawner.record.last_failure["message"]
    assert message.startswith("Your server could not start.") and message.endswith("the end")
