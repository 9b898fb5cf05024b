"""The demo's generated hub configuration: as root, no login gets a root notebook server."""

from __future__ import annotations

import os
import pwd
from pathlib import Path

import pytest
from harness.hub import free_port
from harness.strict import need_root
from jobspawner import demo
from traitlets.config import Config, PyFileConfigLoader


class Exec(Exception):
    """Stands in for os.execv: the demo would start the hub here."""


def run_demo(monkeypatch, tmp_path: Path, euid: int, capsys, *extra: str) -> tuple[Config, str]:
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

    def run_hub(folder, config, announce, ip, port):
        print(announce)
        raise Exec(config)

    monkeypatch.setattr(demo, "run_hub", run_hub)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(demo, "JOB_FOLDER", tmp_path / "jobs", raising=False)
    with pytest.raises(Exec):
        demo.main(["--folder", str(tmp_path / "demo"), "--port", str(free_port()), *extra])
    return load_config(tmp_path / "demo" / "jupyterhub_config.py"), capsys.readouterr().out + (
        "".join(f"\nasked for account {a}" for a in asked)
    )


def load_config(path: Path) -> Config:
    """The configuration JupyterHub would load from ``path`` (with its subconfig)."""
    loader = PyFileConfigLoader(path.name, str(path.parent))
    return loader.load_config()


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
    # whatever the login name (bob, the admin's own), the server gets the demo account's home
    assert spawner.job_account == "jobspawner-demo"
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


def test_the_hub_uses_the_shared_password_and_ports_of_its_own(monkeypatch, tmp_path, capsys):
    port = free_port()
    monkeypatch.setenv("JOBSPAWNER_DEMO_PASSWORD", "correct-horse")
    monkeypatch.chdir(tmp_path)
    c, out = run_demo(monkeypatch, tmp_path, 1000, capsys, "--port", str(port))
    assert c.JupyterHub.authenticator_class == "shared-password"
    assert c.SharedPasswordAuthenticator.user_password == "correct-horse"
    assert "DummyAuthenticator" not in repr(dict(c))
    assert c.JupyterHub.bind_url == f"http://127.0.0.1:{port}"
    api_port = int(c.ConfigurableHTTPProxy.api_url.rsplit(":", 1)[1])
    assert len({port, c.JupyterHub.hub_port, api_port}) == 3
    assert {c.JupyterHub.hub_port, api_port}.isdisjoint({8081, 8001})
    assert "correct-horse" in out


