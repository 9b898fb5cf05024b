"""The HTCondor emulator: its formats against real outputs, and its scheduling behaviour."""

from __future__ import annotations

import json
import os
import re
import stat
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from condor.condorkit import BIN, HERE, Pool, emulator_module, fixture, wait_for


def local_ts(text: str) -> int:
    return int(time.mktime(time.strptime(f"2024/{text}", "%Y/%m/%d %H:%M")))


# --- formats, checked against the verbatim samples ----------------------------------------


def test_executables_are_world_readable_and_use_debian_python() -> None:
    target = (HERE / "emulator" / "condor_emu.py").resolve()
    assert target.read_text().startswith("#!/usr/bin/python3\n")
    for path in [target, HERE / "emulator" / "condor_classad.py"]:
        assert path.stat().st_mode & stat.S_IROTH
    assert target.stat().st_mode & stat.S_IXOTH
    for tool in ("condor_submit", "condor_q", "condor_history", "condor_rm", "condor_status"):
        assert (BIN / tool).resolve() == target


def test_nobatch_layout_reproduces_the_real_one() -> None:
    emu = emulator_module()
    real = fixture("q-nobatch-one-running.txt").splitlines()
    ad = {
        "ClusterId": 6,
        "ProcId": 0,
        "Owner": "kris",
        "QDate": local_ts("2/13 10:49"),
        "JobStatus": 2,
        "JobCurrentStartDate": int(time.time()) - 3,
        "JobPrio": 0,
        "ImageSize": int(97.7 * 1024) + 1,
        "Cmd": "/home/kris/sleep.sh",
    }
    ours = emu.write_nobatch([ad]).splitlines()
    assert ours[2] == real[1]  # column header
    assert ours[3] == real[2]  # the job's row, byte for byte
    assert ours[4:] == real[3:]  # empty line, totals line
    assert re.fullmatch(r"-- Submitter: \S+ : <[^>]+> : \S+", ours[1])


def test_empty_queue_layout() -> None:
    emu = emulator_module()
    real = fixture("q-nobatch-empty.txt").splitlines()
    ours = emu.write_nobatch([]).splitlines()
    assert ours[2:] == real[4:]


def test_batch_layout_reproduces_the_real_columns() -> None:
    emu = emulator_module()
    real = fixture("q-batch.txt").splitlines()
    held = {
        "ClusterId": 3671850,
        "ProcId": 0,
        "Owner": "nemo",
        "JobBatchName": "batch23",
        "QDate": local_ts("4/22 20:44"),
        "JobStatus": 5,
    }
    ours = emu.write_batch([held]).splitlines()
    assert ours[2] == real[2]
    # the docs' row shows "_" in TOTAL (abridged example); every other column is identical
    assert ours[3] == real[3][:62] + "     1" + real[3][68:]
    assert re.fullmatch(r"-- Schedd: \S+ : <.*@ \d\d/\d\d/\d\d \d\d:\d\d:\d\d", ours[1])
    assert ours[-1] == "1 jobs; 0 completed, 0 removed, 0 idle, 0 running, 1 held, 0 suspended"
    assert re.fullmatch(r"\d+ jobs; \d+ completed, \d+ removed, \d+ idle, .*", real[-1])


def test_submit_outputs_match_the_real_ones(pool: Pool) -> None:
    exe = pool.script("sleep.sh", "sleep 0.1\n")
    desc_file = pool.jobs / "job.sub"
    desc_file.write_text(pool.description(exe))
    os.chmod(desc_file, 0o644)
    r = pool.run("condor_submit", str(desc_file), user="alice")
    assert r.returncode == 0 and r.stderr == ""
    pattern = re.escape(fixture("submit-normal.txt")).replace("6", r"\d+")
    assert re.fullmatch(pattern, r.stdout), r.stdout
    r = pool.run("condor_submit", "-terse", "-", user="alice", stdin=pool.description(exe))
    terse = re.escape(fixture("submit-terse.txt")).replace("15", r"\d+")
    assert re.fullmatch(terse + r"\n", r.stdout), r.stdout
    r = pool.run("condor_submit", "-", user="alice", stdin=pool.description(exe))
    assert re.match(r"\n\*\* Proc \d+\.0:\n", r.stdout) and 'Owner = "alice"' in r.stdout


def test_submit_errors(pool: Pool) -> None:
    r = pool.run("condor_submit", "-terse", "-", stdin=pool.description("/nonexistent/x.sh"))
    assert r.returncode == 1
    assert r.stderr == "\nERROR: Executable file /nonexistent/x.sh does not exist\n"
    exe = pool.script("x.sh", "true\n")
    r = pool.run("condor_submit", "-terse", "-", stdin=pool.description(exe, queue=""))
    assert r.returncode == 1
    assert 'doesn\'t contain any "queue" commands' in r.stderr
    assert pool.state().get("jobs", {}) == {}


