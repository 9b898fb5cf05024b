"""A kit for testing a jobspawner backend: the contract the shipped backends pass.

It is a pytest plugin, registered by the core's ``pytest11`` entry point (``jobspawner``):
wherever jobspawner is installed pytest loads it, nothing to configure (``-p no:jobspawner``
turns it off). Provide one fixture, ``jobspawner_target``, returning a :class:`Target`: the
backend's name, its options, how to run commands as a test user, and where that user's job
logs go. Then subclass :class:`BackendContract` in a test module; its tests run against your
real or emulated scheduler::

    # conftest.py
    @pytest.fixture
    def jobspawner_target(tmp_path):
        return Target(backend="mysched", logs=str(tmp_path), prefix=("sudo", "-u", "alice"))

    # test_contract.py
    class TestMySchedContract(BackendContract):
        pass

Helpers for unit tests of pure hooks: :func:`recorded` (a :class:`CommandResult` from
recorded scheduler output), :func:`make_spec` (a :class:`JobSpec` built the spawner's way)
and :class:`ScriptedRunner` (a runner answering commands from recorded outputs).
"""

from __future__ import annotations

import asyncio
import time
import unittest
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from jobspawner.contract.commands import Command, CommandError, CommandResult, CommandRunner
from jobspawner.contract.context import BackendContext
from jobspawner.contract.jobspec import JobSpec
from jobspawner.contract.resources import FIELDS, ResourceError, normalise
from jobspawner.contract.status import JobState, JobStatus
from jobspawner.facade.backend import Backend, backend_from_plugin, load_backend
from jobspawner.facade.constraints import validate_constraint
from jobspawner.transport.config import Runner

#: Which contract test covers each hook (a test in the kit checks that every hook spec has
#: one, so a new hook cannot land without a contract test).
COVERAGE: dict[str, tuple[str, ...]] = {
    "backend_options": ("test_options_are_declared",),
    "resource_fields": ("test_resource_fields_are_what_the_job_honours",),
    "script_template": ("test_submit_status_cancel_one",),
    "render_script": ("test_submit_status_cancel_one",),
    "check_constraint": ("test_constraint_check_answers",),
    "prepare_commands": ("test_submit_status_cancel_one",),
    "submit_command": ("test_submit_status_cancel_one",),
    "parse_submit": ("test_submit_status_cancel_one",),
    "submit": ("test_submit_status_cancel_one",),
    "status_command": ("test_many_jobs_one_status_command_per_round",),
    "parse_status": (
        "test_many_jobs_one_status_command_per_round",
        "test_held_job_is_not_finished_and_says_why",
    ),
    "detail_command": ("test_detail_never_makes_a_listed_job_unknown",),
    "parse_detail": ("test_detail_never_makes_a_listed_job_unknown",),
    "history_command": ("test_ended_job_is_finished_never_unknown",),
    "parse_history": ("test_ended_job_is_finished_never_unknown",),
    "query_status": ("test_scheduler_down_is_unknown_never_gone",),
    "status_per_user": ("test_status_identity_is_declared",),
    "get_host": ("test_submit_status_cancel_one",),
    "describe_status": (
        "test_every_status_is_described",
        "test_held_job_is_not_finished_and_says_why",
    ),
    "cancel_command": ("test_cancel_many",),
    "parse_cancel": ("test_cancel_many", "test_refused_cancel_fails_and_leaves_the_job"),
    "cancel": ("test_cancel_many",),
    "read_log": ("test_exit_code_and_log_tail",),
    "remove_secrets": ("test_leftover_secrets_file_is_removed",),
    "resources_commands": ("test_resource_discovery",),
    "parse_resources": ("test_resource_discovery",),
    "discover_resources": ("test_resource_discovery",),
}


def pytest_configure(config: Any) -> None:
    """Loaded as a pytest plugin: the marker the contract tests carry."""
    config.addinivalue_line("markers", "jobspawner_contract: a jobspawner backend contract test")


