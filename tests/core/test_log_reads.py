"""The one bounded way the hub reads a job's output (jobspawner.boundary.log_reads,
bounded_text)."""

from __future__ import annotations

import asyncio
import json
import os
import pwd
import shutil
import tempfile
import time
from pathlib import Path

import pytest
from harness.strict import need_root
from harness.users import ensure_users
from hypothesis import given
from hypothesis import strategies as st
from jobspawner.boundary import log_reads
from jobspawner.boundary.bounded_text import (
    MAX_BYTES,
    MAX_LINE,
    MAX_LINES,
    bound_tail,
    clip,
    stored_size,
)
from jobspawner.contract.commands import Command, CommandError, CommandRunner
from jobspawner.contract.context import make_context
from jobspawner.facade.backend import load_backend

# --- the shape of what is read -----------------------------------------------------------


def test_a_huge_line_is_cut_with_a_visible_marker_and_the_end_is_kept():
    text = "first\n" + "x" * 5_000_000 + "\nlast\n"
    tail = bound_tail(text, 30)
    assert tail.endswith("\nlast\n") and "first" not in tail  # only the last 64 KiB
    cut = tail.split("\n")[0]
    assert cut.startswith("x" * MAX_LINE) and cut.endswith("more characters cut]")
    assert len(tail.encode()) < MAX_LINE * 2


def test_bytes_nul_and_invalid_utf8_become_replacement_characters():
    tail = bound_tail(b"ok\x00\xff\xfe\n\xc3", 5)
    assert tail == "ok\ufffd\ufffd\ufffd\n\ufffd"
    assert bound_tail(b"a\nb\nc\n", 2) == "b\nc\n"
    assert bound_tail("", 5) == "" and bound_tail("x", 0) == ""


def test_at_most_max_lines_and_max_bytes():
    many = "".join(f"{i}\n" for i in range(10_000))
    assert bound_tail(many, 10_000).count("\n") == MAX_LINES
    wide = ("é" * 900 + "\n") * 200  # 1801 bytes a line
    assert len(bound_tail(wide, MAX_LINES).encode()) <= MAX_BYTES


@pytest.mark.parametrize(
    "text", ["a" * 100_000, "\U0001f600" * 10_000, "\x01" * 9000, "é\n" * 5000]
)
@pytest.mark.parametrize("keep", ["end", "both"])
def test_a_stored_text_is_clipped_by_its_size_in_the_database(text, keep):
    clipped = clip(text, 4096, keep=keep)
    assert len(json.dumps(clipped)) - 2 == stored_size(clipped) <= 4096
    assert "characters cut ...]" in clipped
    assert clip("short", 4096) == "short"


@given(st.text(max_size=200))
def test_the_stored_size_is_the_size_json_writes(text):
    """Every character, DEL (0x7F) included: json.dumps escapes it, and a size that took it
    for one byte let a card's log of DEL characters pass its bound six times over."""
    assert stored_size(text) == len(json.dumps(text)) - 2
    assert len(json.dumps(clip(text * 50, 256))) - 2 <= 256


def test_a_log_of_del_characters_is_clipped_within_its_bound():
    assert len(json.dumps(clip("\x7f" * 20_000, 16 * 1024))) - 2 <= 16 * 1024


# --- concurrency, sharing, time ----------------------------------------------------------


def _ctx(username: str = "alice", prefix: tuple[str, ...] = ()):
    return make_context(load_backend("local"), username=username, prefix=prefix)


async def test_reads_per_user_and_in_total_are_bounded():
    running = {"alice": 0, "bob": 0, "all": 0}
    most = {"alice": 0, "all": 0}

    def reader(user):
        async def read():
            running[user] += 1
            running["all"] += 1
            most["alice"] = max(most["alice"], running["alice"])
            most["all"] = max(most["all"], running["all"])
            await asyncio.sleep(0.05)
            running[user] -= 1
            running["all"] -= 1
            return "line\n"

        return read

    reads = [log_reads.read(_ctx("alice"), f"/a/{i}", 5, reader("alice")) for i in range(10)]
    reads += [log_reads.read(_ctx(f"u{i}"), f"/u/{i}", 5, reader("bob")) for i in range(10)]
    assert await asyncio.gather(*reads) == ["line\n"] * 20
    assert most["alice"] == log_reads.PER_USER and most["all"] == log_reads.IN_FLIGHT