def test_a_short_password_is_refused_with_what_to_do(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("JOBSPAWNER_DEMO_PASSWORD", "short")
    with pytest.raises(SystemExit, match="at least 8 characters"):
        run_demo(monkeypatch, tmp_path, 1000, capsys)


def test_a_taken_port_is_refused_with_what_to_do(monkeypatch, tmp_path, capsys):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        with pytest.raises(SystemExit, match=f"127.0.0.1:{port}.*--port"):
            run_demo(monkeypatch, tmp_path, 1000, capsys, "--port", str(port))


def test_an_admins_settings_survive_restarts_and_win(monkeypatch, tmp_path, capsys):
    run_demo(monkeypatch, tmp_path, 1000, capsys)
    overlay = tmp_path / "demo" / "site_config.py"
    assert overlay.exists()
    overlay.write_text(overlay.read_text() + 'c.JobSpawner.req_runtime = "2h"\n')
    # an admin also edited the generated file by hand: kept aside, not lost
    generated = tmp_path / "demo" / "jupyterhub_config.py"
    generated.write_text("c = get_config()  # noqa\nc.JupyterHub.log_level = 'DEBUG'\n")
    c, out = run_demo(monkeypatch, tmp_path, 1000, capsys)
    assert c.JobSpawner.req_runtime == "2h"  # the overlay wins over the demo's "8h"
    assert 'req_runtime = "2h"' in overlay.read_text()  # never overwritten
    kept = list((tmp_path / "demo").glob("jupyterhub_config.py.kept-*"))
    assert len(kept) == 1 and "DEBUG" in kept[0].read_text()
    assert str(kept[0]) in out and "site_config.py" in out


def test_another_settings_file_with_config(monkeypatch, tmp_path, capsys):
    mine = tmp_path / "mine.py"
    mine.write_text('c = get_config()  # noqa\nc.JobSpawner.req_memory = "3G"\n')
    c, _ = run_demo(monkeypatch, tmp_path, 1000, capsys, "--config", str(mine))
    assert c.JobSpawner.req_memory == "3G"
    assert not (tmp_path / "demo" / "site_config.py").exists()


# the demo as a newcomer runs it, but with the servers' side of an ordinary user (as root, the
# real demo builds an environment for its account: minutes, and not what is tested here)
_DEMO = (
    "import sys; from jobspawner import demo; side = demo.prepare_server_side; "
    "demo.prepare_server_side = lambda folder, jobs, root: side(folder, jobs, False); "
    "sys.exit(demo.main(sys.argv[1:]))"
)


def _read_until(proc, lines: list[str], marker: str, timeout: float) -> bool:
    import threading

    found = threading.Event()

    def read():
        for raw in proc.stdout:
            lines.append(raw.decode(errors="replace").rstrip("\n"))
            if marker in lines[-1]:
                found.set()
        found.set()

    threading.Thread(target=read, daemon=True).start()
    found.wait(timeout)
    return any(marker in line for line in lines)


@pytest.mark.e2e
def test_a_real_demo_prints_how_to_log_in_last_and_that_works(tmp_path):
    import signal
    import subprocess
    import sys

    import requests
    from harness.hub import find_chp
    from harness.strict import need

    chp = find_chp()
    need(chp, "configurable-http-proxy is not installed")
    port = free_port()
    overlay = tmp_path / "mine.py"
    # as root, the hub refuses servers running as root unless told this is a test machine
    overlay.write_text("c = get_config()  # noqa\nc.JobSpawner.allow_root_jobs = True\n")
    env = {
        **os.environ,
        "PATH": f"{os.path.dirname(chp)}:{os.environ['PATH']}",
        "JOBSPAWNER_DEMO_PASSWORD": "demo-password-1",
    }
    argv = ["--folder", str(tmp_path / "demo"), "--port", str(port), "--config", str(overlay)]
    proc = subprocess.Popen(
        [sys.executable, "-c", _DEMO, *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,
    )
    lines: list[str] = []
    try:
        assert _read_until(proc, lines, "jobspawner demo: open", 90), "\n".join(lines)
        banner = next(i for i, line in enumerate(lines) if "jobspawner demo: open" in line)
        running = [i for i, line in enumerate(lines) if "JupyterHub is now running" in line]
        assert running and running[0] < banner, "\n".join(lines)
        assert f"http://127.0.0.1:{port}" in lines[banner] and "demo-password-1" in lines[banner]
        output = "\n".join(lines)
        assert "DummyAuthenticator" not in output and "deprecated" not in output.lower()
        assert ":8081" not in output and ":8001" not in output, output
        # the printed password logs in; another does not
        url = f"http://127.0.0.1:{port}/hub/login"
        for password, expected in (("demo-password-1", 302), ("wrong-password", 403)):
            session = requests.Session()
            session.get(url, timeout=10).raise_for_status()
            form = {"username": "newcomer", "password": password}
            form["_xsrf"] = session.cookies.get("_xsrf", "")
            r = session.post(url, data=form, timeout=10, allow_redirects=False)
            assert r.status_code == expected, (password, r.status_code)
    finally:
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def test_a_login_that_is_also_a_unix_account_gets_the_demo_account_s_home(tmp_path):
    # the demo's config with a login name that has its own Unix account (root here):
    # HOME, USER and the {homedir} folders are the demo account's, never the login's
    from types import SimpleNamespace

    from jobspawner.spawner import JobSpawner
    from jupyterhub.objects import Hub

    me = pwd.getpwuid(os.geteuid())
    other = next(p for p in pwd.getpwall() if p.pw_uid != me.pw_uid and p.pw_dir != me.pw_dir)
    spawner = JobSpawner(
        user=SimpleNamespace(name=other.pw_name, url="/user/x/", escaped_name="x", id=1),
        hub=Hub(ip="127.0.0.1", port=8081, base_url="/hub/"),
        api_token="t",
        oauth_client_id="jupyterhub-user-x",
        job_account=me.pw_name,
        allow_root_jobs=True,
        log_dir=str(tmp_path / "logs"),
    )
    env = spawner.get_env()
    assert env["HOME"] == me.pw_dir and env["USER"] == me.pw_name
    assert spawner.build_spec().workdir == me.pw_dir  # {homedir}: the job account's
    spawner.job_account = "{username}"  # the default: the login's own account
    assert spawner.get_env()["HOME"] == other.pw_dir


def test_choosing_the_port_again_right_after_a_browser_left(tmp_path):
    # Ctrl-C with a browser connected leaves the demo's port in TIME_WAIT on the server's
    # side; a restart must not be refused for a minute
    import socket

    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    listener.listen()
    client = socket.create_connection(("127.0.0.1", port))
    served, _ = listener.accept()
    served.close()  # the server side closes first: its end stays in TIME_WAIT
    client.recv(1)
    client.close()
    listener.close()
    plain = socket.socket()
    with pytest.raises(OSError):  # what the demo did before: bind without SO_REUSEADDR
        plain.bind(("127.0.0.1", port))
    plain.close()
    assert demo.choose_ports("127.0.0.1", port).public == port


def test_building_the_servers_environment_shows_progress(tmp_path, capsys):
    fake = tmp_path / "python"
    fake.write_text(
        "#!/bin/sh\necho 'Collecting jupyterlab>=4'\necho '  Downloading x.whl (10 MB)'\n"
        "echo 'Installing collected packages: jupyterlab'\n"
        "echo 'Successfully installed jupyterlab-4.9'\n"
    )
    fake.chmod(0o755)
    demo._pip(fake, "jupyterlab>=4")
    out = capsys.readouterr().out.splitlines()
    assert out == [
        "demo:   Collecting jupyterlab>=4",
        "demo:   Installing collected packages: jupyterlab",
        "demo:   Successfully installed jupyterlab-4.9",
    ]
    fake.write_text("#!/bin/sh\necho 'ERROR: No matching distribution'\nexit 1\n")
    with pytest.raises(SystemExit) as e:
        demo._pip(fake, "nope")
    assert "installing nope" in str(e.value)
    assert "No matching distribution" in capsys.readouterr().err


def test_a_job_account_with_another_placeholder_is_a_config_error(tmp_path):
    from types import SimpleNamespace

    from jobspawner.facade.hub_compat import SpawnException
    from jobspawner.spawner import JobSpawner
    from jupyterhub.objects import Hub

    spawner = JobSpawner(
        user=SimpleNamespace(name="alice", url="/user/alice/", escaped_name="alice", id=1),
        hub=Hub(ip="127.0.0.1", port=8081, base_url="/hub/"),
        api_token="t",
        oauth_client_id="jupyterhub-user-alice",
        job_account="{user}",
        allow_root_jobs=True,
    )
    with pytest.raises(SpawnException) as e:
        spawner.get_env()
    assert "c.JobSpawner.job_account '{user}' has a placeholder other than {username}" in str(
        getattr(e.value, "log_message", e.value)
    )
