"""Property: no job output costs the hub more than fixed bounds, on every path that reads it.

Hypothesis writes hostile job output (one huge line, binary, NUL, invalid UTF-8, a FIFO, a
link to a root-only file, a file that grows while it is read, many lines) into a log file
of alice's and drives it through every path that reads a job's log: the session API's
cards (four requests at once, as open pages poll), the spawn page's notice after a
server's end, and the failure message of a start. The CLI reads no job logs (its commands go
through the same runner, with the same output cap). Measured for every example, with the
hub's reading done as root (no exec prefix) or as alice (``runuser`` prefix):

- the hub's memory (Python allocations, tracemalloc) grows less than 50 MB;
- its event loop never stalls more than 100 ms (measured again once when it did, since other
  processes share the machine's CPUs);
- the state (the hub's database) grows less than 32 KiB per failure;
- every API answer (a card as JSON, the notice's HTML) is under 256 KiB.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import pwd
import shutil
import subprocess
import tempfile
import time
import tracemalloc
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import pytest
from harness.strict import need_root
from harness.users import ensure_users
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jobspawner.contract.status import JobState, JobStatus
from jobspawner.lifecycle import last_end
from jobspawner.web.session_view import CARD_TAIL, describe

from .spawnkit import make_spawner

MEMORY_LIMIT = 50 * 1024 * 1024
STALL_LIMIT = 0.1
STORED_LIMIT = 32 * 1024
ANSWER_LIMIT = 256 * 1024
SECRET = "root:$6$do-not-show:19000:0:99999:7:::"
EXAMPLES = int(os.environ.get("JOBSPAWNER_HOSTILE_EXAMPLES", "25"))

hostile_piece = st.one_of(
    st.binary(max_size=2000),
    st.sampled_from(
        [b"\x00" * 5000, b"\xff\xfe\xc3\x28" * 1000, "\U0001f600\u2028".encode() * 900]
    ),
    st.text(max_size=500).map(lambda t: t.encode("utf-8", "surrogatepass")),
)
kinds = st.sampled_from(["huge_line", "pieces", "many_lines", "fifo", "symlink", "growing"])


@dataclass
class Figures:
    memory: int = 0
    stall: float = 0.0
    stored: list[int] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)
    cards: list[int] = field(default_factory=list)


class StallWatch:
    """The longest time the event loop did not run a 5 ms timer on time."""

    def __init__(self) -> None:
        self.worst = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _tick(self) -> None:
        while True:
            before = time.monotonic()
            await asyncio.sleep(0.005)
            self.worst = max(self.worst, time.monotonic() - before - 0.005)

    def __enter__(self) -> StallWatch:
        self._task = asyncio.ensure_future(self._tick())
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()


@pytest.fixture(scope="module")
def alice_home():
    """A folder of alice's she can reach, and a root-only file next to it."""
    need_root()
    ensure_users(("alice",))
    alice = pwd.getpwnam("alice")
    top = Path(tempfile.mkdtemp(prefix="jobspawner-hostile-"))
    top.chmod(0o755)
    secret = top / "shadow"
    secret.write_text(SECRET + "\n")
    secret.chmod(0o600)
    warm_up(top, alice)
    yield top, alice
    shutil.rmtree(top, ignore_errors=True)


def warm_up(top: Path, alice) -> None:
    """Every path once on a plain log, unmeasured: what is loaded once per process (modules
    imported on first use, the notice's template compiled) is not the job output's cost."""
    folder = Path(tempfile.mkdtemp(dir=top))
    os.chown(folder, alice.pw_uid, alice.pw_gid)
    output = write_output(folder, "pieces", [b"plain line\n"], 0, alice)
    for through_prefix in (False, True):
        asyncio.run(drive(alice_spawner(folder, output, through_prefix)))
    shutil.rmtree(folder, ignore_errors=True)


