"""The core's actions (query_status, cancel) on Grid Engine's pure hooks with a scripted
runner: which commands run when."""

from __future__ import annotations

import pytest
from jobspawner import CommandError, JobState
from jobspawner.contract.context import BackendContext
from jobspawner.facade.backend import Backend, load_backend
from jobspawner.testing import ScriptedRunner

from sge.sgekit import FIXTURES

XML = (FIXTURES / "soge-qstat-xml-r-s-qw-Eqw-hqw.xml").read_text()
EMPTY_XML = "<?xml version='1.0'?>\n<job_info>\n  <queue_info>\n  </queue_info>\n</job_info>\n"


@pytest.fixture(scope="module")
def backend() -> Backend:
    return load_backend("sge")


@pytest.fixture(autouse=True)
def no_cached_reasons(backend: Backend) -> None:
    backend.detail_cache.clear()


def ctx_for(
    backend: Backend, runner: ScriptedRunner, username: str | None = "alice", **options: str
) -> BackendContext:
    return BackendContext(backend, runner, runner, options=dict(options), username=username)


async def test_running_jobs_need_one_qstat(backend: Backend) -> None:
    runner = ScriptedRunner(lambda argv: (0, XML, ""))
    st = await backend.query_status(ctx_for(backend, runner), ["9", "11"])
    assert runner.calls == [("qstat", "-xml", "-u", "*")]
    assert st["9"].state is JobState.RUNNING and st["11"].host == "vm"


async def test_waiting_jobs_get_their_reason_in_one_call(backend: Backend) -> None:
    details = (FIXTURES / "soge-qstat-j-Eqw-hqw-pe.txt").read_text()

    def answer(argv: tuple[str, ...]) -> tuple[int, str, str]:
        return (0, details, "") if argv[1] == "-j" else (0, XML, "")

    runner = ScriptedRunner(answer)
    st = await backend.query_status(ctx_for(backend, runner), ["9", "4", "1", "3"])
    assert runner.calls[1] == ("qstat", "-j", "4,1,3")
    assert len(runner.calls) == 2
    assert st["4"].reason == 'cannot run in PE "smp" because it only offers 0 slots'
    assert st["1"].state is JobState.FAILED and "Permission denied" in st["1"].reason
    assert st["3"].state is JobState.HELD and st["3"].reason == "Job is in hold state"
    runner = ScriptedRunner(answer)
    await backend.query_status(ctx_for(backend, runner, pending_reasons="false"), ["4"])
    assert len(runner.calls) == 1


async def test_reasons_are_reused_while_the_state_holds(backend: Backend) -> None:
    details = (FIXTURES / "soge-qstat-j-Eqw-hqw-pe.txt").read_text()

    def answer(argv: tuple[str, ...]) -> tuple[int, str, str]:
        return (0, details, "") if argv[1] == "-j" else (0, XML, "")

    runner = ScriptedRunner(answer)
    ctx = ctx_for(backend, runner)
    for _ in range(3):
        st = await backend.query_status(ctx, ["4"])
        assert st["4"].reason == 'cannot run in PE "smp" because it only offers 0 slots'
    assert [c[1] for c in runner.calls].count("-j") == 1
    runner = ScriptedRunner(answer)
    ctx = ctx_for(backend, runner, detail_refresh="0")
    backend.detail_cache.clear()
    for _ in range(2):
        await backend.query_status(ctx, ["4"])
    assert [c[1] for c in runner.calls].count("-j") == 2


async def test_missing_job_asked_from_accounting_one_qacct_per_job(backend: Backend) -> None:
    acct = (FIXTURES / "soge-qacct-exit3.txt").read_text()

    def answer(argv: tuple[str, ...]) -> tuple[int, str, str]:
        if argv[0] == "qacct":  # the record of 12, nothing about 50
            return (0, acct, "") if argv[-1] == "12" else (1, "", "error: job id 50 not found\n")
        return 0, XML, ""

    runner = ScriptedRunner(answer)
    st = await backend.query_status(ctx_for(backend, runner), ["9", "12", "50"])
    assert runner.calls == [
        ("qstat", "-xml", "-u", "*"),
        ("qacct", "-j", "12"),
        ("qacct", "-j", "50"),
    ]
    assert st["9"].state is JobState.RUNNING
    assert st["12"].state is JobState.FAILED and st["12"].exit_code == 3
    assert st["50"].state is JobState.DONE and "no longer lists" in st["50"].reason


async def test_shared_poller_with_status_users(backend: Backend) -> None:
    runner = ScriptedRunner(lambda argv: (0, XML, ""))
    await backend.query_status(ctx_for(backend, runner, status_users="*"), ["9", "77"])
    assert runner.calls[0] == ("qstat", "-xml", "-u", "*")
    assert ("qstat", "-xml", "-u", "alice") not in runner.calls


async def test_failed_query_is_unknown(backend: Backend) -> None:
    runner = ScriptedRunner(lambda argv: (1, "", "error: commlib error: got select error\n"))
    st = await backend.query_status(ctx_for(backend, runner), ["9"])
    assert st["9"].state is JobState.UNKNOWN and "commlib" in st["9"].reason


async def test_cancel_of_waiting_job_needs_only_qdel(backend: Backend) -> None:
    runner = ScriptedRunner(lambda argv: (0, "alice has deleted job 4\n", ""))
    await backend.cancel(ctx_for(backend, runner), ["4"])
    assert runner.calls == [("qdel", "4")]


async def test_cancel_of_running_job_waits_until_qstat_drops_it(backend: Backend) -> None:
    answers = iter([XML.replace("<state>r</state>", "<state>dr</state>", 1), EMPTY_XML, EMPTY_XML])

    def answer(argv: tuple[str, ...]) -> tuple[int, str, str]:
        if argv[0] == "qdel":
            return 0, "alice has registered the job 9 for deletion\n", ""
        return 0, next(answers), ""

    runner = ScriptedRunner(answer)
    await backend.cancel(ctx_for(backend, runner), ["9"])
    assert runner.calls[0] == ("qdel", "9")
    assert not any(c[0] == "qacct" for c in runner.calls)


async def test_cancel_refused_at_once(backend: Backend) -> None:
    text = (FIXTURES / "soge-qdel-other-user.txt").read_text()
    runner = ScriptedRunner(lambda argv: (1, text, ""))
    with pytest.raises(CommandError, match=r"refused for job\(s\) 9"):
        await backend.cancel(ctx_for(backend, runner), ["9"])
    assert runner.calls == [("qdel", "9")]
