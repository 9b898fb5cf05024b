"""The Slurm backend against a real Slurm 22.05: submit, status, cancel, reasons, discovery.

Everything goes through ``load_backend("slurm")`` and the core's action hooks, with jobs
submitted as alice through ``runuser`` (as the spawner does with its exec prefix).
"""

from __future__ import annotations

import asyncio
import pwd
import subprocess
import uuid
from collections.abc import Mapping, Sequence

import pytest
from jobspawner import Command, CommandError, CommandResult, JobState, JobStatus
from jobspawner.contract.commands import CommandRunner
from jobspawner.contract.context import BackendContext, make_context
from jobspawner.contract.status import VANISHED_REASON
from jobspawner.facade.backend import Backend, load_backend
from slurm import cluster as slurm_cluster_module
from slurm.helpers import make_spec, remove_job_logs, running, squeue_active, wait_for, wait_for_log

pytestmark = [pytest.mark.scheduler("slurm"), pytest.mark.root]

LOG_DIR = "/home/{user}/.jobspawner-slurm-tests"


class RecordingRunner(CommandRunner):
    """A runner that remembers every command it ran (to count squeue calls)."""

    def __init__(self, *a, **kw) -> None:
        super().__init__(*a, **kw)
        self.ran: list[Command] = []

    async def run(self, command: Command, check: bool = True) -> CommandResult:
        self.ran.append(command)
        return await super().run(command, check=check)


@pytest.fixture(scope="module")
def backend() -> Backend:
    return load_backend("slurm")


@pytest.fixture(scope="module", autouse=True)
def _remove_job_logs():
    yield from remove_job_logs(LOG_DIR)


def context(backend: Backend, user: str = "alice", options: Mapping | None = None):
    prefix = ["runuser", "-u", user, "--"]
    return BackendContext(
        backend=backend,
        runner=RecordingRunner(prefix, timeout=30, env={"HUB_SECRET": "do-not-leak"}),
        query_runner=RecordingRunner(prefix, timeout=30),
        options=dict(options or {}),
        username=user,
    )


async def submit(
    backend: Backend,
    ctx: BackendContext,
    command: Sequence[str] = ("sleep", "300"),
    **kw,
) -> tuple[str, str]:
    """Submit a job as ctx's user; return (job id, output file)."""
    user = ctx.username or "alice"
    name = f"jupyterhub-{user}-{uuid.uuid4().hex[:6]}"
    out = f"{LOG_DIR.format(user=user)}/{name}.log"
    spec = make_spec(
        command=list(command),
        username=user,
        job_name=name,
        output_file=out,
        options={**ctx.options, **kw.pop("options", {})},
        **kw,
    )
    script = backend.render_script(spec, backend.script_template(spec))
    job_id = await backend.submit(ctx, spec, script)
    return job_id, out


async def test_submit_status_cancel_one(backend, clean_queue):
    ctx = context(backend)
    job_id, out = await submit(
        backend, ctx, command=["bash", "-c", "echo hello from $(id -un); sleep 300"]
    )
    assert job_id.isdigit()
    status = (await wait_for(backend, ctx, [job_id], running))[job_id]
    assert status.host == clean_queue.host
    assert status.native_state == "RUNNING" and status.extra["partition"] == "debug"
    assert squeue_active(job_id) == "RUNNING"
    # RUNNING in squeue comes before slurmd has started the script: wait for its output
    assert "hello from alice" in await wait_for_log(backend, ctx, out, "hello from")
    await backend.cancel(ctx, [job_id])
    assert squeue_active(job_id) == ""
    after = (await backend.query_status(ctx, [job_id]))[job_id]
    assert after.state is JobState.CANCELLED


async def test_many_jobs_one_squeue_call(backend, clean_queue):
    ctx = context(backend)
    ids = [(await submit(backend, ctx))[0] for _ in range(4)]
    await wait_for(backend, ctx, ids, running)
    runner = ctx.query_runner
    assert isinstance(runner, RecordingRunner)
    runner.ran.clear()
    statuses = await backend.query_status(ctx, [*ids, "999999"])
    squeues = [c for c in runner.ran if c.argv[0] == "squeue"]
    assert len(squeues) == 1, runner.ran
    assert all(statuses[i].state is JobState.RUNNING for i in ids)
    # the unknown id: squeue leaves it out, sacct has no accounting: ended, not unknown
    assert statuses["999999"].state is JobState.DONE
    assert statuses["999999"].reason == VANISHED_REASON
    assert [c.argv[0] for c in runner.ran] == ["squeue", "sacct"]
    await backend.cancel(ctx, ids)
    assert all(squeue_active(i) == "" for i in ids)


