"""End to end (real hub, local backend): a job that prints one 30 MiB line costs the hub little.

Issue #19: such a job grew the hub's database from 143 KB to 63 MB with one failed spawn,
made every session API answer 63 MB, and four session requests on a running job's log took
the hub to 1.96 GB and stalled its event loop for seconds.
"""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from harness.hub import SpawnFailed, running_hub
from harness.waiting import wait_for

pytestmark = pytest.mark.e2e

MiB = 1024 * 1024


def _peak_memory(pid: int) -> int:
    """The hub process's peak resident memory (VmHWM), in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


def _database_size(path: Path) -> int:
    """The hub's SQLite database with its write-ahead log."""
    wal = path.with_name(path.name + "-wal")
    return path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)


def _slowest_answer_while(hub, work) -> float:
    """The slowest answer of the hub's API root (a trivial handler) while ``work`` runs:
    how long the hub's event loop was held."""
    slowest, done = 0.0, threading.Event()

    def probe() -> None:
        nonlocal slowest
        while not done.is_set():
            began = time.monotonic()
            hub.api("GET", "/", timeout=60)
            slowest = max(slowest, time.monotonic() - began)
            time.sleep(0.02)

    prober = threading.Thread(target=probe)
    prober.start()
    try:
        work()
    finally:
        done.set()
        prober.join()
    return slowest


def test_a_30_mib_line_keeps_the_database_the_answers_and_the_event_loop_small(tmp_path):
    gate = Path(f"/tmp/jobspawner-hostile-gate-{os.getpid()}")
    gate.unlink(missing_ok=True)
    prologue = (
        "head -c 31457280 /dev/zero | tr '\\0' x; echo; echo 'Error: bad config'; "
        f"if [ -e {gate} ]; then exec sleep 600; fi; exit 3"
    )
    with running_hub(tmp_path, config=f"c.JobSpawner.prologue = {prologue!r}") as hub:
        database = tmp_path / "hub" / "hub.sqlite"
        token = hub.user_token("alice")
        sessions = f"{hub.url}/hub/api/jobspawner/sessions"

        def session_answer() -> int:
            r = requests.get(sessions, headers={"Authorization": f"token {token}"}, timeout=60)
            r.raise_for_status()
            return len(r.content)

        before = _database_size(database)
        with pytest.raises(SpawnFailed) as failure:
            hub.start_server("alice", timeout=120)
        assert "Error: bad config" in failure.value.message
        assert len(failure.value.message.encode()) < 16 * 1024
        growth = _database_size(database) - before
        assert growth < 256 * 1024, f"the database grew {growth} bytes"
        assert session_answer() < 256 * 1024
        users = hub.api("GET", "/users", params={"include_stopped_servers": "1"})
        assert len(users.content) < 256 * 1024

        # a running job's 30 MiB line, read by four session requests at once (open pages)
        gate.touch()
        try:
            hub.begin_start("alice", "live")
            wait_for(lambda: hub.spawner_state("alice", "live").get("job_id"), timeout=30)
            log = hub.spawner_state("alice", "live")["job_output"]
            wait_for(lambda: os.path.getsize(log) > 30 * MiB, timeout=60)
            memory_before = _peak_memory(hub.proc.pid)
            with ThreadPoolExecutor(4) as pool:
                answers: list[int] = []

                def four_at_once() -> None:
                    for _ in range(3):
                        answers.extend(pool.map(lambda _: session_answer(), range(4)))

                held = _slowest_answer_while(hub, four_at_once)
            memory_growth = _peak_memory(hub.proc.pid) - memory_before
            print(f"database +{growth} B, answers {max(answers)} B, loop held {held:.3f} s, "
                  f"memory +{memory_growth / MiB:.1f} MiB")  # fmt: skip
            assert max(answers) < 256 * 1024
            assert held < 1.0, f"the hub's event loop was held {held:.2f} s"
            assert memory_growth < 50 * MiB
        finally:
            gate.unlink(missing_ok=True)
            hub.stop_server("alice", "live")
