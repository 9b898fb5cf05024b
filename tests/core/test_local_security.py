"""The local backend between users: no user's files decide what another user's job runs.

Runs ``jobspawner.jobside.local_jobs`` as the real test users alice and bob (``runuser``, as the
hub's ``exec_prefix`` does), with the job environment's Python, in a fresh world-writable
sticky folder used as their ``TMPDIR`` (like ``/tmp``, but private to each test).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from harness.jobenv import ensure_jobenv
from harness.strict import need_root
from harness.users import ensure_users
from harness.waiting import wait_for
from jobspawner.backends import local

pytestmark = pytest.mark.root


def uid(name: str) -> int:
    return pwd.getpwnam(name).pw_uid


@pytest.fixture
def tmp() -> Iterator[Path]:
    """A folder like /tmp (root, 1777) that alice and bob both use as TMPDIR."""
    need_root()
    ensure_users()
    folder = Path(f"/tmp/jobspawner-sec-{secrets.token_hex(4)}")
    folder.mkdir()
    os.chmod(folder, 0o1777)
    yield folder
    # end whatever jobs the test left behind (their groups are led by the supervisors)
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
            except OSError:
                continue
            if b"_supervise" in cmdline and str(folder).encode() in _environ(entry):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(int(entry), signal.SIGKILL)
    shutil.rmtree(folder, ignore_errors=True)


def _environ(pid: str) -> bytes:
    try:
        return Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return b""


def python() -> str:
    return str(ensure_jobenv() / "bin" / "python")


def run_as(
    user: str,
    argv: list[str],
    tmp: Path,
    stdin: str | None = None,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["runuser", "-u", user, "--", *argv],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd or tmp,
        env={"PATH": os.environ["PATH"], "TMPDIR": str(tmp), **(env or {})},
        timeout=60,
    )


def submit_as(
    user: str, tmp: Path, script: str, env: dict[str, str] | None = None, workdir: str = ""
) -> subprocess.CompletedProcess[str]:
    argv = [python(), "-I", "-m", "jobspawner.jobside.local_jobs", "submit"]
    argv += ["--output", str(tmp / f"{user}-{secrets.token_hex(3)}.log"), "--workdir", workdir]
    return run_as(user, argv, tmp, stdin=script, env=env)


def sh_as(user: str, tmp: Path, command: str) -> None:
    run = run_as(user, ["/bin/sh", "-c", command], tmp)
    assert run.returncode == 0, run.stderr


# --- a spool another user prepared ------------------------------------------------------


def _bobs_trap(tmp: Path, kind: str) -> Path:
    """Bob prepares alice's default spool path; returns that path."""
    spool = tmp / f"jobspawner-local-{uid('alice')}"
    payload = f"#!/bin/bash\nid -un > {tmp}/pwned\n"
    if kind == "owned by bob":
        sh_as("bob", tmp, f"umask 0; mkdir -m 777 {spool}")
    elif kind == "symlink":
        sh_as("bob", tmp, f"umask 0; mkdir -m 777 {tmp}/bobs && ln -s {tmp}/bobs {spool}")
    elif kind == "open mode":
        # alice's own folder, but open to everyone: bob can put files in it
        sh_as("alice", tmp, f"umask 0; mkdir -m 777 {spool}")
    target = tmp / "bobs" if kind == "symlink" else spool
    # bob's script, ready under any name a job might get
    sh_as("bob", tmp, f"umask 0; printf '%s' '{payload}' > {target}/script; touch {target}/ready")
    return spool


