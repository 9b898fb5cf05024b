"""End to end: the hub's secrets and the server's token reach no file or process of the user.

The hub runs as root with secrets in its environment (as a real hub holds the proxy's auth
token and the crypt key). Every process of alice's while her server starts and runs is read
from /proc (environment and command line), and every file she owns afterwards is read: none
holds a hub secret or the server's API token.
"""

from __future__ import annotations

import os
import pwd
import secrets
import time
from pathlib import Path

import pytest
from harness.hub import running_hub
from jobspawner.jobside.server_proof import KEY_NAME

pytestmark = pytest.mark.e2e


def _boot_time() -> float:
    for line in Path("/proc/stat").read_text().splitlines():
        if line.startswith("btime "):
            return float(line.split()[1])
    raise AssertionError("/proc/stat has no btime")


def _processes_of(uid: int, since: float = 0.0) -> dict[int, tuple[bytes, bytes, int]]:
    """pid -> (environ, cmdline, parent pid) of every process owned by ``uid`` that started
    at ``since`` (a time stamp) or later: older ones belong to other tests, not this spawn."""
    boot, ticks = _boot_time(), os.sysconf("SC_CLK_TCK")
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if os.stat(f"/proc/{entry}").st_uid != uid:
                continue
            environ = Path(f"/proc/{entry}/environ").read_bytes()
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if boot + int(fields[19]) / ticks < since - 1:
            continue
        found[int(entry)] = (environ, cmdline, int(fields[1]))
    return found


def _server_tree(seen: dict[int, tuple[bytes, bytes, int]]) -> set[int]:
    """The notebook server's processes and what they started (kernels, terminals, helpers).

    The server reads its token from the secrets file after it was started, so its own exec-time
    environment lacks it; what it starts inherits it, as under every JupyterHub spawner
    (notebooks call the hub's API with it). A process whose line of parents is not fully
    known here is left out of this set, so it is checked.
    """
    servers = {pid for pid, (_env, cmd, _ppid) in seen.items() if b"jobspawner-singleuser" in cmd}
    tree = set(servers)
    for pid in seen:
        chain, current = [], pid
        while current in seen and current not in tree and current not in chain:
            chain.append(current)
            current = seen[current][2]
        if current in tree:
            tree.update(chain)
    return tree


def _files_of(uid: int, since: float, *roots: str) -> list[Path]:
    """Files owned by ``uid`` changed since ``since`` (other tests' files are left out)."""
    out = []
    for root in roots:
        for folder, _dirs, files in os.walk(root):
            for name in files:
                path = Path(folder, name)
                try:
                    info = path.lstat()
                    if info.st_uid == uid and path.is_file() and info.st_mtime >= since:
                        out.append(path)
                except OSError:
                    continue
    return out


def test_hub_secrets_and_token_stay_out_of_user_processes_and_files(tmp_path):
    alice = pwd.getpwnam("alice") if _user_exists("alice") else None
    hub_secrets = {
        "JOBSPAWNER_E2E_HUB_SECRET": secrets.token_hex(16),
        "CONFIGPROXY_AUTH_TOKEN": secrets.token_hex(16),
    }
    # the prologue keeps the job's shell alive a moment before the server starts
    config = (
        'c.JobSpawner.prologue = "sleep 2"\nc.JobSpawner.log_dir = "{homedir}/.jobspawner/logs"'
    )
    with running_hub(tmp_path, config=config, env=hub_secrets, keep_env=False) as hub:
        alice = alice or pwd.getpwnam("alice")
        # a log folder that exists already, readable by all: it must become private
        log_dir = Path(alice.pw_dir, ".jobspawner", "logs")
        log_dir.mkdir(parents=True, exist_ok=True)
        for folder in (log_dir.parent, log_dir):
            os.chown(folder, alice.pw_uid, alice.pw_gid)
            folder.chmod(0o755)
        seen: dict[int, tuple[bytes, bytes, int]] = {}
        began = time.time() - 1
        hub.begin_start("alice")
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            seen.update(_processes_of(alice.pw_uid, began))
            server = hub.server_model("alice") or {}
            if server.get("ready"):
                break
            time.sleep(0.05)
        hub.wait_ready("alice")
        seen.update(_processes_of(alice.pw_uid, began))
        assert seen, "no process of alice's was seen while her server started"
        for pid, (environ, cmdline, _parent) in seen.items():
            for name, value in hub_secrets.items():
                assert value.encode() not in environ, f"{name} in the environment of {pid}"
                assert value.encode() not in cmdline, f"{name} on the command line of {pid}"
        # the server's token is on no command line (readable by everyone in /proc), in the
        # environment of no process outside the server's own tree (the job's shell, the
        # scheduler's and the hub's commands run as alice), and in no file of alice's
        state = hub.spawner_state("alice")
        job_id, output = state["job_id"], Path(state["job_output"])
        secrets_file = Path(state["job_secrets"])
        assert secrets_file.parent == output.parent  # in the private log folder
        assert not secrets_file.name.startswith(f".{output.name}")  # not derived from it
        server_tree = _server_tree(seen)
        assert server_tree, "the notebook server's process was never seen"
        outside = [pid for pid in seen if pid not in server_tree]
        assert outside, "only the server's processes were seen: the job's shell was missed"
        for pid, (environ, cmdline, _parent) in seen.items():
            assert b"JUPYTERHUB_API_TOKEN=" not in cmdline, f"token on the command line of {pid}"
            if pid not in server_tree:
                assert b"JUPYTERHUB_API_TOKEN=" not in environ, f"token seen in {pid}: {cmdline!r}"
            # the server-check key is in no environment at all, not even the server's tree
            key_entry = f"{KEY_NAME}=".encode()
            assert key_entry not in environ and key_entry not in cmdline, f"key seen in {pid}"
        files = _files_of(alice.pw_uid, began, alice.pw_dir, "/tmp")
        assert files, "alice owns no file: the job wrote no output"
        for path in files:
            if path.name.endswith(".secrets") and path != secrets_file:
                continue  # another test's job (a scheduler test running beside this one)
            data = path.read_bytes()
            assert b"JUPYTERHUB_API_TOKEN" not in data, f"the server's token is in {path}"
            assert KEY_NAME.encode() not in data, f"the server-check key is in {path}"
            for name, value in hub_secrets.items():
                assert value.encode() not in data, f"{name} is in {path}"
        # the secrets file was consumed and the output folder and file are private
        assert not secrets_file.exists()
        assert log_dir.stat().st_mode & 0o777 == 0o700
        assert output.parent == log_dir and output.stat().st_mode & 0o777 == 0o600
        assert hub.get_via_proxy("alice", "api/status").status_code == 200
        hub.stop_server("alice")
        assert job_id


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True
