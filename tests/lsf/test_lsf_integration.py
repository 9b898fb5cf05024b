"""The backend through the core's facade (load_backend + make_context) on the emulator, as
alice through runuser: submit, status for many jobs in one bjobs call, pending reasons,
cancel, run limits, forgotten jobs and bacct, resource discovery."""

from __future__ import annotations

import asyncio
import os
import re
import time
from pathlib import Path

import pytest
from jobspawner import JobState
from jobspawner.contract.context import BackendContext, make_context
from jobspawner.facade.backend import Backend, load_backend
from jobspawner.testing import record_queries
from lsf.lsfkit import Emulator, make_spec

USER = "alice"

#: the emulator's own variables, kept by the commands (as a site keeps its scheduler's)
EMULATOR_ENV = ["LSF_EMU_*"]


@pytest.fixture
def backend() -> Backend:
    return load_backend("lsf")


@pytest.fixture
def ctx(emulator: Emulator, backend: Backend, monkeypatch: pytest.MonkeyPatch) -> BackendContext:
    for name, value in emulator.env.items():
        monkeypatch.setenv(name, value)
    return make_context(
        backend,
        options={},
        prefix=["runuser", "-u", USER, "--"],
        username=USER,
        env_keep=EMULATOR_ENV,
    )


async def submit(
    backend: Backend, ctx: BackendContext, emulator: Emulator, name: str = "jupyter-alice", **kw
) -> tuple[str, str]:
    output = os.path.join(emulator.outdir(), name, f"{name}.log")  # a folder of its submitter
    kw.setdefault("command", ("sleep", "60"))
    spec = make_spec(output_file=output, job_name=name, options=ctx.options, **kw)
    script = backend.render_script(spec, backend.script_template(spec))
    return await backend.submit(ctx, spec, script), output


async def wait_state(
    backend: Backend, ctx: BackendContext, job_id: str, states: set[JobState], timeout: float = 20
):
    deadline = time.monotonic() + timeout
    while True:
        status = (await backend.query_status(ctx, [job_id]))[job_id]
        if status.state in states or time.monotonic() > deadline:
            return status
        await asyncio.sleep(0.1)


async def test_one_job_runs_as_alice_and_is_cancelled(backend, ctx, emulator) -> None:
    started = os.path.join(emulator.outdir(), "echoed")  # a cancel before would leave no line
    job_id, output = await submit(
        backend,
        ctx,
        emulator,
        command=("bash", "-c", f'echo "id=$(id -un) job=$LSB_JOBID"; touch {started}; sleep 60'),
    )
    assert re.fullmatch(r"\d+", job_id)
    status = await wait_state(backend, ctx, job_id, {JobState.RUNNING})
    assert status.state is JobState.RUNNING and status.native_state == "RUN"
    assert status.host == emulator.run(None, "hostname").stdout.strip().split(".")[0]
    assert backend.get_host(status, ctx.options) == status.host
    assert await backend.read_log(ctx, output, 5) == ""  # LSF spools output until the end
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not os.path.exists(started):
        await asyncio.sleep(0.1)
    await backend.cancel(ctx, [job_id])  # returns once confirmed
    status = (await backend.query_status(ctx, [job_id]))[job_id]
    assert status.state.finished and status.native_state == "EXIT"
    assert status.exit_code == 130  # SIGINT first, like bkill
    # the -o file: LSF's job report first, the job's own output last (what a log tail shows)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and "follows" not in await backend.read_log(ctx, output, 40):
        await asyncio.sleep(0.1)
    log = await backend.read_log(ctx, output, 40)
    assert log.startswith("Sender: LSF System")
    assert f"Subject: Job {job_id}: <jupyter-alice> in cluster <emulated> Exited" in log
    assert "TERM_OWNER: job killed by owner." in log
    assert log.rstrip().endswith(f"id={USER} job={job_id}")
    assert os.stat(output).st_uid == os.stat(f"/home/{USER}").st_uid  # written by alice