def write_output(folder: Path, kind: str, pieces: list[bytes], size: int, alice) -> Path:
    """The job's output file as ``kind`` says (written before anything is measured)."""
    path = folder / "job.log"
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "symlink":
        os.symlink(folder.parent / "shadow", path)
        return path
    else:
        with open(path, "wb") as f:
            if kind == "huge_line":
                f.write(b"start\n")
                chunk = (b"".join(pieces) or b"x").replace(b"\n", b" ") * 64
                left = size
                while left > 0:
                    f.write(chunk[:left])
                    left -= len(chunk)
            elif kind == "many_lines":
                f.write(b"".join(p + b"\n" for p in pieces) * max(1, size // 65536))
            else:
                f.write(b"".join(pieces))
    os.chown(path, alice.pw_uid, alice.pw_gid, follow_symlinks=False)
    return path


def alice_spawner(tmp_path: Path, output: Path, through_prefix: bool):
    config = {"exec_prefix": ["runuser", "-u", "alice", "--"]} if through_prefix else {}
    spawner = make_spawner(tmp_path, **config)
    spawner.user = SimpleNamespace(name="alice", url="/user/alice/", escaped_name="alice", id=2)
    spawner.orm_spawner = None
    spawner.job_id, spawner.job_output = "4242", str(output)
    return spawner


async def fail_start(spawner, failure: Exception) -> None:
    """A start that fails with ``failure``, through ``start()``: it keeps the reason."""

    def failing() -> None:  # the start's job cannot be made: nothing is submitted
        raise failure

    spawner.prepare_job = failing
    with contextlib.suppress(type(failure)):
        await spawner.start()


async def drive(spawner) -> Figures:
    """Every read path once (the session API four times at once), measured."""
    figures = Figures()
    ctx = spawner.context()
    stored_before = len(json.dumps(spawner.get_state()))
    tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    try:
        with StallWatch() as watch:
            cards = await asyncio.gather(*(describe(spawner) for _ in range(4)))
            figures.answers += [len(json.dumps({"sessions": [c]})) for c in cards]
            figures.cards += [len(json.dumps(c["log_tail"] or "")) for c in cards]
            await last_end.note_end(spawner, JobStatus(JobState.FAILED, exit_code=1))
            figures.answers.append(len(last_end.form_with_notice(spawner, "").encode()))
            figures.stored.append(len(json.dumps(spawner.get_state())) - stored_before)
            last_end.forget(spawner)
            failure = await spawner.job_session().job_ended_while_starting(
                ctx, JobStatus(JobState.FAILED, exit_code=3)
            )
            await fail_start(spawner, failure)
            figures.answers.append(len(json.dumps({"sessions": [await describe(spawner)]})))
            figures.stored.append(len(json.dumps(spawner.get_state())) - stored_before)
        figures.stall = watch.worst
        figures.memory = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    return figures


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    kind=kinds,
    pieces=st.lists(hostile_piece, min_size=1, max_size=6),
    size=st.sampled_from([70_000, 1_000_000, 30 * 1024 * 1024]),
    through_prefix=st.booleans(),
)
def test_hostile_job_output_costs_the_hub_bounded_memory_time_and_storage(
    alice_home, tmp_path, kind, pieces, size, through_prefix
):
    top, alice = alice_home
    folder = Path(tempfile.mkdtemp(dir=top))
    folder.chmod(0o700)
    os.chown(folder, alice.pw_uid, alice.pw_gid)
    grower = None
    try:
        output = write_output(folder, kind, pieces, size, alice)
        if kind == "growing":
            grower = subprocess.Popen(
                ["sh", "-c", 'while :; do printf "%065536d\\n" 0; done >> "$1"', "sh", str(output)]
            )
        spawner = alice_spawner(tmp_path, output, through_prefix)
        figures = asyncio.run(drive(spawner))
        if figures.stall >= STALL_LIMIT:
            # the machine is shared: a stall counts when it happens again (a read that
            # blocks the loop does, every time), not when another process took the CPU
            spawner = alice_spawner(tmp_path, output, through_prefix)
            figures = asyncio.run(drive(spawner))
    finally:
        if grower is not None:
            grower.kill()
            grower.wait()
        shutil.rmtree(folder, ignore_errors=True)
    assert figures.memory < MEMORY_LIMIT, figures
    assert figures.stall < STALL_LIMIT, figures
    assert max(figures.stored) < STORED_LIMIT, figures
    assert max(figures.answers) < ANSWER_LIMIT, figures
    assert max(figures.cards) <= CARD_TAIL + 2, figures  # a card's log: 16 KiB (+ quotes)
    assert SECRET not in json.dumps(spawner.get_state())
    print(kind, size, through_prefix, figures)
