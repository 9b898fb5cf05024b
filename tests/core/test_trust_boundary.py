"""The hub's side of the trust boundary: command environments, log reading, secrets.

Each test here fails on a hub that passes its environment to commands, reads a user's log
through a planted link, or writes the server's token into the job script.
"""

from __future__ import annotations

import json
import os
import pwd
import stat
from pathlib import Path

import pytest
from harness.strict import need_root
from harness.users import ensure_users
from jobspawner.boundary import user_files
from jobspawner.contract.commands import Command, CommandRunner, command_environment
from jobspawner.contract.context import make_context
from jobspawner.contract.jobspec import SECRETS_FILE_ENV, JobSpec, is_secret
from jobspawner.facade.backend import load_backend
from jobspawner.jobside import singleuser

HUB_SECRET = "hub-secret-7f3a"


# --- commands get a minimal environment --------------------------------------------------


def test_command_environment_keeps_only_allowed_names():
    hub = {
        "PATH": "/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "LC_TIME": "en_GB.UTF-8",
        "SGE_ROOT": "/var/lib/gridengine",
        "CONFIGPROXY_AUTH_TOKEN": HUB_SECRET,
        "JPY_COOKIE_SECRET": HUB_SECRET,
        "MYSITE_LICENSE": "server:1234",
        "HOME": "/root",
    }
    env = command_environment(source=hub)
    assert env == {
        "PATH": "/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "LC_TIME": "en_GB.UTF-8",
        "SGE_ROOT": "/var/lib/gridengine",
    }
    assert command_environment(["MYSITE_*"], source=hub)["MYSITE_LICENSE"] == "server:1234"
    assert command_environment(source={})["PATH"].startswith("/usr/local/sbin")


async def test_runner_does_not_pass_the_hubs_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("JUPYTERHUB_CRYPT_KEY", HUB_SECRET)
    monkeypatch.setenv("MYSITE_VAR", "kept")
    monkeypatch.chdir(tmp_path)
    runner = CommandRunner(env_keep=["MYSITE_*"])
    out = (await runner.run(Command(["env"], env={"OWN": "1"}))).stdout
    assert HUB_SECRET not in out
    assert "MYSITE_VAR=kept" in out and "OWN=1" in out and "PATH=" in out
    # a fixed working folder, never the hub's
    assert (await runner.run(Command(["pwd"]))).stdout.strip() == "/"


# --- the server's token stays out of the job script ---------------------------------------


def _spec(tmp_path: Path, env: dict[str, str]) -> JobSpec:
    return JobSpec.create(
        username="alice",
        job_name="jupyter-alice",
        output_file=str(tmp_path / "logs" / "jupyter-alice.log"),
        workdir=str(tmp_path),
        command=["jobspawner-singleuser"],
        env=env,
    )


def test_secret_names():
    for name in ("JUPYTERHUB_API_TOKEN", "JPY_API_TOKEN", "MY_SECRET", "DB_PASSWORD", "AWS_KEY"):
        assert is_secret(name), name
    for name in ("JUPYTERHUB_API_URL", "JUPYTERHUB_USER", "LANG", "KEYBOARD", "PATH"):
        assert not is_secret(name), name


@pytest.mark.parametrize("backend_name", ["local", "slurm", "sge", "lsf", "torque", "condor"])
def test_token_is_not_in_any_backends_script(tmp_path, backend_name):
    backend = load_backend(backend_name)
    spec = _spec(tmp_path, {"JUPYTERHUB_API_TOKEN": "tok-9c1d", "JUPYTERHUB_USER": "alice"})
    script = backend.render_script(spec, backend.script_template(spec) or "")
    assert "tok-9c1d" not in script
    assert f"export {SECRETS_FILE_ENV}=" in script and "JUPYTERHUB_USER=alice" in script
    commands = backend.prepare_commands(spec)
    write = commands[-1]
    assert json.loads(write.stdin or "") == {"JUPYTERHUB_API_TOKEN": "tok-9c1d"}
    assert "tok-9c1d" not in " ".join(write.argv)  # never on a command line (ps shows those)
    assert user_files.created_path(write) == spec.secrets_file


