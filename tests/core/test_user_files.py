"""Files created on a user's behalf (jobspawner.boundary.user_files), between the real users alice
and bob.

The attack of issue #19: with ``c.JobSpawner.log_dir`` in a folder others can write (a sticky
scratch folder), bob watches it and, when alice's output file appears, plants a FIFO where
her secrets file goes; the hub's writer opened the FIFO and bob read her server's token.
Now every file is created by one fixed script, as alice, only in a folder she owns (made
private), under a new name; anything else is refused before a job is submitted, naming the
setting.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import secrets
import shutil
import stat
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from harness.jobenv import ensure_jobenv
from harness.strict import need_root
from harness.users import ensure_users
from jobspawner.boundary.user_files import (
    FOLDER_REFUSED,
    NAME_TAKEN,
    UserFileError,
    check,
    create_command,
    sudoers_command,
)
from jobspawner.contract.commands import CommandRunner
from jobspawner.contract.context import make_context
from jobspawner.contract.jobspec import JobSpec, legacy_secrets_file
from jobspawner.facade.backend import load_backend

pytestmark = pytest.mark.root

AS_ALICE = ["runuser", "-u", "alice", "--"]


def uid(name: str) -> int:
    return pwd.getpwnam(name).pw_uid


def as_bob(command: str) -> None:
    subprocess.run(["runuser", "-u", "bob", "--", "sh", "-c", command], check=True, cwd="/")


@pytest.fixture
def shared() -> Iterator[Path]:
    """A scratch folder like /tmp (root, 1777) that alice and bob can both write to."""
    need_root()
    ensure_users()
    folder = Path(f"/tmp/jobspawner-shared-{secrets.token_hex(4)}")
    folder.mkdir()
    os.chmod(folder, 0o1777)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


class FifoReader:
    """bob's side of a planted FIFO: reads whatever anyone writes into it."""

    def __init__(self, path: Path) -> None:
        self.got = b""
        self.fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # a writer's open never waits
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(BlockingIOError):
                self.got += os.read(self.fd, 65536)
            time.sleep(0.01)

    def close(self) -> bytes:
        time.sleep(0.2)
        self._stop.set()
        self._thread.join()
        os.close(self.fd)
        return self.got


def plant(path: Path, kind: str) -> FifoReader | None:
    """bob plants ``kind`` at ``path``; for a FIFO, bob listens on it."""
    if kind == "fifo":
        as_bob(f"umask 0; mkfifo -m 666 {path}")
        return FifoReader(path)
    if kind == "file":
        as_bob(f"umask 0; touch {path}")
    elif kind == "symlink":
        as_bob(f"umask 0; mkfifo -m 666 {path}.target && ln -s {path}.target {path}")
        return FifoReader(Path(f"{path}.target"))
    return None


# --- through the backend facade: the core's submit with the real runner, as alice ----------


@pytest.mark.parametrize("kind", ["fifo", "file", "symlink"])
async def test_a_shared_log_folder_is_refused_before_anything_is_written(shared, kind):
    token = secrets.token_hex(16)
    output = shared / f"jupyter-alice.{secrets.token_hex(3)}.log"
    spec = JobSpec.create(
        username="alice",
        job_name="jupyter-alice",
        output_file=str(output),
        workdir="/tmp",
        command=["sleep", "1"],
        env={"JUPYTERHUB_API_TOKEN": token},
        options={"python": str(ensure_jobenv() / "bin" / "python")},
    )
    backend = load_backend("local")
    ctx = make_context(backend, spec.options, prefix=AS_ALICE, username="alice")
    script = backend.render_script(spec, backend.script_template(spec) or "")
    # bob plants at the name the secrets file had (derived from the output file's) and at
    # the name it has now (which he cannot know: here the test tells him)
    readers = [plant(Path(legacy_secrets_file(str(output))), kind)]
    if spec.secrets_file != legacy_secrets_file(str(output)):
        readers.append(plant(Path(spec.secrets_file), kind))
    before = set(os.listdir(shared))
    with pytest.raises(UserFileError) as refused:
        await backend.submit(ctx, spec, script)
    got = b"".join(r.close() for r in readers if r is not None)
    assert token.encode() not in got, "bob read alice's token"
    message = str(refused.value)
    assert "c.JobSpawner.log_dir" in message and f"its folder {shared} " in message
    assert "not owned by the user" in message and "{username}" in message
    assert refused.value.returncode == FOLDER_REFUSED
    # nothing of alice's was created in the shared folder, and no job started
    assert set(os.listdir(shared)) == before
    assert not [p for p in shared.iterdir() if p.lstat().st_uid == uid("alice")]


async def test_alices_open_folder_is_made_private_and_a_planted_name_refused(shared):
    """alice's own folder, open to all (0777): made private (0700) before a file is created
    in it; a name bob planted in it while it was open is refused, never written through."""
    folder = shared / "alice-logs"
    subprocess.run([*AS_ALICE, "mkdir", "-m", "777", str(folder)], check=True)
    os.chmod(folder, 0o777)
    reader = plant(folder / "job.log", "fifo")
    run = CommandRunner(AS_ALICE)
    result = await run.run(create_command(str(folder / "job.log"), "secret"), check=False)
    assert reader is not None and b"secret" not in reader.close()
    assert result.returncode == NAME_TAKEN
    with pytest.raises(UserFileError, match="something exists under that name already"):
        check(result, "c.JobSpawner.log_dir")
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert sorted(os.listdir(folder)) == ["job.log"]  # bob's FIFO only: no temporary left
    result = await run.run(create_command(str(folder / "other.log"), "mine"), check=False)
    assert result.ok, result
    st = (folder / "other.log").lstat()
    assert stat.S_ISREG(st.st_mode) and st.st_uid == uid("alice")
    assert stat.S_IMODE(st.st_mode) == 0o600 and (folder / "other.log").read_text() == "mine"