def recorded(
    stdout: str = "",
    returncode: int = 0,
    stderr: str = "",
    argv: Sequence[str] = ("recorded",),
) -> CommandResult:
    """A command result from recorded scheduler output, for testing parsers."""
    return CommandResult(Command(list(argv)), returncode, stdout, stderr)


def make_spec(
    username: str = "alice",
    name: str = "",
    logs: str = "/tmp/jobspawner-test",
    command: Sequence[str] = ("sleep", "60"),
    options: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    **resources: Any,
) -> JobSpec:
    """A job spec built the way the spawner builds it (:meth:`JobSpec.create`).

    ``resources`` are raw requests (``runtime="1h"``, ``memory="1G"``, ``cpus=1``); ``env``
    adds to the job's environment (a secret name such as ``JUPYTERHUB_API_TOKEN`` gives the
    job a secrets file).
    """
    job_name = f"jupyter-{username}" + (f"-{name}" if name else "")
    return JobSpec.create(
        username=username,
        server_name=name,
        job_name=job_name,
        output_file=f"{logs}/{job_name}.{time.monotonic_ns()}.log",
        workdir=logs,
        command=list(command),
        env={"JOBSPAWNER_TEST": "1", **(env or {})},
        resources=resources,
        options=options,
    )


class ScriptedRunner(CommandRunner):
    """A runner that answers every command with ``answer(argv) -> (rc, stdout, stderr)``
    and records what ran (``calls``); nothing is started."""

    def __init__(self, answer: Callable[[tuple[str, ...]], tuple[int, str, str]]) -> None:
        super().__init__()
        self.answer = answer
        self.calls: list[tuple[str, ...]] = []

    async def run(self, command: Command, check: bool = True) -> CommandResult:
        self.calls.append(command.argv)
        rc, out, err = self.answer(command.argv)
        result = CommandResult(command, rc, out, err)
        if check and rc:
            raise CommandError.from_result(result)
        return result


class CountingRunner(CommandRunner):
    """Runs commands through ``inner`` (local or remote) and records them (to count status
    queries)."""

    def __init__(self, inner: Runner) -> None:
        super().__init__(inner.prefix, inner.timeout)
        self.inner = inner
        self.calls: list[Command] = []

    async def run(self, command: Command, check: bool = True) -> CommandResult:
        self.calls.append(command)
        return await self.inner.run(command, check=check)


def record_queries(ctx: BackendContext) -> list[tuple[str, ...]]:
    """From now on, record the argument list of every command ``ctx``'s query runner runs
    (local or remote), to count status queries; returns the list it fills."""
    calls: list[tuple[str, ...]] = []
    original = ctx.query_runner.run

    async def run(command: Command, check: bool = True) -> CommandResult:
        calls.append(command.argv)
        return await original(command, check=check)

    ctx.query_runner.run = run  # type: ignore[method-assign]
    return calls


class DownRunner(CommandRunner):
    """A scheduler that does not answer: every command times out."""

    async def run(self, command: Command, check: bool = True) -> CommandResult:
        raise CommandError(command, None, problem="timed out after 30 s (the scheduler is down)")