async def test_direct_output_is_visible_while_the_job_runs(backend, ctx, emulator) -> None:
    emulator.configure(stdout_direct=True)  # LSB_STDOUT_DIRECT=Y
    job_id, output = await submit(
        backend, ctx, emulator, command=("bash", "-c", "echo started; sleep 60")
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and "started" not in await backend.read_log(ctx, output, 5):
        await asyncio.sleep(0.1)
    assert await backend.read_log(ctx, output, 5) == "started\n"
    await backend.cancel(ctx, [job_id])


async def test_many_jobs_in_one_bjobs_call(backend, ctx, emulator) -> None:
    emulator.configure(slots=3)
    ids = [(await submit(backend, ctx, emulator, name=f"many{n}"))[0] for n in range(5)]
    fast, _ = await submit(backend, ctx, emulator, name="fast", command=("true",))
    calls = record_queries(ctx)
    statuses = await backend.query_status(ctx, [*ids, fast, "999999"])
    assert [c[0] for c in calls] == ["bjobs", "bacct"]  # one bjobs, then bacct for the rest
    assert "-json" in calls[0] and ctx.query_runner.prefix == ("runuser", "-u", USER, "--")
    assert calls[1][-1] == "999999"
    states = [statuses[i].state for i in ids]
    assert states[:3] == [JobState.RUNNING] * 3
    assert states[3:] == [JobState.PENDING] * 2
    assert "Not enough job slot(s)" in (statuses[ids[3]].reason or "")
    assert statuses[fast].state is JobState.PENDING  # FIFO: behind the others
    assert statuses["999999"].state is JobState.DONE  # vanished: unknown to bjobs and bacct
    assert "no longer lists" in (statuses["999999"].reason or "")
    await backend.cancel(ctx, ids[:1])
    status = await wait_state(backend, ctx, ids[3], {JobState.RUNNING})
    assert status.state is JobState.RUNNING  # the freed slot went to the next job
    await backend.cancel(ctx, [*ids, fast])


async def test_pending_reason_in_plain_words_and_cancel_while_pending(
    backend, ctx, emulator
) -> None:
    emulator.configure(slots=1)
    blocker = emulator.run("bob", "bsub", "-J", "blocker", "sleep", "60")
    blocker_id = re.search(r"<(\d+)>", blocker.stdout).group(1)
    emulator.wait_for(blocker_id, ("RUN",))
    job_id, _ = await submit(backend, ctx, emulator)
    status = (await backend.query_status(ctx, [job_id]))[job_id]
    assert status.state is JobState.PENDING and status.host is None
    text = backend.describe_status(status)
    assert text.startswith("Your job is waiting in the queue")
    assert "job slots are busy" in text
    await backend.cancel(ctx, [job_id])
    assert (await backend.query_status(ctx, [job_id]))[job_id].state.finished
    assert emulator.wait_for(blocker_id, ("RUN",)) == "RUN"  # bob's job is untouched


async def test_queue_limit_reason(backend, ctx, emulator) -> None:
    queues = [dict(q, max=1) if q["name"] == "short" else q for q in emulator_queues()]
    emulator.configure(queues=queues)
    first, _ = await submit(backend, ctx, emulator, name="q1", queue="short")
    second, _ = await submit(backend, ctx, emulator, name="q2", queue="short")
    statuses = await backend.query_status(ctx, [first, second])
    assert statuses[first].state is JobState.RUNNING
    assert statuses[second].reason == "The queue has reached its job slot limit"
    assert "queue is full" in backend.describe_status(statuses[second])


def emulator_queues() -> list[dict]:
    from lsf.lsfkit import load_emulator

    return load_emulator().DEFAULT_CONFIG["queues"]


async def test_walltime_kills_the_job(backend, ctx, emulator) -> None:
    emulator.configure(runlimit_scale=1)  # one "minute" of -W lasts one second
    job_id, _ = await submit(backend, ctx, emulator, runtime_s=60)
    status = await wait_state(backend, ctx, job_id, {JobState.FAILED, JobState.DONE}, 15)
    assert status.state is JobState.FAILED and status.exit_code == 140  # SIGUSR2 + 128
    assert "run time limit" in (status.reason or "")


async def test_forgotten_jobs_come_from_bacct(backend, ctx, emulator) -> None:
    emulator.configure(clean_period=1)
    ok, _ = await submit(backend, ctx, emulator, name="ok", command=("true",))
    bad, _ = await submit(backend, ctx, emulator, name="bad", command=("false",))
    assert (await wait_state(backend, ctx, ok, {JobState.DONE})).exit_code == 0
    await wait_state(backend, ctx, bad, {JobState.FAILED})
    await asyncio.sleep(1.5)
    out = emulator.run(USER, "bjobs", "-noheader", "-o", "stat", ok, bad)
    assert out.stderr.count("is not found") == 2
    statuses = await backend.query_status(ctx, [ok])
    assert statuses[ok].state is JobState.DONE and statuses[ok].reason == "from bacct"
    statuses = await backend.query_status(ctx, [bad])
    assert statuses[bad].state is JobState.FAILED
    # both at once: bacct's summary cannot tell which ended how, so they are "vanished"
    both = await backend.query_status(ctx, [ok, bad])
    assert {s.reason for s in both.values()} == {
        "the scheduler no longer lists this job; it has ended"
    }


async def test_delimited_fallback_and_wait_lines(backend, emulator, monkeypatch) -> None:
    for name, value in {**emulator.env, "LSF_EMU_BUSY_LINES": "2"}.items():
        monkeypatch.setenv(name, value)
    ctx = make_context(
        backend, {"bjobs_json": False}, prefix=["runuser", "-u", USER, "--"], env_keep=EMULATOR_ENV
    )
    emulator.configure(slots=1)
    running, _ = await submit(backend, ctx, emulator, name="d1")
    pending, _ = await submit(backend, ctx, emulator, name="d2")
    calls = record_queries(ctx)
    statuses = await backend.query_status(ctx, [running, pending])
    assert "-noheader" in calls[0] and "-json" not in calls[0]
    assert statuses[running].state is JobState.RUNNING and statuses[running].host
    assert statuses[pending].state is JobState.PENDING
    assert statuses[pending].reason == "Not enough job slot(s)"
    await backend.cancel(ctx, [running, pending])


async def test_not_found_on_stderr_in_json_mode(backend, ctx, emulator) -> None:
    emulator.configure(json_not_found="stderr")
    job_id, _ = await submit(backend, ctx, emulator)
    statuses = await backend.query_status(ctx, [job_id, "424242"])
    assert statuses[job_id].state in (JobState.RUNNING, JobState.PENDING)
    assert statuses["424242"].state is JobState.DONE
    await backend.cancel(ctx, [job_id])


async def test_concurrent_submissions_get_distinct_ids(backend, ctx, emulator) -> None:
    emulator.configure(slots=2)
    results = await asyncio.gather(
        *(submit(backend, ctx, emulator, name=f"c{n}", command=("true",)) for n in range(8))
    )
    ids = [job_id for job_id, _ in results]
    assert len(set(ids)) == 8
    statuses = await backend.query_status(ctx, ids)
    deadline = time.monotonic() + 20
    while not all(s.state is JobState.DONE for s in statuses.values()):
        assert time.monotonic() < deadline, statuses
        await asyncio.sleep(0.2)
        statuses = await backend.query_status(ctx, ids)
    assert {s.exit_code for s in statuses.values()} == {0}


async def test_resources_from_bqueues(backend, ctx, emulator) -> None:
    queues = await backend.discover_resources(ctx)
    by_name = {q.name: q for q in queues}
    assert set(by_name) == {"normal", "short"}
    assert by_name["normal"].default and not by_name["short"].default
    assert by_name["normal"].max_time_s == 720 * 60
    assert by_name["short"].max_time_s == 3600 and by_name["short"].default_time_s == 1800
    assert by_name["short"].memory_per_node_mb == 8192
    assert by_name["normal"].state == "Open:Active"


async def test_submit_error_is_explained(backend, ctx, emulator) -> None:
    with pytest.raises(Exception) as info:
        await submit(backend, ctx, emulator, queue="nosuchqueue")
    assert "nosuchqueue: No such queue. Job not submitted." in str(info.value)


async def test_job_report_repeats_the_script_so_the_log_folder_is_private(
    backend, ctx, emulator
) -> None:
    folder = f"/home/{USER}/.jobspawner-lsf-test-{os.getpid()}/logs"
    output = f"{folder}/job.log"
    spec = make_spec(output_file=output, command=("true",), options=ctx.options)
    script = backend.render_script(spec, backend.script_template(spec))
    try:
        job_id = await backend.submit(ctx, spec, script)
        status = await wait_state(backend, ctx, job_id, {JobState.DONE, JobState.FAILED})
        assert status.state is JobState.DONE and status.exit_code == 0
        assert os.stat(folder).st_mode & 0o777 == 0o700
        log = Path(output).read_text()
        assert "# LSBATCH: User input" in log and "Successfully completed." in log
        # the report repeats the script: the token is not in it, only its private file's name
        assert "JOBSPAWNER_SECRETS_FILE=" in log and "secret-token" not in log
    finally:
        emulator.run(None, "rm", "-rf", os.path.dirname(folder))


async def test_status_as_the_hub_user_covers_every_user_and_starts_jobs_as_their_owner(
    backend, emulator, monkeypatch
) -> None:
    """Sites may poll as the hub's user (status_exec_prefix = []): one bjobs for all users.
    The emulator then starts a waiting job as its owner, not as root."""
    for name, value in emulator.env.items():
        monkeypatch.setenv(name, value)
    emulator.configure(slots=1)
    alice = make_context(
        backend, {}, prefix=["runuser", "-u", "alice", "--"], query_prefix=[], env_keep=EMULATOR_ENV
    )
    bob = make_context(
        backend, {}, prefix=["runuser", "-u", "bob", "--"], query_prefix=[], env_keep=EMULATOR_ENV
    )
    bob_job, _ = await submit(backend, bob, emulator, name="bobs")
    # the job says it has written its user name (a cancel that comes before would leave none)
    started = os.path.join(emulator.outdir(), "alices.started")
    alice_job, output = await submit(
        backend,
        alice,
        emulator,
        name="alices",
        command=("bash", "-c", f"id -un; touch {started}; sleep 60"),
    )
    statuses = await backend.query_status(alice, [bob_job, alice_job])
    assert statuses[bob_job].state is JobState.RUNNING
    assert statuses[alice_job].state is JobState.PENDING
    # bob's job ends; its supervisor (bob) may not start alice's job: the next query does
    emulator.run("bob", "bkill", bob_job)
    status = await wait_state(backend, alice, alice_job, {JobState.RUNNING})
    assert status.state is JobState.RUNNING
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not os.path.exists(started):
        await asyncio.sleep(0.1)
    await backend.cancel(alice, [alice_job])
    # the job's end is recorded once its output is complete (report, then what it wrote)
    emulator.wait_for(alice_job, ("EXIT", "DONE"), timeout=10)
    assert Path(output).read_text().rstrip().endswith("alice")
    assert os.stat(output).st_uid == os.stat("/home/alice").st_uid