@pytest.mark.parametrize("kind", ["owned by bob", "symlink", "open mode"])
def test_a_spool_path_prepared_by_another_user_is_refused(tmp, kind):
    spool = _bobs_trap(tmp, kind)
    before = os.lstat(spool)
    ran = tmp / f"alice-job-ran-{secrets.token_hex(3)}"
    run = submit_as("alice", tmp, f"touch {ran}\n")
    if kind != "open mode":
        # bob holds the default path: alice's job goes to the spool in her home instead
        # (before, bob's squat blocked every job of hers until root removed it)
        assert run.returncode == 0, run.stderr
        job_id = run.stdout.strip()
        home = Path(pwd.getpwnam("alice").pw_dir) / ".jobspawner"
        fallback = home / f"local-spool-{os.uname().nodename}"
        st = os.lstat(fallback)
        assert st.st_uid == uid("alice") and st.st_mode & 0o7777 == 0o700
        assert (fallback / job_id).is_dir()
        wait_for(ran.exists, timeout=10)
        status = [python(), "-I", "-m", "jobspawner.jobside.local_jobs", "status", job_id]
        assert job_id in run_as("alice", status, tmp).stdout  # found again, not hidden
        time.sleep(1)
        assert not (tmp / "pwned").exists(), "bob's script ran as alice"
        after = os.lstat(spool)  # bob's folder is left as it was
        assert (after.st_ino, after.st_uid) == (before.st_ino, before.st_uid)
        return
    assert run.returncode != 0, (run.stdout, run.stderr)
    assert run.stdout == ""  # no job id
    expected = (
        f"has mode 0777: group and others have access to it, it must be private "
        f"(0700): `chmod 700 {spool}`"
    )
    assert f"local_jobs: the spool folder {spool} {expected}" in run.stderr
    time.sleep(1)  # anything started would have run by now
    assert not (tmp / "pwned").exists(), "bob's script ran as alice"
    assert not ran.exists(), "a job ran from a refused spool"
    after = os.lstat(spool)  # left as it was, for the admin to look at
    assert (after.st_ino, after.st_uid, after.st_mode) == (
        before.st_ino,
        before.st_uid,
        before.st_mode,
    )
    # status and cancel refuse it the same way
    for cmd in ("status", "cancel"):
        run = run_as(
            "alice", [python(), "-I", "-m", "jobspawner.jobside.local_jobs", cmd, "1-1"], tmp
        )
        assert run.returncode == 2 and expected in run.stderr, (cmd, run.stderr)


def test_a_tmpdir_through_another_users_link_hides_no_job(tmp):
    """alice's TMPDIR is a link bob owns: bob could point it elsewhere after her submit and
    her running job would no longer be found (the hub would think it gone)."""
    real = tmp / "alice-tmp"
    sh_as("alice", tmp, f"mkdir -m 700 {real}")
    link = tmp / "tmp-link"
    sh_as("bob", tmp, f"ln -s {real} {link}")
    env = {"TMPDIR": str(link)}
    run = submit_as("alice", tmp, "sleep 30\n", env=env)
    assert run.returncode == 0, run.stderr
    job_id = run.stdout.strip()
    status = [python(), "-I", "-m", "jobspawner.jobside.local_jobs", "status", job_id]
    assert f"{job_id} running" in run_as("alice", status, tmp, env=env).stdout
    # bob points his link at a folder of root's where alice has no spool
    sh_as("bob", tmp, f"ln -sfn /usr {link}")
    seen = run_as("alice", status, tmp, env=env)
    assert f"{job_id} running" in seen.stdout, (seen.stdout, seen.stderr)
    cancel = [python(), "-I", "-m", "jobspawner.jobside.local_jobs", "cancel", job_id]
    assert run_as("alice", cancel, tmp, env=env).returncode == 0
    # the job was not recorded through bob's link
    assert not (real / f"jobspawner-local-{uid('alice')}").exists()


def test_a_new_spool_is_private_to_its_user(tmp):
    run = submit_as("alice", tmp, "true\n")
    assert run.returncode == 0, run.stderr
    st = os.lstat(tmp / f"jobspawner-local-{uid('alice')}")
    assert st.st_uid == uid("alice") and (st.st_mode & 0o7777) == 0o700
    job = tmp / f"jobspawner-local-{uid('alice')}" / run.stdout.strip()
    assert all((p.stat().st_mode & 0o077) == 0 for p in job.iterdir())