@dataclass
class Target:
    """What the contract tests need to know about one scheduler under test.

    ``logs`` is a folder the test user may write job logs into; ``prefix`` runs commands as
    that user; ``command_env_keep`` keeps variables the scheduler's clients need. Flags say
    what the scheduler can do: ``exit_codes`` (finished jobs report their exit code),
    ``queues`` (resource discovery lists at least one queue).
    """

    backend: str
    logs: str
    options: Mapping[str, Any] = field(default_factory=dict)
    prefix: Sequence[str] = ()
    command_env_keep: Sequence[str] = ()
    username: str = "alice"
    timeout: float = 30.0
    exit_codes: bool = True
    queues: bool = True
    #: Seconds the tests wait for a job to reach a state.
    patience: float = 30.0
    #: The command that holds or suspends a running job, e.g.
    #: ``lambda job_id: ["scontrol", "suspend", job_id]``; None skips the held-job test.
    hold: Callable[[str], Sequence[str]] | None = None
    #: The prefix the hold command runs with: None runs it as the test user (through the
    #: target's context); ``()`` as the test itself (root), for a suspend only an operator
    #: may give (``scontrol suspend``).
    hold_prefix: Sequence[str] | None = None
    #: A prefix that runs commands as another user, whose cancel the scheduler refuses
    #: (``("runuser", "-u", "bob", "--")``); None skips the refused-cancel test.
    other_prefix: Sequence[str] | None = None
    resources: Mapping[str, Any] = field(default_factory=lambda: {"runtime": "10m"})
    #: The backend's hook module itself, to test it without installing it (no entry point
    #: needed); None loads the installed backend named ``backend``.
    module: object | None = None

    def load(self) -> Backend:
        if self.module is not None:
            return backend_from_plugin(self.backend, self.module)
        return load_backend(self.backend)

    def context(self, backend: Backend, runner: CommandRunner | None = None) -> BackendContext:
        real = CommandRunner(self.prefix, timeout=self.timeout, env_keep=self.command_env_keep)
        run = runner or real
        return BackendContext(
            backend, run, run, options=backend.checked_options(self.options), username=None
        )

    def spec(self, backend: Backend, name: str, command: Sequence[str]) -> JobSpec:
        return make_spec(
            self.username,
            name,
            self.logs,
            command,
            backend.checked_options(self.options),
            **self.resources,
        )


async def submit(backend: Backend, ctx: BackendContext, spec: JobSpec) -> str:
    """Render the backend's template and submit it, as the spawner does."""
    script = backend.render_script(spec, backend.script_template(spec) or "")
    return await backend.submit(ctx, spec, script)


async def wait_for(
    backend: Backend,
    ctx: BackendContext,
    job_ids: Sequence[str],
    done: Callable[[JobStatus], bool],
    patience: float = 30,
) -> Mapping[str, JobStatus]:
    """Query until every job's status satisfies ``done``; AssertionError after ``patience``."""
    deadline = time.monotonic() + patience
    while True:
        statuses = await backend.query_status(ctx, list(job_ids))
        if all(done(statuses[i]) for i in job_ids):
            return statuses
        if time.monotonic() > deadline:
            raise AssertionError(f"jobs did not reach the state in {patience:g} s: {statuses}")
        await asyncio.sleep(0.3)


#: A value for each resource field, for checking what a backend honours; ``gpu_type`` and
#: ``nodes`` are asked for on top of :data:`_BASE_REQUEST` (GPUs and cores to spread).
SAMPLE_REQUESTS: dict[str, Any] = {
    "queue": "q1", "account": "acct1", "qos": "qos1", "reservation": "resv1",
    "cluster": "c1", "scheduler_server": "server1", "gpu_type": "a100", "constraint": "bigmem",
    "runtime": "2h", "memory": "4G", "disk": "10G", "cpus": 4, "nodes": 2, "gpus": 2,
}  # fmt: skip
_BASE_REQUEST: dict[str, Any] = {"cpus": 2, "gpus": 1}


def job_for(backend: Backend, options: Mapping[str, Any], resources: Mapping[str, Any]) -> Any:
    """What the backend makes of a request: the script and the preparation and submit
    commands (argument lists and standard input), with every other input fixed."""
    spec = JobSpec.create(
        username="alice",
        job_name="jupyter-alice",
        output_file="/tmp/jobspawner-contract/jupyter-alice.log",
        workdir="/tmp/jobspawner-contract",
        command=["jupyterhub-singleuser"],
        resources=resources,
        options=options,
    )
    script = backend.render_script(spec, backend.script_template(spec) or "")
    commands = backend.prepare_commands(spec, script)
    if backend.implemented("submit_command"):  # a REST backend sends the script itself
        commands += backend.submit_commands(spec, script)
    return script, [(c.argv, c.stdin) for c in commands]


