"""What a site admin sees from JupyterHub itself: generated config, start-up refusals."""

from __future__ import annotations

import subprocess
import sys

import pytest
from harness.hub import running_hub


def test_generate_config_lists_jobspawner_traits(tmp_path):
    out = tmp_path / "jupyterhub_config.py"
    subprocess.run(
        [sys.executable, "-m", "jupyterhub", "--generate-config", "-f", str(out)],
        check=True,
        capture_output=True,
    )
    text = out.read_text()
    for trait in ("backend", "plugins", "exec_prefix", "batch_script", "req_runtime"):
        assert f"# c.JobSpawner.{trait} =" in text, trait


@pytest.mark.e2e
def test_unknown_backend_stops_the_hub_at_start(tmp_path):
    with running_hub(tmp_path, backend="slurmm", expect_start_failure=True) as hub:
        assert hub.proc.wait(timeout=60) != 0
        log = hub.log_text()
    assert 'No jobspawner backend named "slurmm" is installed' in log
    assert "Installed backends: " in log and "local" in log
    assert 'Did you mean "slurm" (installed)?' in log
    assert "jobspawner-slurmm" not in log


@pytest.mark.e2e
def test_misspelled_site_plugin_hook_stops_the_hub_at_start(tmp_path):
    config = 'c.JobSpawner.plugins = ["core.site_plugins.misspelled"]'
    env = {"PYTHONPATH": str(__import__("pathlib").Path(__file__).parents[1])}
    with running_hub(tmp_path, config=config, env=env, expect_start_failure=True) as hub:
        assert hub.proc.wait(timeout=60) != 0
        assert "submit_comand" in hub.log_text()


@pytest.mark.e2e
def test_a_broken_static_profile_stops_the_hub_at_start_with_the_reason(tmp_path):
    # before: the hub started, and every user's spawn page answered 500 "misconfigured"
    config = (
        'c.JobSpawner.profiles = [{"slug": "small", "display_name": "Small",\n'
        '                          "overrides": {"req_memroy": "4G"}}]\n'
    )
    with running_hub(tmp_path, config=config, expect_start_failure=True) as hub:
        assert hub.proc.wait(timeout=60) != 0
        log = hub.log_text()
    assert "jobspawner cannot start" in log
    assert "'req_memroy' is not a JobSpawner setting a profile can override" in log
    assert "Fix c.JobSpawner.profiles" in log
