"""The session view's data: plain failure messages kept across a restart, readable cards."""

from __future__ import annotations

from jobspawner.facade.hub_compat import SpawnException
from jobspawner.lifecycle.failed_start import plain_failure, record_failure
from jobspawner.web.session_view import describe

from forms.kit import GPU, came_up, make_spawner


def test_a_failure_reads_in_plain_words_and_survives_a_restart(tmp_path):
    spawner = make_spawner(tmp_path)
    e = SpawnException("Job 12 ended before the notebook server started (failed, exit code 3).",
                       reason="job_ended")  # fmt: skip
    record_failure(spawner.record, e)
    assert e.jupyterhub_message.startswith("Your server could not start. Job 12 ended")
    assert "SpawnException" not in e.jupyterhub_message and "reason=" not in e.jupyterhub_message
    spawner.clear_state()  # JupyterHub clears a failed spawner's state: the reason stays
    restarted = make_spawner(tmp_path)
    restarted.load_state(spawner.get_state())
    assert restarted.record.last_failure["message"] == e.jupyterhub_message
    refused = SpawnException("memory: '9G' is too much", reason="user_options")
    assert plain_failure(refused) == "Your choice was refused: memory: '9G' is too much"


async def test_a_stopped_servers_card_offers_to_launch_again_with_its_options(tmp_path):
    spawner = make_spawner(tmp_path, profiles=[GPU])
    spawner.orm_spawner = None
    came_up(spawner, {"profile": "gpu", "gpu": "a100", "memory": "16G"})
    card = await describe(spawner)
    assert card["state"] == "stopped" and card["job_id"] is None
    assert card["resources"]["memory"] == "16384 MiB" and card["resources"]["queue"] == "gpu"
    assert card["relaunch"] == "/hub/spawn/root?opt-profile=gpu&opt-gpu=a100&opt-memory=16G"
