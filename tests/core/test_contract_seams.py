"""The hook contract's seams: several commands per hook, the detail pair, the script passed
to ``prepare_commands``, and how ``async def`` implementations fall through."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import pytest
from jobspawner import Command, CommandError, CommandResult, JobSpec, JobState, JobStatus, hookimpl
from jobspawner.contract.commands import CommandRunner
from jobspawner.contract.context import BackendContext
from jobspawner.facade.backend import Backend, BackendError, as_commands, load_backend


class Scripted(CommandRunner):
    """Answers each command from ``answer(argv)`` and records the argument lists."""

    def __init__(self, answer: Any, prefix: Sequence[str] = ()) -> None:
        super().__init__(prefix)
        self.answer = answer
        self.calls: list[tuple[str, ...]] = []

    async def run(self, command: Command, check: bool = True) -> CommandResult:
        self.calls.append(command.argv)
        rc, out = self.answer(command.argv)
        result = CommandResult(command, rc, out, "" if rc == 0 else "failed")
        if check and rc:
            raise CommandError.from_result(result)
        return result


def ctx(backend: Backend, runner: Scripted, **options: Any) -> BackendContext:
    return BackendContext(backend, runner, runner, options=options)


def spec() -> JobSpec:
    return JobSpec.create(username="alice", job_name="j", output_file="/tmp/l/j.log",
                          workdir="/tmp", command=["srv"])  # fmt: skip


class ManyCommands:
    """A command-line backend whose hooks return lists (one command per job)."""

    @hookimpl
    def prepare_commands(self, spec: JobSpec, script: str) -> list[Command]:
        return [Command(["write", spec.output_file + ".sh"], stdin=script)]

    @hookimpl
    def submit_command(self, script: str) -> list[Command]:
        return [Command(["stage"]), Command(["sub"], stdin=script)]

    @hookimpl
    def parse_submit(self, result: CommandResult) -> str:
        return result.stdout.strip()

    @hookimpl
    def status_command(self, job_ids: Sequence[str]) -> Command:
        return Command(["stat", *job_ids])

    @hookimpl
    def parse_status(self, result: CommandResult) -> dict[str, JobStatus]:
        if not result.ok:
            raise CommandError.from_result(result, problem="did not answer")
        rows = (line.split("=") for line in result.stdout.split())
        return {i: JobStatus(JobState(state), native_state=state) for i, state in rows}

    @hookimpl
    def detail_command(self, statuses: dict[str, JobStatus]) -> Command | None:
        waiting = [i for i, s in statuses.items() if s.state is JobState.PENDING]
        return Command(["why", *waiting]) if waiting else None

    @hookimpl
    def parse_detail(
        self, result: CommandResult, statuses: dict[str, JobStatus]
    ) -> dict[str, JobStatus]:
        return {i: replace(statuses[i], reason=f"reason of {i}") for i in result.stdout.split()}

    @hookimpl
    def history_command(self, job_ids: Sequence[str]) -> list[Command]:
        return [Command(["hist", i]) for i in job_ids]

    @hookimpl
    def parse_history(self, result: CommandResult) -> dict[str, JobStatus]:
        if not result.ok:
            return {}
        return {result.command.argv[1]: JobStatus(JobState.FAILED, exit_code=int(result.stdout))}

    @hookimpl
    def cancel_command(self, job_ids: Sequence[str]) -> list[Command]:
        return [Command(["kill", i]) for i in job_ids]


@pytest.fixture
def many() -> Backend:
    return load_backend("local", [ManyCommands()])


def test_as_commands_normalises_every_shape() -> None:
    one = Command(["a"])
    assert as_commands(None) == [] and as_commands(one) == [one]
    assert as_commands((one, one)) == [one, one]
    with pytest.raises(TypeError, match="not a jobspawner Command"):
        as_commands(["a"])  # type: ignore[list-item]


async def test_submit_runs_prepare_with_the_script_then_every_submit_command(
    many: Backend,
) -> None:
    runner = Scripted(lambda argv: (0, "77\n"))
    job_id = await many.submit(ctx(many, runner), spec(), "#!/bin/sh\n")
    assert job_id == "77"
    assert runner.calls == [("write", "/tmp/l/j.log.sh"), ("stage",), ("sub",)]
    assert many.submit_command(spec(), "x").argv == ("sub",)  # the one parse_submit reads
    with pytest.raises(BackendError, match="2 commands where one was expected"):
        many.cancel_command(["1", "2"], {})


async def test_detail_only_for_jobs_that_need_it_and_reused_while_unchanged(
    many: Backend,
) -> None:
    state = {"out": "1=running 2=pending"}

    def answer(argv: tuple[str, ...]) -> tuple[int, str]:
        return (0, state["out"]) if argv[0] == "stat" else (0, " ".join(argv[1:]))

    runner = Scripted(answer)
    c = ctx(many, runner)
    st = await many.query_status(c, ["1", "2"])
    assert runner.calls == [("stat", "1", "2"), ("why", "2")]
    assert st["2"].reason == "reason of 2" and st["1"].reason is None
    await many.query_status(c, ["1", "2"])  # unchanged: the detail is reused
    assert runner.calls[2:] == [("stat", "1", "2")]
    state["out"] = "1=running 2=held"  # changed: asked again (held needs none here)
    st = await many.query_status(c, ["1", "2"])
    assert runner.calls[3:] == [("stat", "1", "2")] and st["2"].reason is None
    runner.calls.clear()
    many.detail_cache.clear()
    state["out"] = "2=pending"
    for _ in range(2):  # detail_refresh=0: never reused
        await many.query_status(ctx(many, runner, detail_refresh=0), ["2"])
    assert runner.calls.count(("why", "2")) == 2


async def test_a_detail_answer_is_reused_only_by_the_identity_that_asked(many: Backend) -> None:
    """One backend object serves every query identity of the hub (status_exec_prefix per
    user, per-user SSH accounts): what alice's account was told is never bob's answer."""
    many.detail_cache.clear()

    def answer(argv: tuple[str, ...]) -> tuple[int, str]:
        return (0, "2=pending") if argv[0] == "stat" else (0, " ".join(argv[1:]))

    alice = Scripted(answer, ["runuser", "-u", "alice", "--"])
    bob = Scripted(answer, ["runuser", "-u", "bob", "--"])
    await many.query_status(ctx(many, alice), ["2"])
    await many.query_status(ctx(many, bob), ["2"])
    assert bob.calls == [("stat", "2"), ("why", "2")]
    await many.query_status(ctx(many, alice), ["2"])  # her own answer is still hers
    assert alice.calls == [("stat", "2"), ("why", "2"), ("stat", "2")]


async def test_failed_detail_query_changes_nothing(many: Backend) -> None:
    runner = Scripted(lambda argv: (0, "2=pending") if argv[0] == "stat" else (1, ""))
    st = await many.query_status(ctx(many, runner), ["2"])
    assert st["2"].state is JobState.PENDING and st["2"].reason is None


async def test_history_runs_one_command_per_job_and_a_failed_one_leaves_its_job_vanished(
    many: Backend,
) -> None:
    def answer(argv: tuple[str, ...]) -> tuple[int, str]:
        if argv[0] == "stat":
            return 0, "1=running"
        return (0, "3") if argv[1] == "2" else (1, "")

    runner = Scripted(answer)
    st = await many.query_status(ctx(many, runner), ["1", "2", "3"])
    assert runner.calls[1:] == [("hist", "2"), ("hist", "3")]
    assert st["2"].state is JobState.FAILED and st["2"].exit_code == 3
    assert st["3"] == JobStatus.vanished()


async def test_cancel_runs_every_cancel_command(many: Backend) -> None:
    runner = Scripted(lambda argv: (0, ""))
    await many.cancel(ctx(many, runner), ["1", "2"])
    assert runner.calls[:2] == [("kill", "1"), ("kill", "2")]


# --- async implementations fall through on None ----------------------------------------------


class Declines:
    """A site plugin whose async action hooks decline by returning None."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    @hookimpl
    async def read_log(self, path: str) -> str | None:
        self.asked.append(path)
        return "mine" if path == "/mine" else None

    @hookimpl
    async def query_status(self, job_ids: Sequence[str]) -> dict[str, JobStatus] | None:
        self.asked.append("query")
        return None

    @hookimpl
    async def cancel(self, job_ids: Sequence[str]) -> None:
        self.asked.append("cancel")  # done: an awaited None ends a cancel

    @hookimpl
    def discover_resources(self) -> None:
        return None  # a plain None falls through