async def test_single_unknown_id_is_vanished_not_unknown(backend, clean_queue):
    ctx = context(backend)
    status = (await backend.query_status(ctx, ["987654"]))["987654"]
    assert status.state is JobState.DONE and status.reason == VANISHED_REASON


async def test_controller_down_means_unknown_not_gone(backend, clean_queue):
    """A status query that fails (squeue cannot reach the controller) is UNKNOWN, not gone."""
    broken = clean_queue.harness / "unreachable-controller.conf"
    conf = clean_queue.conf.read_text()
    port = f"SlurmctldPort={slurm_cluster_module.PORTS[clean_queue.name][0]}"
    assert port in conf
    broken.write_text(conf.replace(port, "SlurmctldPort=6899") + "MessageTimeout=1\n")
    broken.chmod(0o644)
    ctx = context(backend)
    ctx.query_runner = CommandRunner(
        ["runuser", "-u", "alice", "--", "env", f"SLURM_CONF={broken}"], timeout=20
    )
    statuses = await backend.query_status(ctx, ["1", "2"])
    assert statuses["1"].state is JobState.UNKNOWN
    assert "Unable to contact slurm controller" in (statuses["2"].reason or "")
    single = await backend.query_status(ctx, ["1"])
    assert single["1"].state is JobState.UNKNOWN


async def test_admin_scancel_is_noticed(backend, clean_queue):
    ctx = context(backend)
    job_id, out = await submit(backend, ctx, command=["bash", "-c", "echo started; exec sleep 300"])
    await wait_for(backend, ctx, [job_id], running)
    # cancelled before slurmd launched the script, a job ends with exit code 0, not SIGTERM
    assert "started" in await wait_for_log(backend, ctx, out, "started")
    subprocess.run(["scancel", job_id], check=True)  # root: "an admin"
    status = (await wait_for(backend, ctx, [job_id], lambda s: s.state.finished, patience=10))[
        job_id
    ]
    assert status.state is JobState.CANCELLED
    assert status.exit_code == 128 + 15 and status.extra["signal"] == "15"


async def test_pending_for_resources_and_held(backend, clean_queue):
    ctx = context(backend)
    big, _ = await submit(backend, ctx, resources={"cpus": clean_queue.cpus, "runtime": "10m"})
    await wait_for(backend, ctx, [big], running)
    waiting, _ = await submit(backend, ctx, resources={"cpus": 1, "runtime": "5m"})
    held, _ = await submit(backend, ctx, options={"submit_args": ["--hold"]})
    closed, _ = await submit(backend, ctx, resources={"queue": "closed"})

    def has_reason(s: JobStatus) -> bool:
        return s.state in (JobState.PENDING, JobState.HELD) and bool(s.reason)

    st = await wait_for(backend, ctx, [waiting, held, closed], has_reason, patience=20)
    assert st[waiting].state is JobState.PENDING and st[waiting].reason in ("Resources", "Priority")
    # backfill computes when the job can start: after the big one's 10 minutes
    st = await wait_for(
        backend, ctx, [waiting], lambda s: s.expected_start is not None, patience=20
    )
    text = backend.describe_status(st[waiting])
    assert "Slurm expects it to start around" in text, text
    hs = (await backend.query_status(ctx, [held]))[held]
    assert (hs.state, hs.reason) == (JobState.HELD, "JobHeldUser")
    assert "on hold" in backend.describe_status(hs)
    cs = (await backend.query_status(ctx, [closed]))[closed]
    assert cs.reason == "PartitionDown"
    assert "partition closed is down" in backend.describe_status(cs)
    await backend.cancel(ctx, [big, waiting, held, closed])
    assert all(squeue_active(i) == "" for i in (big, waiting, held, closed))


async def test_job_failing_at_once_reports_exit_code_and_log(backend, clean_queue):
    ctx = context(backend)
    job_id, out = await submit(
        backend, ctx, prologue="echo 'prologue: module not found' >&2\nexit 3"
    )
    status = (await wait_for(backend, ctx, [job_id], lambda s: s.state.finished, patience=15))[
        job_id
    ]
    assert (status.state, status.exit_code, status.reason) == (
        JobState.FAILED,
        3,
        "NonZeroExitCode",
    )
    assert "module not found" in await backend.read_log(ctx, out, 10)
    assert "exit code 3" in backend.describe_status(status)


async def test_other_user_cannot_cancel_and_the_core_says_so(backend, clean_queue, monkeypatch):
    from jobspawner.facade import defaults

    monkeypatch.setattr(defaults, "CANCEL_CHECKS", 3)
    monkeypatch.setattr(defaults, "CANCEL_CHECK_INTERVAL", 0.2)
    alice = context(backend)
    job_id, _ = await submit(backend, alice)
    await wait_for(backend, alice, [job_id], running)
    with pytest.raises(CommandError, match="permission denied"):
        await backend.cancel(context(backend, user="bob"), [job_id])
    assert squeue_active(job_id) == "RUNNING"
    await backend.cancel(alice, [job_id])