async def test_a_folder_that_is_a_link_or_bobs_is_refused(shared):
    bobs = shared / "bobs"
    as_bob(f"umask 0; mkdir -m 777 {bobs}")
    alices = shared / "alices"
    subprocess.run([*AS_ALICE, "mkdir", "-m", "700", str(alices)], check=True)
    link = shared / "link"
    as_bob(f"ln -s {alices} {link}")  # a link bob owns, to alice's own folder
    run = CommandRunner(AS_ALICE)
    for folder in (bobs, link, shared):
        result = await run.run(create_command(f"{folder}/x.log", "secret"), check=False)
        assert result.returncode == FOLDER_REFUSED, (folder, result)
    assert os.listdir(bobs) == [] and os.listdir(alices) == []
    # a missing folder is created private to the user
    new = shared / "new" / "logs"
    subprocess.run([*AS_ALICE, "mkdir", str(shared / "new")], check=True)
    result = await run.run(create_command(f"{new}/x.log", "", mode="700"), check=False)
    assert result.ok, result
    assert new.stat().st_uid == uid("alice") and stat.S_IMODE(new.stat().st_mode) == 0o700
    assert stat.S_IMODE((new / "x.log").stat().st_mode) == 0o700


def test_only_plain_paths_and_the_two_modes_are_taken():
    for path in ("relative/x", "/tmp/", "/tmp/-x", "/tmp/a b\n/c", "/tmp/..", "/tmp/."):
        with pytest.raises(ValueError):
            create_command(path)
    with pytest.raises(ValueError):
        create_command("/tmp/x", mode="4755")
    command = create_command("/tmp/f/x.log", "data")
    assert command.argv[4:] == ("/tmp/f", "x.log", "600") and command.stdin == "data"


# --- through a real hub with the local backend -----------------------------------------


class Watcher:
    """bob watching a shared folder, as in the issue: for every new file he plants a FIFO
    at ``.<name>.secrets`` (where the secrets file went) and reads it."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.readers: list[FifoReader] = []
        self.planted: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        seen: set[str] = set()
        while not self._stop.is_set():
            for name in os.listdir(self.folder):
                if name in seen or name.startswith("."):
                    continue
                seen.add(name)
                target = self.folder / f".{name}.secrets"
                with contextlib.suppress(Exception):
                    os.mkfifo(target)
                    os.chmod(target, 0o666)  # whatever the test's umask
                    os.chown(target, uid("bob"), uid("bob"))
                    self.readers.append(FifoReader(target))
                    self.planted.append(str(target))
            time.sleep(0.005)

    def stop(self) -> bytes:
        self._stop.set()
        self._thread.join()
        return b"".join(r.close() for r in self.readers)


@pytest.mark.e2e
def test_a_spawn_into_a_shared_log_folder_is_refused_and_leaks_no_token(shared, tmp_path):
    from harness.hub import SpawnFailed, running_hub

    config = f'c.JobSpawner.log_dir = "{shared}"\nc.JobSpawner.start_timeout = 60\n'
    with running_hub(tmp_path, config=config) as hub:
        watcher = Watcher(shared)
        try:
            with pytest.raises(SpawnFailed) as failed:
                hub.start_server("alice", timeout=60)
        finally:
            got = watcher.stop()
        assert b"JUPYTERHUB_API_TOKEN" not in got, "bob read alice's server token"
        message = failed.value.message
        assert "c.JobSpawner.log_dir" in message, message
        assert f"its folder {shared} " in message and "{username}" in message
        # refused before submission: no job, no file of alice's in the shared folder
        assert not hub.spawner_state("alice").get("job_id")
        assert not [p for p in shared.iterdir() if p.lstat().st_uid == uid("alice")]


def test_the_documented_sudoers_rules_allow_the_create_script_as_it_is():
    """docs/security.md and docs/remote.md show the rule a site copies: it must be the one
    tests/remote/test_sudo_identity.py checks on a real sudo (remote/sudoers.py)."""
    from remote.sudoers import sudoers_rule

    rule = sudoers_command()
    assert rule in sudoers_rule("/usr/bin/python3")
    docs = Path(__file__).resolve().parents[2] / "docs"
    for page in ("security.md", "remote.md"):
        text = (docs / page).read_text()
        assert f"    {rule}, \\\n" in text, page
        assert "set -C" not in text and "install ^-m 600" not in text, page


async def test_internal_certificates_go_only_into_a_folder_of_the_users(shared, tmp_path):
    from jobspawner.lifecycle import internal_certs

    hub_files = {}
    for key, name in internal_certs.FILES.items():
        (tmp_path / name).write_text(f"{key} of the hub")
        hub_files[key] = str(tmp_path / name)
    ctx = make_context(load_backend("local"), prefix=AS_ALICE, username="alice")
    bobs = shared / "default"
    as_bob(f"umask 0; mkdir -m 777 {bobs}")  # bob made the folder the certificates go to
    with pytest.raises(UserFileError, match=r"c\.JobSpawner\.internal_certs_dir"):
        await internal_certs.move_to_job(ctx, hub_files, str(bobs))
    assert os.listdir(bobs) == []
    mine = shared / "alice-certs" / "default"
    moved = await internal_certs.move_to_job(ctx, hub_files, str(mine))
    moved = await internal_certs.move_to_job(ctx, hub_files, str(mine))  # a restart: anew
    assert stat.S_IMODE(mine.stat().st_mode) == 0o700
    for path in moved.values():
        st = os.lstat(path)
        assert st.st_uid == uid("alice") and stat.S_IMODE(st.st_mode) == 0o600
