"""The demo's generated hub configuration: as root, no login gets a root notebook server."""

from __future__ import annotations

import os
import pwd
from pathlib import Path

import pytest
from harness.strict import need_root
from jobspawner import demo
from traitlets.config import Config


class Exec(Exception):
    """Stands in for os.execv: the demo would start the hub here."""


def run_demo(monkeypatch, tmp_path: Path, euid: int, capsys) -> tuple[Config, str]:
    """Run the demo's main() up to starting the hub; return its configuration and output."""
    me = pwd.getpwuid(os.getuid())
    monkeypatch.setattr(demo.os, "geteuid", lambda: euid)
    monkeypatch.setattr(demo, "find_or_install_chp", lambda folder: "/usr/bin/chp")
    # no system account and no environment build in a unit test: record what was asked
    asked: list[str] = []

    def account(name, home):
        asked.append(name)
        return pwd.struct_passwd((name, "x", me.pw_uid, me.pw_gid, "", str(home), "/bin/false"))

    def jobenv(target):
        (target / "bin").mkdir(parents=True, exist_ok=True)
        return target / "bin" / "python"

    monkeypatch.setattr(demo, "ensure_account", account, raising=False)
    monkeypatch.setattr(demo, "build_jobenv", jobenv, raising=False)

    def execv(program, argv):
        raise Exec(argv)

    monkeypatch.setattr(demo.os, "execv", execv)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(demo, "JOB_FOLDER", tmp_path / "jobs", raising=False)
    with pytest.raises(Exec):
        demo.main(["--folder", str(tmp_path / "demo")])
    c = Config()
    source = (tmp_path / "demo" / "jupyterhub_config.py").read_text()
    exec(compile(source, "jupyterhub_config.py", "exec"), {"get_config": lambda: c})
    return c, capsys.readouterr().out + "".join(f"\nasked for account {a}" for a in asked)


def test_as_root_every_server_runs_as_the_demo_account(monkeypatch, tmp_path, capsys):
    c, out = run_demo(monkeypatch, tmp_path, 0, capsys)
    spawner = c.JobSpawner
    assert spawner.exec_prefix == ["runuser", "-u", "jobspawner-demo", "--"]
    assert "root" not in spawner.exec_prefix
    assert "asked for account jobspawner-demo" in out
    assert "--allow-root" not in spawner.get("args", [])
    assert "--allow-root" not in repr(dict(spawner))
    # what the job runs and writes is in the servers' folder, not under root's environment
    jobs = tmp_path / "jobs"
    assert spawner.backend_options["python"] == str(jobs / "jobenv" / "bin" / "python")
    assert spawner.cmd == [str(jobs / "jobenv" / "bin" / "jobspawner-singleuser")]
    assert spawner.workdir == str(jobs / "notebooks")
    assert spawner.log_dir == str(jobs / "logs" / "{username}")
    for sub in ("notebooks", "logs"):
        assert (jobs / sub).stat().st_mode & 0o777 == 0o700
    assert (jobs).stat().st_mode & 0o777 == 0o755 and jobs.stat().st_uid == 0
    # and the demo says so
    assert "unprivileged account jobspawner-demo" in out and "never as root" in out


def test_as_a_user_servers_run_as_that_user(monkeypatch, tmp_path, capsys):
    c, out = run_demo(monkeypatch, tmp_path, 1000, capsys)
    spawner = c.JobSpawner
    assert spawner.get("exec_prefix", []) == []
    assert "--allow-root" not in spawner.get("args", [])
    assert spawner.workdir == str(tmp_path / "demo" / "notebooks")
    assert "runs as you" in out


def test_the_demo_account_is_an_unprivileged_system_account():
    need_root()
    account = demo.ensure_account(demo.DEMO_ACCOUNT, demo.JOB_FOLDER / "home")
    assert account.pw_name == "jobspawner-demo"
    assert account.pw_uid != 0 and account.pw_gid != 0
    assert account.pw_shell in ("/usr/sbin/nologin", "/sbin/nologin", "/bin/false")