async def _hold(runner: Runner, command: Command, patience: float) -> None:
    """Run the hold command until it succeeds: a scheduler may refuse to suspend a job
    that runs but whose processes are still being started (Slurm 22.05: "Unexpected
    message received"). CommandError with its last answer after ``patience``."""
    deadline = time.monotonic() + patience
    while True:
        result = await runner.run(command, check=False)
        if result.ok:
            return
        if time.monotonic() > deadline:
            raise CommandError.from_result(result, problem="the hold command failed")
        await asyncio.sleep(0.5)


def _running(status: JobStatus) -> bool:
    return status.state is JobState.RUNNING


def _started(status: JobStatus) -> bool:
    return status.state is not JobState.PENDING and status.state is not JobState.UNKNOWN


class BackendContract:
    """The contract every backend passes; subclass it in a test module.

    The tests use the ``jobspawner_target`` fixture (a :class:`Target`).
    """

    async def test_options_are_declared(self, jobspawner_target: Target) -> None:
        backend = jobspawner_target.load()
        assert backend.declares_options(), "declare the backend's options (backend_options)"
        typed = backend.checked_options(jobspawner_target.options)
        for key in jobspawner_target.options:
            assert key in typed

    async def test_status_identity_is_declared(self, jobspawner_target: Target) -> None:
        """The status query runs as the hub or as each user, as the backend says: a plain
        yes or no (``status_per_user``), the same at every call."""
        backend = jobspawner_target.load()
        answer = backend.status_per_user()
        assert isinstance(answer, bool) and backend.status_per_user() is answer

    async def test_resource_fields_are_what_the_job_honours(
        self, jobspawner_target: Target
    ) -> None:
        """Every field the backend says it honours changes the job; every other field
        leaves it as it is (so the hub's refusals at start are right)."""
        backend = jobspawner_target.load()
        options = backend.checked_options(jobspawner_target.options)
        honoured = backend.resource_fields(options)
        assert honoured is not None, "declare the resource fields the backend honours"
        base = job_for(backend, options, _BASE_REQUEST)
        wrong = []
        for name in FIELDS:
            changed = job_for(backend, options, {**_BASE_REQUEST, name: SAMPLE_REQUESTS[name]})
            if (changed != base) != (name in honoured):
                wrong.append(name)
        assert not wrong, f"declared wrongly (honoured: {sorted(honoured)}): {wrong}"

    async def test_constraint_check_answers(self, jobspawner_target: Target) -> None:
        backend = jobspawner_target.load()
        options = backend.checked_options(jobspawner_target.options)
        for bad in ("a\nb", "x;rm -rf /", "h_rt=1 x"):
            try:
                validate_constraint(
                    backend, "constraint", normalise({"constraint": bad})["constraint"], options
                )
            except ResourceError:
                continue
            raise AssertionError(f"the constraint {bad!r} must be refused")

    async def test_submit_status_cancel_one(self, jobspawner_target: Target) -> None:
        backend = jobspawner_target.load()
        ctx = jobspawner_target.context(backend)
        spec = jobspawner_target.spec(backend, "one", ["sleep", "300"])
        job_id = await submit(backend, ctx, spec)
        assert job_id and "\n" not in job_id
        try:
            status = (
                await wait_for(
                    backend, ctx, [job_id], lambda s: s.state.active, jobspawner_target.patience
                )
            )[job_id]
            assert not status.state.finished
            if status.state is JobState.RUNNING:
                backend.get_host(status, ctx.options)  # answers without raising
        finally:
            await backend.cancel(ctx, [job_id])
        after = (await backend.query_status(ctx, [job_id]))[job_id]
        assert after.state.finished, after

    async def test_many_jobs_one_status_command_per_round(self, jobspawner_target: Target) -> None:
        backend = jobspawner_target.load()
        real = jobspawner_target.context(backend)
        ids = [
            await submit(backend, real, jobspawner_target.spec(backend, f"m{i}", ["sleep", "300"]))
            for i in range(3)
        ]
        try:
            await wait_for(backend, real, ids, _started, jobspawner_target.patience)
            counting = CountingRunner(real.runner)
            ctx = jobspawner_target.context(backend, counting)
            statuses = await backend.query_status(ctx, ids)
            assert set(statuses) == set(ids)
            ended = {i: s for i, s in statuses.items() if not s.state.active}
            assert not ended, f"running jobs read as ended from one query of all: {ended}"
            status_argv = {c.argv for c in backend.status_commands(ids, ctx.options)}
            rounds = [c for c in counting.calls if c.argv in status_argv]
            assert len(rounds) == 1, f"one status command per round, ran {counting.calls}"
        finally:
            await backend.cancel(real, ids)

    async def test_cancel_many(self, jobspawner_target: Target) -> None:
        backend = jobspawner_target.load()
        ctx = jobspawner_target.context(backend)
        ids = [
            await submit(backend, ctx, jobspawner_target.spec(backend, f"c{i}", ["sleep", "300"]))
            for i in range(2)
        ]
        await backend.cancel(ctx, ids)
        statuses = await backend.query_status(ctx, ids)
        assert all(s.state.finished for s in statuses.values()), statuses

    async def test_scheduler_down_is_unknown_never_gone(self, jobspawner_target: Target) -> None:
        backend = jobspawner_target.load()
        ctx = jobspawner_target.context(backend, DownRunner())
        statuses = await backend.query_status(ctx, ["1", "2"])
        assert {s.state for s in statuses.values()} == {JobState.UNKNOWN}

    async def test_detail_never_makes_a_listed_job_unknown(self, jobspawner_target: Target) -> None:
        backend = jobspawner_target.load()
        ctx = jobspawner_target.context(backend)
        job_id = await submit(backend, ctx, jobspawner_target.spec(backend, "d", ["sleep", "300"]))
        try:
            statuses = await wait_for(
                backend, ctx, [job_id], lambda s: s.state.active, jobspawner_target.patience
            )
            # the detail answer is optional; a failed one changes nothing
            assert statuses[job_id].state is not JobState.UNKNOWN
        finally:
            await backend.cancel(ctx, [job_id])

    async def test_exit_code_and_log_tail(self, jobspawner_target: Target) -> None:
        backend = jobspawner_target.load()
        ctx = jobspawner_target.context(backend)
        command = ["/bin/sh", "-c", "echo contract-log-line; exit 3"]
        spec = jobspawner_target.spec(backend, "exit", command)
        job_id = await submit(backend, ctx, spec)
        status = (
            await wait_for(
                backend, ctx, [job_id], lambda s: s.state.finished, jobspawner_target.patience
            )
        )[job_id]
        if jobspawner_target.exit_codes:
            assert status.exit_code == 3 and status.state is JobState.FAILED, status
            assert "exit code 3" in backend.describe_status(status), "the user reads the code"
        tail = await backend.read_log(ctx, spec.output_file, 20)
        assert "contract-log-line" in tail

    async def test_leftover_secrets_file_is_removed(self, jobspawner_target: Target) -> None:
        """A job cancelled before its server read its secrets file leaves it; the backend's
        ``remove_secrets`` deletes it as the user (and a second call, file gone, is fine)."""
        target = jobspawner_target
        backend = target.load()
        ctx = target.context(backend)
        options = backend.checked_options(target.options)
        secret = {"JUPYTERHUB_API_TOKEN": "contract-secret"}
        spec = make_spec(
            target.username, "secrets", target.logs, ["sleep", "300"], options, secret,
            **target.resources,
        )  # fmt: skip
        job_id = await submit(backend, ctx, spec)
        exists = Command(["test", "-e", spec.secrets_file])
        try:
            assert (await ctx.run(exists, check=False)).ok, "the secrets file was not written"
            # cancelled once it runs (its command never reads the file): a job still being
            # handed to its node can outlast the cancel's checks (Grid Engine's transfer)
            await wait_for(backend, ctx, [job_id], _running, target.patience)
        finally:
            await backend.cancel(ctx, [job_id])
        await backend.remove_secrets(ctx, spec.secrets_file)
        assert not (await ctx.run(exists, check=False)).ok, "the secrets file is still there"
        await backend.remove_secrets(ctx, spec.secrets_file)

    async def test_ended_job_is_finished_never_unknown(self, jobspawner_target: Target) -> None:
        backend = jobspawner_target.load()
        ctx = jobspawner_target.context(backend)
        spec = jobspawner_target.spec(backend, "ended", ["true"])
        job_id = await submit(backend, ctx, spec)
        status = (
            await wait_for(
                backend, ctx, [job_id], lambda s: s.state.finished, jobspawner_target.patience
            )
        )[job_id]
        again = (await backend.query_status(ctx, [job_id]))[job_id]
        assert status.state.finished and again.state.finished, again

    async def test_held_job_is_not_finished_and_says_why(self, jobspawner_target: Target) -> None:
        """A running job that is held or suspended stays active (never finished, never
        gone), and a held one carries the scheduler's reason, which ``describe_status``
        words."""
        target = jobspawner_target
        if target.hold is None:
            raise unittest.SkipTest("the target gives no hold command (Target.hold)")
        backend = target.load()
        ctx = target.context(backend)
        job_id = await submit(backend, ctx, target.spec(backend, "held", ["sleep", "300"]))
        try:
            await wait_for(backend, ctx, [job_id], _running, target.patience)
            holder = ctx.runner
            if target.hold_prefix is not None:
                holder = CommandRunner(
                    target.hold_prefix, timeout=target.timeout, env_keep=target.command_env_keep
                )
            await _hold(holder, Command(list(target.hold(job_id))), target.patience)
            stopped = (JobState.HELD, JobState.SUSPENDED)
            status = (
                await wait_for(
                    backend, ctx, [job_id], lambda s: s.state in stopped, target.patience
                )
            )[job_id]
            again = (await backend.query_status(ctx, [job_id]))[job_id]
            assert again.state in stopped and not again.state.finished, again
            text = backend.describe_status(status)
            assert text and "\n" not in text.strip()
            if status.state is JobState.HELD:
                assert status.reason, f"a held job says why it waits: {status}"
            else:  # suspended where it ran: it keeps its host
                assert backend.get_host(status, ctx.options), status
        finally:
            await backend.cancel(ctx, [job_id])

    async def test_refused_cancel_fails_and_leaves_the_job(self, jobspawner_target: Target) -> None:
        """Another user's cancel fails with an error; the job is not taken for gone."""
        target = jobspawner_target
        if target.other_prefix is None:
            raise unittest.SkipTest("the target gives no other user (Target.other_prefix)")
        backend = target.load()
        ctx = target.context(backend)
        job_id = await submit(backend, ctx, target.spec(backend, "refused", ["sleep", "300"]))
        try:
            await wait_for(backend, ctx, [job_id], lambda s: s.state.active, target.patience)
            other = CommandRunner(
                target.other_prefix, timeout=target.timeout, env_keep=target.command_env_keep
            )
            try:
                await backend.cancel(target.context(backend, other), [job_id])
            except CommandError:
                pass
            else:
                raise AssertionError("another user's cancel must fail, not pass as done")
            status = (await backend.query_status(ctx, [job_id]))[job_id]
            assert status.state.active, status
        finally:
            await backend.cancel(ctx, [job_id])

    async def test_every_status_is_described(self, jobspawner_target: Target) -> None:
        backend = jobspawner_target.load()
        for state in JobState:
            text = backend.describe_status(JobStatus(state, reason="why"))
            assert text and "Error" not in text and "\n" not in text.strip()

    async def test_resource_discovery(self, jobspawner_target: Target) -> None:
        backend = jobspawner_target.load()
        queues = await backend.discover_resources(jobspawner_target.context(backend))
        if jobspawner_target.queues:
            assert queues and all(q.name for q in queues)
        else:
            assert list(queues) == []
