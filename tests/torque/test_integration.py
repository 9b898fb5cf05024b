"""The three backends through the core's loading and action hooks, on the emulator, as alice.

``load_backend(...)`` + ``make_context(prefix=runuser -u alice --)``: the same code path the
spawner uses, without a hub.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
from typing import Any

import pytest
from harness.strict import need, need_root
from jobspawner import JobSpec, JobState, JobStatus
from jobspawner.contract.context import make_context
from jobspawner.contract.status import VANISHED_REASON
from jobspawner.facade.backend import load_backend
from jobspawner.facade.templates import render

FLAVOURS = ["torque", "pbspro", "moab"]
ALICE = ["runuser", "-u", "alice", "--"]


@pytest.fixture(autouse=True)
def _users_and_root() -> None:
    need_root()
    for name in ("alice", "bob"):
        ok = subprocess.run(["id", name], capture_output=True).returncode == 0
        if not ok:
            subprocess.run(["useradd", "-m", name], check=False)
    need(os.path.exists("/usr/bin/python3"), "the emulator needs Debian's /usr/bin/python3")


def make_spec(emu, command: list[str], **resources: Any) -> JobSpec:
    """A spec built like the spawner's (JobSpec.create); ``resources`` override variables."""
    tag = secrets.token_hex(4)
    return JobSpec.create(
        username="alice",
        job_name=f"jupyter-alice-{tag}",
        output_file=f"/home/alice/.pbsemu-tests/job-{tag}.log",
        workdir="/home/alice",
        command=command,
        env={"JOBSPAWNER_TEST": tag},
        options=emu.options(),
        variables=resources,
    )


class Run:
    def __init__(self, emu, flavour: str, monkeypatch) -> None:
        monkeypatch.setenv("PBSEMU_SPOOL", str(emu.spool))
        self.emu = emu
        self.backend = load_backend(flavour)
        self.ctx = make_context(
            self.backend, options=emu.options(), prefix=ALICE, timeout=20, env_keep=["PBSEMU_*"]
        )

    async def submit(self, command: list[str], **resources: Any) -> tuple[str, JobSpec]:
        spec = make_spec(self.emu, command, **resources)
        script = render(self.backend.script_template(spec) or "", spec.variables)
        return await self.backend.submit(self.ctx, spec, script), spec

    async def status(self, job_id: str) -> JobStatus:
        return (await self.backend.query_status(self.ctx, [job_id]))[job_id]

    async def wait(self, job_id: str, predicate, timeout: float = 20) -> JobStatus:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            status = await self.status(job_id)
            if predicate(status):
                return status
            if loop.time() > deadline:
                raise AssertionError(f"job {job_id} stayed {status}")
            await asyncio.sleep(0.2)


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_submit_run_cancel(flavour, make_emulator, monkeypatch):
    emu = make_emulator(flavour, keep_completed=30)
    run = Run(emu, flavour, monkeypatch)
    job_id, spec = await run.submit(["bash", "-c", "echo started $JOBSPAWNER_TEST; sleep 60"])
    if flavour == "moab":
        assert job_id.isdigit()
    else:
        assert job_id.endswith(".vm")
    status = await run.wait(job_id, lambda s: s.state is JobState.RUNNING)
    assert status.host == "vm"
    assert run.backend.get_host(status, run.ctx.options) == "vm"
    assert "running on vm" in run.backend.describe_status(status)
    job = next(iter(emu.state()["jobs"].values()))
    assert job["owner"] == "alice"
    assert job["name"] == spec.job_name
    assert job["output"] == spec.output_file
    log = ""
    for _ in range(50):
        log = await run.backend.read_log(run.ctx, spec.output_file, 5)
        if "started" in log:
            break
        await asyncio.sleep(0.1)
    assert f"started {spec.env['JOBSPAWNER_TEST']}" in log
    await run.backend.cancel(run.ctx, [job_id])
    after = await run.status(job_id)
    assert after.state.finished
    assert not any(j["state"] in ("R", "Q", "E") for j in emu.state()["jobs"].values())


@pytest.mark.parametrize(("flavour", "reason"), [("torque", "signal 15"), ("pbspro", "walltime")])
async def test_walltime_kills_the_job(flavour, reason, make_emulator, monkeypatch):
    emu = make_emulator(flavour, keep_completed=30)
    run = Run(emu, flavour, monkeypatch)
    job_id, spec = await run.submit(["sleep", "60"], runtime="00:00:02", runtime_s=2)
    status = await run.wait(job_id, lambda s: s.state.finished, timeout=15)
    assert status.state is JobState.FAILED
    assert reason in status.reason
    log = await run.backend.read_log(run.ctx, spec.output_file, 5)
    assert "=>> PBS: job killed: walltime" in log