async def test_directives_reach_slurm(backend, clean_queue):
    ctx = context(backend)
    job_id, _ = await submit(
        backend,
        ctx,
        resources={
            "queue": "long",
            "runtime": "1:30:00",
            "cpus": 2,
            "memory": "1G",
            "gpus": 1,
            "gpu_type": "fake",
            "nodes": 1,
        },
    )
    shown = subprocess.run(
        ["scontrol", "show", "job", job_id], capture_output=True, text=True, check=True
    ).stdout
    for expected in (
        "Partition=long",
        "TimeLimit=01:30:00",
        "NumCPUs=2",
        "mem=1G",
        "gres:gpu:fake:1",
        "Requeue=0",
        f"UserId=alice({pwd.getpwnam('alice').pw_uid})",
    ):
        assert expected in shown, (expected, shown)
    gpus_id, _ = await submit(
        backend, ctx, resources={"gpus": 2}, options={"gpu_directive": "gpus"}
    )
    shown = subprocess.run(
        ["scontrol", "show", "job", gpus_id], capture_output=True, text=True, check=True
    ).stdout
    assert "TresPerJob=gres:gpu:2" in shown, shown
    await backend.cancel(ctx, [job_id, gpus_id])


async def test_environment_is_the_scripts_not_the_hubs(backend, clean_queue):
    """--export=NONE: the hub's variables (HUB_SECRET in the runner env) stay out of the job;
    the server's token is not in the job's environment but in its private secrets file."""
    ctx = context(backend)
    job_id, out = await submit(
        backend,
        ctx,
        command=[
            "bash",
            "-c",
            "echo token=${JUPYTERHUB_API_TOKEN:-none} secret=${HUB_SECRET:-none} "
            'file=$(cat "$JOBSPAWNER_SECRETS_FILE") mode=$(stat -c %a "$JOBSPAWNER_SECRETS_FILE")',
        ],
    )
    await wait_for(backend, ctx, [job_id], lambda s: s.state.finished, patience=15)
    log = await backend.read_log(ctx, out, 5)
    assert 'token=none secret=none file={"JUPYTERHUB_API_TOKEN": "secret-token"} mode=600' in log


async def test_token_is_in_none_of_slurms_copies_of_the_job(backend, clean_queue):
    """Slurm keeps the batch script and the submit environment (state save, `scontrol
    write batch_script`): neither holds the server's token."""
    ctx = context(backend)
    job_id, _out = await submit(backend, ctx, command=["sleep", "300"])
    script = subprocess.run(
        ["scontrol", "write", "batch_script", job_id, "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "JOBSPAWNER_SECRETS_FILE" in script and "secret-token" not in script
    shown = subprocess.run(
        ["scontrol", "show", "job", "-dd", job_id], capture_output=True, text=True, check=True
    ).stdout
    assert "secret-token" not in shown
    await backend.cancel(ctx, [job_id])


async def test_use_srun_runs_the_server_as_a_job_step(backend, clean_queue):
    ctx = context(backend, options={"use_srun": True})
    job_id, out = await submit(
        backend,
        ctx,
        command=["bash", "-c", "echo step=$SLURM_STEP_ID cpus=$SLURM_CPUS_PER_TASK"],
        resources={"cpus": 2},
    )
    status = (await wait_for(backend, ctx, [job_id], lambda s: s.state.finished, patience=20))[
        job_id
    ]
    log = await backend.read_log(ctx, out, 5)
    assert status.state is JobState.DONE, (status, log)
    assert "step=0 cpus=2" in log


async def test_epilogue_runs_after_scancel(backend, clean_queue):
    ctx = context(backend)
    job_id, out = await submit(
        backend,
        ctx,
        prologue="echo prologue-ran",
        epilogue="echo epilogue-ran",
    )
    await wait_for(backend, ctx, [job_id], running)
    assert "prologue-ran" in await wait_for_log(backend, ctx, out, "prologue-ran")
    await asyncio.sleep(0.2)
    await backend.cancel(ctx, [job_id])
    assert "epilogue-ran" in await wait_for_log(backend, ctx, out, "epilogue-ran")


async def test_discover_resources(backend, clean_queue):
    ctx = make_context(backend, prefix=["runuser", "-u", "alice", "--"])
    queues = {q.name: q for q in await backend.discover_resources(ctx)}
    assert set(queues) == set(clean_queue.partitions)
    debug = queues["debug"]
    assert debug.default and debug.max_time_s == 7200 and debug.cpus_per_node == clean_queue.cpus
    assert debug.gpus_per_node == clean_queue.gpus
    assert debug.memory_per_node_mb == clean_queue.memory_mb
    assert queues["closed"].state == "down"