def test_a_shared_spool_owned_by_another_user_is_refused(tmp):
    """The configured ``spool`` without placeholders is a shared parent: owned by bob, he
    could replace alice's folder in it, so alice refuses it."""
    shared = tmp / "shared"
    sh_as("bob", tmp, f"mkdir {shared} && chmod 1777 {shared}")
    run = submit_as(
        "alice", tmp, f"touch {tmp}/alice-job-ran\n", env={local.SPOOL_ENV: str(shared)}
    )
    assert run.returncode != 0
    assert f"{shared}, the folder that holds your spool, is owned by bob" in run.stderr
    assert not (tmp / "alice-job-ran").exists()


def test_a_spool_with_placeholders_is_each_users_own(tmp):
    setting = f"{tmp}/{{username}}-{{uid}}/spool"  # missing parents: made private to the user
    for user in ("alice", "bob"):
        run = submit_as(user, tmp, "true\n", env={local.SPOOL_ENV: setting})
        assert run.returncode == 0, run.stderr
        folder = tmp / f"{user}-{uid(user)}" / "spool"
        assert folder.stat().st_uid == uid(user) and (folder.stat().st_mode & 0o777) == 0o700
        job_id = run.stdout.strip()
        status = [python(), "-I", "-m", "jobspawner.jobside.local_jobs", "status", job_id]
        line = wait_for(
            lambda s=status, u=user: (
                "done" in run_as(u, s, tmp, env={local.SPOOL_ENV: setting}).stdout
            ),
            timeout=10,
        )
        assert line


# --- the old attack: a racer in a spool bob can write to --------------------------------

RACER = """\
import os, re, sys, time
tmp, stop = sys.argv[1], sys.argv[2]
payload = "#!/bin/bash\\nid -un > %s/pwned-$$\\n" % tmp
mine = set()

def plant(folder):
    os.mkdir(folder, 0o777)
    with open(os.path.join(folder, "script"), "w") as f:
        f.write(payload)
    os.chmod(os.path.join(folder, "script"), 0o755)
    open(os.path.join(folder, "ready"), "w").close()
    os.chmod(folder, 0o777)
    mine.add(folder)

def supervisors():
    for p in os.listdir("/proc"):
        try:
            if p.isdigit() and b"_supervise" in open("/proc/%s/cmdline" % p, "rb").read():
                stat = open("/proc/%s/stat" % p).read()
                yield "%s-%s" % (p, stat[stat.rfind(")") + 2:].split()[19])
        except OSError:
            pass

while not os.path.exists(stop):
    spools = [os.path.join(tmp, d) for d in os.listdir(tmp)]
    for spool in spools:
        try:
            entries = os.listdir(spool)
        except OSError:
            continue
        # swap every job folder that is not ours for one running our script
        for e in entries:
            path = os.path.join(spool, e)
            if re.fullmatch(r"[0-9]+-[0-9]+", e) and path not in mine:
                try:
                    os.rename(path, os.path.join(spool, ".stolen-" + e))
                    plant(path)
                except OSError:
                    pass
        # and get there first under the name the next job will have
        for job_id in supervisors():
            path = os.path.join(spool, job_id)
            if path not in mine:
                try:
                    plant(path)
                except OSError:
                    pass
"""