@pytest.mark.parametrize(
    ("flavour", "words"),
    [
        ("torque", "all nodes of the kind it needs are busy"),
        ("pbspro", "not enough free CPUs right now"),
        ("moab", "waiting for free resources"),
    ],
)
async def test_queued_job_shows_reason_and_is_removed(flavour, words, make_emulator, monkeypatch):
    emu = make_emulator(flavour, nodes={"vm": 1})
    run = Run(emu, flavour, monkeypatch)
    submit = "msub" if flavour == "moab" else "qsub"
    blocker = emu.run(submit, stdin="#!/bin/bash\nsleep 60\n", user="bob").stdout.strip()
    job_id, _ = await run.submit(["sleep", "60"])
    status = await run.wait(job_id, lambda s: s.state is JobState.PENDING)
    assert words in run.backend.describe_status(status)
    await run.backend.cancel(run.ctx, [job_id])
    assert (await run.status(job_id)).state.finished
    assert (
        emu.run(
            "qdel" if flavour != "moab" else "mjobctl",
            *(["-c"] if flavour == "moab" else []),
            blocker,
        ).returncode
        == 0
    )


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_held_job_is_not_finished(flavour, make_emulator, monkeypatch):
    emu = make_emulator(flavour)
    run = Run(emu, flavour, monkeypatch)
    submit = "msub" if flavour == "moab" else "qsub"
    job_id = emu.run(submit, "-h", stdin="#!/bin/bash\nsleep 60\n", user="alice").stdout.strip()
    status = await run.status(job_id)
    assert status.state is JobState.HELD
    assert not status.state.finished
    assert "hold" in run.backend.describe_status(status)
    emu.run("qrls", job_id, user="alice")
    assert (
        await run.wait(job_id, lambda s: s.state is not JobState.HELD)
    ).state is JobState.RUNNING
    await run.backend.cancel(run.ctx, [job_id])


async def test_finished_jobs_vanish_without_history(make_emulator, monkeypatch):
    for flavour, config in (
        ("torque", {"keep_completed": 0}),
        ("pbspro", {"job_history_enable": False}),
    ):
        emu = make_emulator(flavour, **config)
        run = Run(emu, flavour, monkeypatch)
        job_id, _ = await run.submit(["true"])
        status = await run.wait(job_id, lambda s: s.state.finished)
        assert (status.state, status.reason) == (JobState.DONE, VANISHED_REASON)


async def test_unreachable_server_is_unknown_not_gone(make_emulator, monkeypatch):
    emu = make_emulator("pbspro", down=True)
    run = Run(emu, "pbspro", monkeypatch)
    status = await run.status("1.vm")
    assert status.state is JobState.UNKNOWN
    assert "errno=15010" in status.reason


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_many_jobs_in_one_query(flavour, make_emulator, monkeypatch):
    emu = make_emulator(flavour, nodes={"vm": 2})
    run = Run(emu, flavour, monkeypatch)
    ids = [(await run.submit(["sleep", "60"]))[0] for _ in range(4)]
    statuses = await run.backend.query_status(
        run.ctx, [*ids, "9999" if flavour == "moab" else "9999.vm"]
    )
    states = sorted(statuses[i].state.value for i in ids)
    assert states == ["pending", "pending", "running", "running"]
    assert statuses["9999" if flavour == "moab" else "9999.vm"].reason == VANISHED_REASON
    await run.backend.cancel(run.ctx, ids)


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_discover_resources(flavour, make_emulator, monkeypatch):
    emu = make_emulator(flavour, nodes={"n1": 4, "n2": 4})
    run = Run(emu, flavour, monkeypatch)
    (queue,) = await run.backend.discover_resources(run.ctx)
    assert queue.name == "batch"
    assert queue.default
    assert queue.max_time_s == 24 * 3600
    assert queue.default_time_s == 3600
    assert (queue.nodes, queue.cpus_per_node, queue.total_cpus, queue.idle_cpus) == (2, 4, 8, 8)
    assert queue.memory_per_node_mb == 4096
    assert queue.node_states == {"free": 2}


async def test_moab_status_through_mdiag(make_emulator, monkeypatch):
    emu = make_emulator("moab")
    run = Run(emu, "moab", monkeypatch)
    run.ctx.options = {**run.ctx.options, "status_tool": "mdiag"}
    assert run.backend.status_command(["1"], run.ctx.options).argv[1:] == ("-j", "--xml")
    job_id, _ = await run.submit(["sleep", "60"])
    status = await run.wait(job_id, lambda s: s.state is JobState.RUNNING)
    assert status.host == "vm"
    await run.backend.cancel(run.ctx, [job_id])
    assert (await run.status(job_id)).state is JobState.CANCELLED  # from showq -c


async def test_torque_tracejob_history_gives_the_exit_code(make_emulator, monkeypatch):
    emu = make_emulator("torque", keep_completed=0)
    run = Run(emu, "torque", monkeypatch)
    run.ctx.options = {**run.ctx.options, "history": "tracejob"}
    job_id, _ = await run.submit(["bash", "-c", "exit 3"])
    status = await run.wait(job_id, lambda s: s.state.finished)
    assert (status.state, status.exit_code) == (JobState.FAILED, 3)


@pytest.mark.parametrize(
    ("flavour", "expected"),
    [
        ("torque", {"nodes": "1:ppn=2", "mem": "512mb", "walltime": "00:10:00"}),
        ("pbspro", {"select": "1:ncpus=2:mem=512mb", "walltime": "00:10:00"}),
        ("moab", {"nodes": "1:ppn=2", "mem": "512mb", "walltime": "00:10:00", "qos": "debug"}),
    ],
)
async def test_default_script_directives_reach_the_scheduler(
    flavour, expected, make_emulator, monkeypatch
):
    emu = make_emulator(flavour)
    run = Run(emu, flavour, monkeypatch)
    resources = dict(queue="batch", runtime="00:10:00", cpus=2, memory_mb=512, account="proj7")
    if flavour == "moab":
        resources["qos"] = "debug"
    job_id, spec = await run.submit(["sleep", "60"], **resources)
    (job,) = emu.state()["jobs"].values()
    assert {k: job["resources"][k] for k in expected} == expected
    assert (job["queue"], job["account"], job["name"]) == ("batch", "proj7", spec.job_name)
    assert job["join"] == "oe" and job["output"] == spec.output_file
    await run.backend.cancel(run.ctx, [job_id])
