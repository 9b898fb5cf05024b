"""The scheduler emulators' shared job queue (tests/harness/emulator_queue.py): the job
record's state machine, scheduling across hosts and queues with limits and pending reasons as
data, cancel, lost supervisors and the history."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from harness import emulator_queue as jq
from harness.emulator_kernel import supervisor
from harness.waiting import wait_for


def _queue(now: float = 1000.0, state: dict[str, Any] | None = None) -> jq.Queue:
    return jq.Queue({} if state is None else state, now)


def _dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def test_ids_grow_and_survive_the_spool_round_trip() -> None:
    q = _queue()
    first = q.submit(os.getuid(), name="a", queue="q")
    state = json.loads(json.dumps(q.state))
    second = _queue(state=state).submit(os.getuid(), name="b", queue="q")
    assert (first["id"], second["id"]) == ("1", "2")
    assert jq.Queue({}, 0.0, first_id=0).allocate_id() == "0"


def test_the_state_machine_allows_its_moves_and_refuses_the_others() -> None:
    q = _queue()
    job = q.submit(os.getuid(), name="a", queue="q", held=True, project="p")
    assert (job["state"], job["reason"], job["project"]) == (jq.HELD, jq.REASON_HELD, "p")
    with pytest.raises(jq.BadState):
        q.start(job, [["h", 0, 1]])
    q.release(job)
    assert (job["state"], job["reason"]) == (jq.QUEUED, jq.REASON_NEW)
    with pytest.raises(jq.BadState):
        q.release(job)
    with pytest.raises(jq.BadState):
        q.end(job, 0)
    q.hold(job)
    q.release(job)
    q.start(job, [["h", 0, 1]])
    assert (job["state"], job["host"], job["start_time"], job["starts"]) == (
        jq.RUNNING,
        "h",
        1000.0,
        1,
    )
    q.suspend(job)
    with pytest.raises(jq.BadState):
        q.hold(job)
    q.resume(job)
    q.now = 1005.0
    q.end(job, 3, cpu=0.5)
    assert (job["state"], job["exit_code"], job["end"], job["end_time"]) == (
        jq.ENDED,
        3,
        jq.END_EXIT,
        1005.0,
    )
    with pytest.raises(jq.BadState):
        q.cancel(job)
    with pytest.raises(jq.BadState):
        q.resume(job)


def test_a_supervisor_outcome_names_how_the_job_ended() -> None:
    q = _queue()
    limit, cancel, own = (q.submit(0, name=n, queue="q") for n in "abc")
    for job in (limit, cancel, own):
        q.start(job, [["h", 0, 1]])
    q.ended(limit, supervisor.Outcome(-12, 0.1, supervisor.LIMIT))
    q.ended(cancel, supervisor.Outcome(-15, 0.0, supervisor.CANCEL))
    q.ended(own, supervisor.Outcome(0, 2.0))
    assert [j["end"] for j in (limit, cancel, own)] == [jq.END_LIMIT, jq.END_CANCEL, jq.END_EXIT]
    assert own["exit_code"] == 0 and own["cpu_time"] == 2.0
    assert q.ended(own, supervisor.Outcome(9)) is False  # already ended: left as it is
    assert own["exit_code"] == 0
    torque = q.submit(0, name="d", queue="q")
    q.start(torque, [["h", 0, 1]])
    assert q.ended(torque, supervisor.Outcome(-15, 0.0, supervisor.CANCEL), code=271) is True
    assert (torque["exit_code"], torque["end"]) == (271, jq.END_CANCEL)  # the front end's code


def test_scheduling_fills_hosts_first_come_first_served_and_says_why_jobs_wait() -> None:
    q = _queue()
    uid = os.getuid()
    big = q.submit(uid, name="big", queue="q", chunks=2, per_chunk=2)  # both hosts, whole
    after = q.submit(uid, name="after", queue="q")
    huge = q.submit(uid, name="huge", queue="q", per_chunk=3)
    started: list[str] = []
    q.schedule({"h1": 2, "h2": 2}, lambda j: started.append(j["id"]), backfill=False)
    assert started == [big["id"]]
    assert big["alloc"] == [["h1", 0, 2], ["h2", 0, 2]]
    assert (after["reason"], huge["reason"]) == (jq.REASON_SLOTS, jq.REASON_NEVER)
    q.end(big, 0)
    small = q.submit(uid, name="small", queue="q", per_chunk=2)
    q.schedule({"h1": 2, "h2": 2}, lambda j: started.append(j["id"]), backfill=False)
    assert started == [big["id"], after["id"]]  # "huge" can never run, and keeps "small" back
    assert (huge["reason"], small["reason"]) == (jq.REASON_NEVER, jq.REASON_BLOCKED)
    q.schedule({"h1": 2, "h2": 2}, lambda j: started.append(j["id"]))  # with backfill
    assert started == [big["id"], after["id"], small["id"]]
    assert (after["alloc"], small["alloc"]) == ([["h1", 0, 1]], [["h2", 0, 2]])


def test_resource_vectors_fit_every_resource_a_chunk_needs() -> None:
    q = _queue()
    uid = os.getuid()
    hosts: dict[str, int | jq.Resources] = {
        "small": {"cpus": 4, "memory": 1024},
        "gpu": {"cpus": 2, "memory": 4096, "gpus": 1},
    }
    needs_gpu = q.submit(uid, name="gpu", queue="q", needs={"memory": 512, "gpus": 1})
    fat = q.submit(uid, name="fat", queue="q", per_chunk=2, needs={"memory": 3000})
    thin = q.submit(uid, name="thin", queue="q", needs={"memory": 512})
    second_gpu = q.submit(uid, name="gpu2", queue="q", needs={"gpus": 1})
    never = q.submit(uid, name="never", queue="q", needs={"memory": 5000})
    started: list[str] = []
    q.schedule(hosts, lambda j: started.append(j["name"]))
    # the GPU job can only go to "gpu"; "fat" no longer fits there (memory), "thin" does
    assert started == ["gpu", "thin"]
    assert (needs_gpu["alloc"], thin["alloc"]) == ([["gpu", 0, 1]], [["small", 0, 1]])
    assert (fat["reason"], second_gpu["reason"], never["reason"]) == (
        jq.REASON_SLOTS,
        jq.REASON_SLOTS,
        jq.REASON_NEVER,
    )
    assert q.in_use() == {"gpu": {"cpus": 1, "memory": 512, "gpus": 1}, "small": {
        "cpus": 1, "memory": 512}}  # fmt: skip
    assert q.free(hosts)["gpu"] == {"cpus": 1, "memory": 3584, "gpus": 0}
    assert q.used() == {"gpu": 1, "small": 1}  # slots: the cpus
    q.end(needs_gpu, 0)
    q.schedule(hosts, lambda j: started.append(j["name"]))
    assert started == ["gpu", "thin", "fat"]  # the oldest that fits first
    assert fat["alloc"] == [["gpu", 0, 2]] and second_gpu["reason"] == jq.REASON_SLOTS
    # a bare number is that many cpus, a job asking for none of something ignores it
    assert jq.as_vector(3) == {"cpus": 3}
    bare = q.submit(uid, name="bare", queue="q", needs={"gpus": 0})
    assert q.fit(bare, {"h": 1}) == [["h", 0, 1]]


def test_a_vacated_job_gives_its_resources_back_and_keeps_its_time() -> None:
    q = _queue()
    uid = os.getuid()
    job = q.submit(uid, name="a", queue="q", needs={"memory": 100})
    q.schedule({"h": {"cpus": 1, "memory": 100}}, lambda j: None)
    q.now = 1010.0
    q.vacate(job, held=True)
    assert (job["state"], job["reason"], job["alloc"], job["wall_time"]) == (
        jq.HELD,
        jq.REASON_HELD,
        [],
        10.0,
    )
    assert q.in_use() == {}
    with pytest.raises(jq.BadState):
        q.vacate(job)
    q.release(job)
    q.schedule({"h": {"cpus": 1, "memory": 100}}, lambda j: None)
    q.now = 1015.0
    q.vacate(job)
    assert (job["state"], job["starts"], job["wall_time"]) == (jq.QUEUED, 2, 15.0)
    q.schedule({"h": 1}, lambda j: None)  # no memory offered: it cannot start again
    assert (job["state"], job["reason"]) == (jq.QUEUED, jq.REASON_NEVER)
    q.schedule({"h": {"cpus": 1, "memory": 100}}, lambda j: None)
    q.now = 1020.0
    q.end(job, 0)
    assert job["wall_time"] == 20.0


def test_jobs_in_clusters_keep_their_ids_in_order() -> None:
    q = _queue()
    cluster = q.allocate_id()
    jobs = [q.submit(0, name="p", queue="q", job_id=f"{cluster}.{p}") for p in (0, 1, 10, 2)]
    later = q.submit(0, name="next", queue="q")
    assert [j["id"] for j in q.jobs()] == ["1.0", "1.1", "1.2", "1.10", "2"]
    assert q.get("1.10") is jobs[2] and later["id"] == "2"
    for job in jobs:
        q.cancel(job)
    q.purge(after=0)
    assert [j["id"] for j in q.history()] == ["1.0", "1.1", "1.2", "1.10"]


def test_without_backfill_a_waiting_job_keeps_later_ones_waiting() -> None:
    q = _queue()
    uid = os.getuid()
    running = q.submit(uid, name="r", queue="q")
    q.schedule({"h": 2}, lambda j: None)
    wide = q.submit(uid, name="wide", queue="q", per_chunk=2)
    narrow = q.submit(uid, name="narrow", queue="q")
    q.schedule({"h": 2}, lambda j: None, backfill=False)
    assert running["state"] == jq.RUNNING
    assert (wide["reason"], narrow["reason"], narrow["state"]) == (
        jq.REASON_SLOTS,
        jq.REASON_BLOCKED,
        jq.QUEUED,
    )
    q.schedule({"h": 2}, lambda j: None, backfill=True)
    assert (wide["state"], narrow["state"]) == (jq.QUEUED, jq.RUNNING)
    assert narrow["alloc"] == [["h", 1, 1]]


def test_queue_limits_delay_and_the_front_end_rule_are_reasons() -> None:
    q = _queue()
    uid = os.getuid()
    one = q.submit(uid, name="1", queue="capped")
    two = q.submit(uid, name="2", queue="capped")
    off = q.submit(uid, name="3", queue="off")
    vetoed = q.submit(uid, name="veto", queue="open")
    queues = {"capped": {"max": 1}, "off": {"active": False}}
    rule = lambda j: "front-end-rule" if j["name"] == "veto" else None  # noqa: E731
    q.schedule({"h": 8}, lambda j: None, queues=queues, eligible=rule)
    assert one["state"] == jq.RUNNING
    assert [two["reason"], off["reason"], vetoed["reason"]] == [
        jq.REASON_QUEUE_FULL,
        jq.REASON_QUEUE_INACTIVE,
        "front-end-rule",
    ]
    late = q.submit(uid, name="late", queue="open")
    q.now += 1
    q.schedule({"h": 8}, lambda j: None, delay=5)
    assert (late["state"], late["reason"]) == (jq.QUEUED, jq.REASON_NEW)
    q.now += 5
    q.schedule({"h": 8}, lambda j: None, delay=5)
    assert late["state"] == jq.RUNNING


def test_only_the_owner_or_root_starts_a_job(monkeypatch: pytest.MonkeyPatch) -> None:
    q = _queue()
    job = q.submit(4242, name="other", queue="q")
    monkeypatch.setattr(jq.kernel, "may_start", lambda uid: uid == 4243)
    q.schedule({"h": 1}, lambda j: None)
    assert (job["state"], job["reason"]) == (jq.QUEUED, jq.REASON_OWNER)
    monkeypatch.setattr(jq.kernel, "may_start", lambda uid: uid == 4242)
    q.schedule({"h": 1}, lambda j: None)
    assert job["state"] == jq.RUNNING


def test_only_the_owner_or_root_may_change_a_job(monkeypatch: pytest.MonkeyPatch) -> None:
    q = _queue()
    mine, other = q.submit(4242, name="m", queue="q"), q.submit(4243, name="o", queue="q")
    monkeypatch.setattr(jq.kernel.os, "getuid", lambda: 4242)
    assert (jq.may_change(mine), jq.may_change(other)) == (True, False)
    monkeypatch.setattr(jq.kernel.os, "getuid", lambda: 0)
    assert (jq.may_change(mine), jq.may_change(other)) == (True, True)


def test_cancel_before_the_start_while_starting_and_with_the_supervisor_gone() -> None:
    q = _queue()
    waiting, starting, orphan = (q.submit(os.getuid(), name=n, queue="q") for n in "abc")
    q.cancel(waiting)
    assert (waiting["state"], waiting["end"], waiting["exit_code"]) == (
        jq.ENDED,
        jq.END_CANCELLED,
        None,
    )
    q.start(starting, [["h", 0, 1]])
    starting["supervisor_pid"] = os.getpid()  # alive, the job not started yet
    q.cancel(starting)
    assert starting["state"] == jq.RUNNING
    assert q.record_start(starting, 99999, os.getpid()) is True
    q.start(orphan, [["h", 1, 1]])
    orphan["supervisor_pid"] = _dead_pid()
    q.cancel(orphan)
    assert (orphan["state"], orphan["end"], orphan["exit_code"]) == (jq.ENDED, jq.END_CANCEL, 137)


def test_a_supervisor_that_died_loses_its_job_after_the_grace() -> None:
    q = _queue()
    job = q.submit(os.getuid(), name="a", queue="q")
    q.start(job, [["h", 0, 1]])
    job["supervisor_pid"] = _dead_pid()
    q.now += 1
    assert q.reap(grace=2) == [] and job["state"] == jq.RUNNING
    q.now += 2
    assert q.reap(grace=2) == [job]
    assert (job["state"], job["end"], job["exit_code"]) == (jq.ENDED, jq.END_LOST, None)
    assert q.used() == {}


def test_purge_moves_old_ended_jobs_into_a_bounded_history() -> None:
    q = _queue()
    ended = []
    for n in range(4):
        job = q.submit(os.getuid(), name=str(n), queue="q")
        q.cancel(job)
        ended.append(job)
    q.now += 10
    ended[3]["end_time"] = q.now - 5  # ended later
    live = q.submit(os.getuid(), name="live", queue="q")
    moved = q.purge(after=10, keep=2)
    assert [j["id"] for j in moved] == ["1", "2", "3"]
    assert [j["id"] for j in q.jobs()] == ["4", live["id"]]
    assert [j["id"] for j in q.history()] == ["2", "3", "4"]  # "1" beyond keep=2


def test_a_supervisor_gets_a_minimal_environment_not_the_dispatchers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DISPATCHER_ONLY", "not for the job's owner")
    out = tmp_path / "env.json"
    dump = f"import json, os; open({str(out)!r} + '.tmp', 'w').write(json.dumps(dict(os.environ)))"
    dump += f"; os.rename({str(out)!r} + '.tmp', {str(out)!r})"
    job: dict[str, Any] = {"uid": os.getuid()}
    jq.spawn_supervisor(job, [sys.executable, "-c", dump], EMU_SPOOL="/spool")
    assert job["supervisor_pid"] > 0
    assert wait_for(out.exists, 10)
    env = json.loads(out.read_text())
    assert "DISPATCHER_ONLY" not in env
    assert env["EMU_SPOOL"] == "/spool" and env["PATH"] == jq.SUPERVISOR_ENV["PATH"]


def _process_state(pid: int) -> str:
    """The one-letter state of a process (``T`` stopped, ``S`` sleeping) from /proc."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


def test_a_suspended_job_is_stopped_and_a_cancel_wakes_it_to_die() -> None:
    """suspend/resume stop and continue the job's process group (as bstop/qsig do); a
    cancelled suspended job is continued so that its supervisor's signal can end it."""
    proc = subprocess.Popen(["sleep", "60"], start_new_session=True)
    try:
        q = _queue()
        job = q.submit(os.getuid(), name="a", queue="q")
        q.start(job, [["h", 0, 1]])
        job.update(pgid=proc.pid, supervisor_pid=proc.pid)  # no supervisor: the job itself
        q.suspend(job)
        assert wait_for(lambda: _process_state(proc.pid) == "T", timeout=5)
        q.resume(job)
        assert wait_for(lambda: _process_state(proc.pid) != "T", timeout=5)
        q.suspend(job)
        assert wait_for(lambda: _process_state(proc.pid) == "T", timeout=5)
        q.cancel(job, notify=15)  # the "supervisor" gets SIGTERM: only a running one dies
        assert proc.wait(timeout=5) == -15
    finally:
        proc.kill()
        proc.wait()