async def test_secrets_file_is_private_and_never_written_through_a_link(tmp_path):
    backend = load_backend("local")
    spec = _spec(tmp_path, {"JUPYTERHUB_API_TOKEN": "tok-1"})
    ctx = make_context(backend)
    for command in backend.prepare_commands(spec):
        await ctx.run(command)
    info = os.stat(spec.secrets_file)
    assert stat.S_IMODE(info.st_mode) == 0o600
    assert stat.S_IMODE(os.stat(spec.output_file).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.dirname(spec.output_file)).st_mode) == 0o700
    # a link planted where the file goes is refused, its target untouched
    target = tmp_path / "target"
    os.unlink(spec.secrets_file)
    os.symlink(target, spec.secrets_file)
    result = await ctx.run(backend.prepare_commands(spec)[-1], check=False)
    assert not result.ok and not target.exists()


def test_singleuser_reads_and_deletes_the_secrets_file(tmp_path):
    path = tmp_path / "s"
    path.write_text(json.dumps({"JUPYTERHUB_API_TOKEN": "tok-2"}))
    path.chmod(0o600)
    environ = {SECRETS_FILE_ENV: str(path)}
    singleuser.load_secrets(environ)
    assert environ == {"JUPYTERHUB_API_TOKEN": "tok-2"} and not path.exists()
    # twice: the file is gone, and the message says so in plain words
    with pytest.raises(SystemExit, match="can start its server only once"):
        singleuser.load_secrets({SECRETS_FILE_ENV: str(path)})


@pytest.mark.parametrize("mode", [0o640, 0o604])
def test_singleuser_refuses_a_secrets_file_others_can_read(tmp_path, mode):
    path = tmp_path / "s"
    path.write_text("{}")
    path.chmod(mode)
    with pytest.raises(SystemExit, match="mode 0600"):
        singleuser.load_secrets({SECRETS_FILE_ENV: str(path)})


def test_singleuser_refuses_a_linked_secrets_file(tmp_path):
    (tmp_path / "real").write_text("{}")
    (tmp_path / "real").chmod(0o600)
    os.symlink(tmp_path / "real", tmp_path / "s")
    with pytest.raises(SystemExit, match="cannot read"):
        singleuser.load_secrets({SECRETS_FILE_ENV: str(tmp_path / "s")})


# --- the hub reads a job's log only as the user, never through a planted link ------------


@pytest.fixture
def alice_log_dir(tmp_path):
    need_root()
    ensure_users(("alice",))
    alice = pwd.getpwnam("alice")
    folder = tmp_path / "logs"
    folder.mkdir()
    os.chown(folder, alice.pw_uid, alice.pw_gid)
    tmp_path.chmod(0o755)
    return folder, alice


async def test_root_hub_without_prefix_does_not_follow_a_planted_link(alice_log_dir):
    folder, alice = alice_log_dir
    secret = folder.parent / "root-only"
    secret.write_text("root:$6$hash:19000:0:99999:7:::\n")
    secret.chmod(0o600)
    os.symlink(secret, folder / "job.log")
    backend = load_backend("local")
    ctx = make_context(backend, username="alice")
    assert "root:" not in await backend.read_log(ctx, str(folder / "job.log"), 5)
    # a hard link keeps root as the owner: refused too
    os.unlink(folder / "job.log")
    os.link(secret, folder / "job.log")
    assert "root:" not in await backend.read_log(ctx, str(folder / "job.log"), 5)
    # alice's own regular file is read
    os.unlink(folder / "job.log")
    (folder / "job.log").write_text("line 1\nline 2\nline 3\n")
    os.chown(folder / "job.log", alice.pw_uid, alice.pw_gid)
    assert await backend.read_log(ctx, str(folder / "job.log"), 2) == "line 2\nline 3\n"


async def test_log_is_read_through_the_users_prefix(alice_log_dir):
    folder, _alice = alice_log_dir
    secret = folder.parent / "root-only"
    secret.write_text("top secret\n")
    secret.chmod(0o600)
    os.symlink(secret, folder / "job.log")
    backend = load_backend("local")
    ctx = make_context(backend, prefix=["runuser", "-u", "alice", "--"], username="alice")
    assert "top secret" not in await backend.read_log(ctx, str(folder / "job.log"), 5)