def test_another_user_cannot_swap_the_script_of_a_job(tmp):
    """Bob used the local backend first (so owns whatever spool he could share), then runs
    a racer that swaps or pre-creates job folders everywhere he can; alice's jobs run her
    own script, never his."""
    assert submit_as("bob", tmp, "true\n").returncode == 0
    racer = tmp / "racer.py"
    racer.write_text(RACER)
    os.chmod(racer, 0o644)
    stop = tmp / "stop-racer"
    proc = subprocess.Popen(
        ["runuser", "-u", "bob", "--", "/usr/bin/python3", str(racer), str(tmp), str(stop)],
        cwd=tmp,
    )
    try:
        time.sleep(0.5)
        ids = []
        for n in range(6):
            run = submit_as("alice", tmp, f"touch {tmp}/alice-ran-{n}\nsleep 0.5\n")
            ids.append(run.stdout.strip())
        done = wait_for(lambda: all((tmp / f"alice-ran-{n}").exists() for n in range(6)), 10)
    finally:
        stop.touch()
        proc.wait(timeout=30)
    pwned = [p.read_text().strip() for p in tmp.glob("pwned-*")]
    assert pwned == [], f"bob's script ran as {pwned} ({len(pwned)} of 6 jobs)"
    assert done, f"alice's jobs did not all run: {ids}"


# --- python -I: nothing planted in the working folder is imported -----------------------

PLANTED = "open({marker!r}, 'a').write('imported from ' + __file__ + '\\n')\n"


def _plant(tmp: Path) -> tuple[Path, Path]:
    folder = tmp / "planted"
    (folder / "jobspawner" / "jobside").mkdir(parents=True)
    marker = tmp / "planted-was-imported"
    for name in ("__init__.py", "jobside/__init__.py", "jobside/local_jobs.py"):
        (folder / "jobspawner" / name).write_text(PLANTED.format(marker=str(marker)))
    subprocess.run(["chmod", "-R", "a+rwX", str(folder)], check=True)
    return folder, marker


@pytest.mark.parametrize("where", ["cwd", "PYTHONPATH"])
def test_the_cli_does_not_import_a_planted_module(tmp, where):
    folder, marker = _plant(tmp)
    command = local.status_command(["1-1"], {"python": python()})
    env = {"PYTHONPATH": str(folder)} if where == "PYTHONPATH" else {}
    run = run_as("alice", list(command.argv), tmp, cwd=folder if where == "cwd" else tmp, env=env)
    assert run.returncode == 0, run.stderr
    assert not marker.exists(), marker.read_text()


def test_the_supervisor_does_not_import_a_planted_module(tmp):
    """The job's working folder is the user's; the supervisor starts there."""
    folder, marker = _plant(tmp)
    run = submit_as("alice", tmp, f"touch {tmp}/job-ran\n", workdir=str(folder))
    assert run.returncode == 0, run.stderr
    ran = wait_for(lambda: (tmp / "job-ran").exists(), timeout=10)
    assert not marker.exists(), marker.read_text()
    assert ran, "the job did not run"


def test_commands_built_by_the_backend_run_isolated():
    for command in (
        local.status_command(["1-1"], {}),
        local.cancel_command(["1-1"], {"spool": "/s/{uid}"}),
    ):
        assert command.argv[1:4] == ("-I", "-m", "jobspawner.jobside.local_jobs"), command.argv


# --- through the hub: the user sees why ---------------------------------------------------


@pytest.mark.e2e
def test_a_spawn_into_a_spool_another_user_prepared_fails_saying_why(tmp, tmp_path):
    from harness.hub import SpawnFailed, running_hub

    spool = tmp / "alice-spool"
    sh_as("bob", tmp, f"umask 0; mkdir -m 777 {spool}")
    options = {"spool": f"{tmp}/{{username}}-spool"}
    with running_hub(tmp_path, backend_options=options) as hub:
        with pytest.raises(SpawnFailed) as failed:
            hub.start_server("alice")
        assert f"the spool folder {spool} is owned by bob" in failed.value.message
        assert hub.server_model("alice") is None or not hub.server_model("alice").get("ready")
        # bob's own spool next to it is his, private, and works
        hub.start_server("bob")
        folder = tmp / "bob-spool"
        assert folder.stat().st_uid == uid("bob") and folder.stat().st_mode & 0o777 == 0o700
        hub.stop_server("bob")