async def test_awaited_none_falls_through_to_the_next_implementation(tmp_path: Any) -> None:
    site = Declines()
    backend = load_backend("local", [ManyCommands(), site])
    runner = Scripted(lambda argv: (0, "1=running" if argv[0] == "stat" else "tail text"))
    c = ctx(backend, runner)
    c.runner.prefix = ("sudo",)  # read_log's default tails through the prefix
    assert await backend.read_log(c, "/mine", 5) == "mine"
    assert await backend.read_log(c, "/theirs", 5) == "tail text"  # the core's answered
    st = await backend.query_status(c, ["1"])  # site declined: the core's query ran
    assert st["1"].state is JobState.RUNNING and site.asked[-1] == "query"
    runner.calls.clear()
    await backend.cancel(c, ["1"])
    assert site.asked[-1] == "cancel" and runner.calls == []  # no fall-through for cancel
    assert await backend.discover_resources(c) == []


# --- Slurm: one scancel per cluster, seen by site plugins -----------------------------------


class CountCancels:
    def __init__(self) -> None:
        self.seen: list[list[tuple[str, ...]]] = []

    @hookimpl(wrapper=True)
    def cancel_command(self) -> Any:
        commands = yield
        self.seen.append([c.argv for c in as_commands(commands)])
        return commands


async def test_slurm_cancel_per_cluster_goes_through_the_facade_and_site_plugins() -> None:
    site = CountCancels()
    backend = load_backend("slurm", [site])
    assert not backend.implemented("cancel")  # the core's cancel, on pure hooks

    def answer(argv: tuple[str, ...]) -> tuple[int, str]:
        if argv[0] == "squeue":
            return 0, ""  # nothing listed any more: cancelled
        return 0, ""

    runner = Scripted(answer)
    await backend.cancel(ctx(backend, runner), ["1;a", "2;b"])
    assert site.seen[0] == [("scancel", "--clusters=a", "1"), ("scancel", "--clusters=b", "2")]
    assert [c for c in runner.calls if c[0] == "scancel"] == site.seen[0]
