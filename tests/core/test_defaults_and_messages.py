"""Defaults that fit batch jobs, and messages that say what happened."""

from __future__ import annotations

import logging
import os
import pwd
import subprocess
import sys
from types import SimpleNamespace

import pytest
from jobspawner.choices.hub_limits import limits_as_requests
from jobspawner.contract.commands import Command, CommandResult
from jobspawner.facade.hub_compat import SpawnException
from jobspawner.facade.submit_errors import REFUSED, UNREACHABLE, submit_problem
from jobspawner.lifecycle.start_clock import StartClock
from jobspawner.spawner import JobSpawner
from jupyterhub.objects import Hub


def make(tmp_path, **config):
    name = pwd.getpwuid(os.geteuid()).pw_name
    user = SimpleNamespace(name=name, url=f"/user/{name}/", escaped_name=name, id=1)
    return JobSpawner(
        user=user,
        hub=Hub(ip="127.0.0.1", port=8081, base_url="/hub/"),
        api_token="secret-token-xyz",
        oauth_client_id=f"jupyterhub-user-{name}",
        log_dir=str(tmp_path / "logs"),
        workdir=str(tmp_path),
        backend_options={"python": sys.executable, "spool": str(tmp_path / "spool")},
        **{"allow_root_jobs": True, **config},
    )


def test_generate_config_shows_jobspawner_defaults(tmp_path):
    out = tmp_path / "generated.py"
    subprocess.run(
        [sys.executable, "-m", "jupyterhub", "--generate-config", "-f", str(out)],
        check=True,
        capture_output=True,
        cwd=tmp_path,
        timeout=120,
    )
    text = out.read_text()
    section = text[text.index("# JobSpawner(Spawner) configuration") :]
    assert "#  Default: ['jobspawner-singleuser']" in section
    assert "#  Default: '0.0.0.0'" in section
    assert "#  Default: ['LANG', 'LC_ALL']" in section
    assert "#  Default: 7560" in section
    assert "# c.JobSpawner.queue_timeout = 7200.0" in section


def test_timeout_defaults_leave_jupyterhub_the_last_word():
    spawner = JobSpawner()
    assert spawner.start_timeout > spawner.queue_timeout + spawner.server_start_timeout


def test_start_clock_queue_then_server_limits():
    clock = StartClock(queue_timeout=100, server_start_timeout=10, start_timeout=1000, began=0)
    assert clock.expired(now=99) is None
    assert clock.expired(now=101) == "queue"
    clock = StartClock(queue_timeout=100, server_start_timeout=10, start_timeout=1000, began=0)
    clock.running(now=95)
    assert clock.expired(now=101) is None  # running: the queue limit no longer applies
    assert clock.expired(now=106) == "server"
    clock = StartClock(queue_timeout=100, server_start_timeout=10, start_timeout=50, began=0)
    assert clock.expired(now=46) == "start"  # JupyterHub's own limit is lower: stop first


def test_job_env_has_the_users_account_whatever_the_prefix(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", "/nonexistent-hub-home")
    spawner = make(tmp_path, exec_prefix="sudo -E -u {username}")
    env = spawner.build_spec().env
    entry = pwd.getpwuid(os.geteuid())
    assert env["HOME"] == entry.pw_dir and env["USER"] == entry.pw_name
    assert env["LOGNAME"] == entry.pw_name and env["SHELL"] == entry.pw_shell
    assert f"export HOME={entry.pw_dir}" in spawner.render(spawner.build_spec())


def test_hub_limits_become_requests_unless_req_is_set(tmp_path):
    assert limits_as_requests(4 * 1024**3, 1.5, None) == {"memory": "4096M", "cpus": 2}
    assert limits_as_requests(None, None, None) == {}
    spawner = make(tmp_path, mem_limit="2G", cpu_guarantee=3.0)
    assert spawner.resources()["memory_mb"] == 2048 and spawner.resources()["cpus"] == 3
    spawner = make(tmp_path, mem_limit="2G", req_memory="8G")
    assert spawner.resources()["memory_mb"] == 8192


async def test_foreign_server_command_fails_the_spawn_at_once(tmp_path, caplog):
    spawner = make(tmp_path, cmd=["jupyterhub-singleuser"])
    with pytest.raises(SpawnException) as e:
        await spawner.start()
    assert "ask an administrator" in e.value.message
    assert "jobspawner-singleuser" in caplog.text and spawner.job_id == ""


async def test_script_and_commands_logged_at_debug(tmp_path, caplog):
    # should the server's token reach the script (here through the site's prologue)
    spawner = make(tmp_path, prologue="echo secret-token-xyz")  # make: that token
    spawner.log = logging.getLogger("test-admin-debug")
    caplog.set_level(logging.DEBUG, logger="test-admin-debug")
    assert "secret-token-xyz" in spawner.prepare_job().script  # what a start submits
    await spawner.context().run(Command(["true"]))
    assert "job script:" in caplog.text and "exec jobspawner-singleuser" in caplog.text
    assert "secret-token-xyz" not in caplog.text and "<redacted>" in caplog.text
    assert "running true" in caplog.text and "`true` exited 0" in caplog.text


@pytest.mark.parametrize(
    ("stderr", "problem"),
    [
        ("sbatch: error: Batch job submission failed: Unable to contact slurm controller "
         "(connect failure)", UNREACHABLE),
        ("error: commlib error: got select error (Connection refused)\nunable to contact "
         "qmaster using port 6444", UNREACHABLE),
        ("sbatch: error: Batch job submission failed: Invalid account or account/partition "
         "combination specified", REFUSED),
    ],
)  # fmt: skip
def test_unreachable_controller_is_not_a_refusal(stderr, problem):
    from jobspawner_slurm.parsers import parse_sbatch

    result = CommandResult(Command(["sbatch"]), 1, "", stderr)
    assert submit_problem(result) == problem
    with pytest.raises(Exception) as e:
        parse_sbatch(result)
    assert problem in str(e.value)