def test_format_and_json_outputs(pool: Pool) -> None:
    exe = pool.script("sleep.sh", "sleep 30\n")
    assert pool.run("condor_q", "-allusers", "-json").stdout == ""  # nothing, not []
    cluster = pool.submit(pool.description(exe, queue="queue 3")).split(".")[0]
    r = pool.run(
        "condor_q", "-format", "%d.", "ClusterId", "-format", r"%d\n", "ProcId", user="alice"
    )
    real = fixture("q-format-ids.txt").splitlines()
    assert all(re.fullmatch(r"\d+\.\d+", line) for line in real)
    assert r.stdout.splitlines() == [f"{cluster}.{p}" for p in range(3)]
    r = pool.run("condor_q", "-allusers", "-json", "-attributes", "ProcId,ClusterId,Cmd", cluster)
    lines = r.stdout.splitlines()
    assert lines[0] == "[" and lines[1] == "{" and lines[-1] == "]"
    assert lines.count(",") == 2 and lines.count("}") == 3
    assert lines[2:5] == [f'  "ClusterId": {cluster},', f'  "Cmd": "{exe}",', '  "ProcId": 0']
    assert [ad["ProcId"] for ad in json.loads(r.stdout)] == [0, 1, 2]
    r = pool.run("condor_q", "-allusers", "-json", "-attributes", "Requirements", f"{cluster}.0")
    req = json.loads(r.stdout)[0]["Requirements"]
    assert req.startswith("/Expr(") and '"\\/Expr(' in r.stdout
    r = pool.run("condor_q", f"{cluster}.1", "-af:j", "Owner", "RequestCpus")
    assert r.stdout == f"{cluster}.1 alice 1\n"


def test_rm_messages_and_exit_codes(pool: Pool) -> None:
    exe = pool.script("sleep.sh", "sleep 30\n")
    job = pool.submit(pool.description(exe))
    r = pool.run("condor_rm", job, user="bob")
    assert r.returncode == 1 and f"Permission denied to remove job {job}" in r.stderr
    r = pool.run("condor_rm", "999.0", user="alice")
    assert r.returncode == 1 and "Job 999.0 not found" in r.stderr.splitlines()
    r = pool.run("condor_rm", job, user="alice")
    assert (r.returncode, r.stdout) == (0, f"Job {job} marked for removal\n")
    wait_for(lambda: pool.history(job))
    assert pool.history(job)["JobStatus"] == 3  # type: ignore[index]
    r = pool.run("condor_rm", job.split(".")[0])
    assert r.returncode == 1 and r.stderr.endswith(
        f"Couldn't find/remove all jobs in cluster {job.split('.')[0]}\n"
    )


# --- behaviour -----------------------------------------------------------------------------


def test_job_runs_as_the_submitter_with_its_files(pool: Pool) -> None:
    exe = pool.script("who.sh", 'echo "user=$(id -un) dir=$PWD arg=$1 site=$SITE"; exit 4\n')
    job = pool.submit(
        pool.description(
            exe,
            'arguments = "one"',
            "environment = \"SITE='a b'\"",
            f"log = {pool.jobs}/events.log",
        )
    )
    ad = wait_for(lambda: pool.history(job), timeout=10)
    assert (ad["JobStatus"], ad["ExitCode"], ad["Owner"]) == (4, 4, "alice")
    assert ad["LastRemoteHost"].startswith("slot1_1@")
    out = Path(f"{pool.jobs}/out.{job.split('.')[0]}.txt")
    assert out.read_text() == f"user=alice dir={pool.jobs} arg=one site=a b\n"
    assert out.stat().st_uid == os.stat(exe).st_uid
    events = (pool.jobs / "events.log").read_text()
    assert [e[:3] for e in events.split("...\n") if e] == ["000", "001", "005"]
    assert "(1) Normal termination (return value 4)" in events
    r = pool.run(
        "condor_history", "-json", "-limit", "1", "-constraint", f"ClusterId == {ad['ClusterId']}"
    )
    assert json.loads(r.stdout)[0]["ExitCode"] == 4


def test_concurrent_submissions_get_distinct_ids(pool: Pool) -> None:
    exe = pool.script("true.sh", "sleep 20\n")
    os.chmod(exe, 0o755)
    desc = pool.description(exe, "request_memory = 1")

    def one(i: int) -> str:
        return pool.submit(desc, user="alice" if i % 2 else "bob")

    with ThreadPoolExecutor(max_workers=8) as ex:
        ids = list(ex.map(one, range(8)))
    assert len(set(ids)) == 8
    jobs = pool.state()["jobs"]
    assert set(ids) <= set(jobs)
    assert {jobs[i]["Owner"] for i in ids} == {"alice", "bob"}