async def test_requests_that_accept_a_recent_answer_share_one_read():
    calls = []

    async def read():
        calls.append(1)
        await asyncio.sleep(0.05)
        return "a\nb\n"

    ctx = _ctx()
    age = log_reads.CACHE_SECONDS
    answers = await asyncio.gather(*(log_reads.read(ctx, "/l", 1, read, age) for _ in range(4)))
    assert answers == ["b\n"] * 4 and len(calls) == 1
    assert await log_reads.read(ctx, "/l", 2, read, age) == "a\nb\n" and len(calls) == 1
    # another identity (bob, or alice behind another prefix) reads for itself
    await log_reads.read(_ctx("bob"), "/l", 1, read, age)
    await log_reads.read(_ctx(prefix=("sudo", "-u", "alice")), "/l", 1, read, age)
    assert len(calls) == 3
    # a caller that wants the file as it is now (a failure message) reads it again
    await log_reads.read(ctx, "/l", 1, read)
    assert len(calls) == 4


async def test_a_read_that_never_ends_is_given_up_in_time(monkeypatch):
    monkeypatch.setattr(log_reads, "READ_TIMEOUT", 0.3)

    async def never():
        await asyncio.sleep(3600)
        return ""

    started = time.monotonic()
    with pytest.raises(log_reads.LogUnreadable, match=r"longer than 0\.3 seconds"):
        await log_reads.read(_ctx(), "/fifo", 5, never)
    assert time.monotonic() - started < 1


# --- the runner's output cap ----------------------------------------------------------------


async def test_a_command_printing_without_end_is_stopped_at_its_output_cap():
    started = time.monotonic()
    with pytest.raises(CommandError) as e:
        await CommandRunner(timeout=20).run(Command(["yes"], max_output=100_000))
    assert "printed more than 100000 bytes" in str(e.value)
    assert time.monotonic() - started < 5
    assert len(e.value.stdout) <= 100_000


async def test_output_within_the_cap_is_whole():
    result = await CommandRunner().run(Command(["head", "-c", "300000", "/dev/zero"]))
    assert len(result.stdout) == 300_000


# --- the default hook: as the user, only a regular file, only its last bytes ------------------


@pytest.fixture
def alice_folder():
    """A log folder of alice's that she can reach (pytest's tmp_path is root's, 0700)."""
    need_root()
    ensure_users(("alice",))
    alice = pwd.getpwnam("alice")
    folder = Path(tempfile.mkdtemp(prefix="jobspawner-log-reads-"))
    folder.chmod(0o700)
    os.chown(folder, alice.pw_uid, alice.pw_gid)
    yield folder, alice
    shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.parametrize("through_prefix", [True, False])
async def test_a_fifo_is_refused_at_once(alice_folder, through_prefix):
    folder, alice = alice_folder
    fifo = folder / "job.log"
    os.mkfifo(fifo)
    os.chown(fifo, alice.pw_uid, alice.pw_gid)
    prefix = ("runuser", "-u", "alice", "--") if through_prefix else ()
    ctx = _ctx(prefix=prefix)
    started = time.monotonic()
    assert await ctx.backend.read_log(ctx, str(fifo), 5) == ""
    assert time.monotonic() - started < 3  # tail -n on a FIFO waited for a writer


@pytest.mark.parametrize("through_prefix", [True, False])
async def test_a_30_mib_line_reads_as_its_end_only(alice_folder, through_prefix):
    folder, alice = alice_folder
    log = folder / "job.log"
    with open(log, "wb") as f:
        f.write(b"start\n" + b"x" * (30 * 1024 * 1024) + b"\nTraceback: boom\n")
    os.chown(log, alice.pw_uid, alice.pw_gid)
    prefix = ("runuser", "-u", "alice", "--") if through_prefix else ()
    ctx = _ctx(prefix=prefix)
    tail = await ctx.backend.read_log(ctx, str(log), 30)
    assert tail.endswith("more characters cut]\nTraceback: boom\n")
    assert len(tail) < 2 * MAX_LINE