def test_capacity_keeps_jobs_idle_with_a_reason(pool: Pool) -> None:
    pool.machine(cpus=2, memory=4096)
    exe = pool.script("sleep.sh", "sleep ${1:-30}\n")
    # "a" ends when told (not after a fixed time, which a loaded machine can outlast before
    # "c" is looked at)
    may_end = pool.jobs / "a-may-end"
    until = pool.script("until.sh", 'while [ ! -e "$1" ]; do sleep 0.1; done\n')
    running = lambda job: (pool.job(job) or {}).get("JobStatus") == 2  # noqa: E731
    a = pool.submit(pool.description(until, "request_cpus = 1", f'arguments = "{may_end}"'))
    wait_for(lambda: running(a))
    b = pool.submit(pool.description(exe, "request_cpus = 1"))
    wait_for(lambda: running(b))
    c = pool.submit(pool.description(exe, "request_cpus = 1"))
    huge = pool.submit(pool.description(exe, "request_memory = 64 GB"))
    reason = lambda job: (pool.job(job) or {}).get("LastRejMatchReason")  # noqa: E731
    wait_for(lambda: reason(c) == reason(huge) == "no match found")
    assert pool.job(b)["JobStatus"] == 2  # type: ignore[index]
    assert pool.job(huge)["RequestMemory"] == 65536  # type: ignore[index]
    assert pool.job(c)["JobStatus"] == 1  # type: ignore[index]
    may_end.touch()
    wait_for(lambda: running(c), timeout=10)  # a ended, c got its CPU
    assert pool.history(a)["ExitCode"] == 0  # type: ignore[index]
    assert pool.job(huge)["JobStatus"] == 1  # type: ignore[index]
    r = pool.run("condor_status", "-af", "Name", "Cpus", "State")
    assert r.stdout.splitlines()[0].endswith(" 0 Unclaimed")


def test_hold_and_release(pool: Pool) -> None:
    exe = pool.script("sleep.sh", "echo started; sleep 30\n")
    job = pool.submit(pool.description(exe))
    wait_for(lambda: (pool.job(job) or {}).get("JobStatus") == 2)
    r = pool.run("condor_hold", job)
    assert (r.returncode, r.stdout) == (0, f"Job {job} held\n")
    ad = wait_for(lambda: (pool.job(job) or {}).get("RemoteHost") is None and pool.job(job))
    assert (ad["JobStatus"], ad["HoldReason"], ad["HoldReasonCode"]) == (
        5,
        "via condor_hold (by user root)",
        1,
    )
    assert pool.run("condor_hold", job).stderr.strip() == f"Job {job} already held"
    r = pool.run("condor_release", job, user="alice")
    assert r.stdout == f"Job {job} released\n"
    ad = wait_for(lambda: (pool.job(job) or {}).get("JobStatus") == 2 and pool.job(job))
    assert ad["NumJobStarts"] == 2 and ad["LastHoldReason"] == "via condor_hold (by user root)"


def test_failing_start_puts_the_job_on_hold(pool: Pool) -> None:
    exe = pool.script("x.sh", "true\n")
    desc = pool.description(exe).replace(f"output = {pool.jobs}", "output = /nonexistent")
    job = pool.submit(desc)
    ad = wait_for(lambda: (pool.job(job) or {}).get("JobStatus") == 5 and pool.job(job))
    assert (ad["HoldReasonCode"], ad["HoldReasonSubCode"]) == (7, 2)
    assert re.fullmatch(
        r"Error from slot1_1@\S+: Failed to open '/nonexistent/out\.\d+\.txt' as standard "
        r"output: No such file or directory \(errno 2\)",
        ad["HoldReason"],
    )


def test_walltime_by_periodic_remove(pool: Pool) -> None:
    exe = pool.script("sleep.sh", "sleep 30\n")
    job = pool.submit(
        pool.description(
            exe,
            "+MaxRuntime = 1",
            "periodic_remove = (JobStatus == 2) && ((time() - EnteredCurrentStatus) > 1)",
        )
    )
    ad = wait_for(lambda: pool.history(job), timeout=10)
    assert ad["JobStatus"] == 3 and ad["MaxRuntime"] == 1
    assert ad["RemoveReason"].startswith("The job attribute PeriodicRemove expression")


def test_pool_policy_enforces_max_runtime(pool: Pool) -> None:
    pool.machine(
        system_periodic_remove="(JobStatus == 2) && (MaxRuntime =!= undefined) && "
        "((time() - EnteredCurrentStatus) > MaxRuntime)"
    )
    exe = pool.script("sleep.sh", "sleep 30\n")
    job = pool.submit(pool.description(exe, "+MaxRuntime = 1"))
    other = pool.submit(pool.description(exe))
    ad = wait_for(lambda: pool.history(job), timeout=10)
    assert ad["RemoveReason"].startswith("The system macro SYSTEM_PERIODIC_REMOVE expression")
    assert (pool.job(other) or {}).get("JobStatus") == 2  # no MaxRuntime: undefined, kept
