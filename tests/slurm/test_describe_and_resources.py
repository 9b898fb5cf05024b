"""Pending reasons in plain words, and resource discovery from sinfo + scontrol."""

from __future__ import annotations

from datetime import datetime

import pytest
from jobspawner import Command, CommandResult, JobState, JobStatus
from jobspawner.facade.backend import load_backend
from jobspawner_slurm.reasons import reason_words
from jobspawner_slurm.resources import gpu_count
from slurm.fixtures.recorded import RECORDED


@pytest.fixture(scope="module")
def backend():
    return load_backend("slurm")


def pending(reason: str, **kw) -> JobStatus:
    return JobStatus(JobState.PENDING, native_state="PENDING", reason=reason, **kw)


@pytest.mark.parametrize(
    ("reason", "words"),
    [
        ("Resources", "in use"),
        ("Priority", "higher priority"),
        ("QOSMaxJobsPerUserLimit", "number of running jobs your QOS allows per user"),
        ("QOSMaxSubmitJobPerUserLimit", "number of queued jobs your QOS allows"),
        ("QOSMaxCpuPerUserLimit", "number of CPUs your QOS allows per user"),
        ("QOSMaxWallDurationPerJobLimit", "more run time per job than your QOS allows"),
        ("QOSGrpGRES", "your QOS (shared with your group) has reached its limit on GPUs"),
        ("AssocGrpCpuLimit", "your account (shared with your group) has reached its limit on CPUs"),
        ("AssocGrpMemLimit", "limit on memory"),
        ("AssocGrpCPUMinutesLimit", "limit on CPU time"),
        ("AssocGrpCPURunMinutesLimit", "CPU time of running jobs"),
        ("AssocMaxJobsLimit", "limit on running jobs that your account allows"),
        ("ReqNodeNotAvail, UnavailableNodes:node[01-02]", "nodes it needs are not available"),
        ("PartitionTimeLimit", "longer than partition debug allows"),
        ("PartitionDown", "partition debug is down"),
        ("JobHeldUser", "on hold"),
        ("JobHeldAdmin", "administrator"),
        ("Dependency", "another job"),
        ("BeginTime", "later time"),
        ("Reservation", "reservation"),
        ("Licenses", "licence"),
        ("InvalidAccount", "account is not valid"),
    ],
)
def test_reason_words(reason, words):
    text = reason_words(reason, partition="debug")
    assert text is not None and words in text, text
    assert f"(Slurm reason: {reason.split(',')[0]})" in text


def test_no_reason_or_unknown_reason():
    assert reason_words("None") is None
    assert reason_words("") is None
    assert reason_words("SomethingNew") is None


def test_describe_pending_with_expected_start(backend):
    text = backend.describe_status(
        pending(
            "Resources",
            expected_start=datetime(2026, 11, 22, 19, 5),
            extra={"partition": "debug"},
        )
    )
    assert text.startswith("Your job is waiting in the queue of partition debug: ")
    assert "in use" in text and "(Slurm reason: Resources)" in text
    assert "start around 2026-11-22 19:05" in text


def test_describe_unknown_reason_is_still_shown(backend):
    text = backend.describe_status(pending("SomethingNew"))
    assert "SomethingNew" in text


def test_describe_held_suspended_running_ended(backend):
    held = backend.describe_status(
        JobStatus(JobState.HELD, native_state="PENDING", reason="JobHeldAdmin")
    )
    assert held.startswith("Your job is on hold") and "administrator" in held
    assert "suspended" in backend.describe_status(
        JobStatus(JobState.SUSPENDED, native_state="SUSPENDED")
    )
    running = backend.describe_status(
        JobStatus(JobState.RUNNING, native_state="RUNNING", host="n1")
    )
    assert "running on n1" in running
    timeout = backend.describe_status(
        JobStatus(JobState.FAILED, native_state="TIMEOUT", exit_code=0)
    )
    assert "time limit" in timeout
    ending = backend.describe_status(JobStatus(JobState.RUNNING, native_state="COMPLETING"))
    assert "ending" in ending
    oom = backend.describe_status(JobStatus(JobState.FAILED, native_state="OUT_OF_MEMORY"))
    assert "more memory" in oom
    failed = backend.describe_status(
        JobStatus(JobState.FAILED, native_state="FAILED", reason="NonZeroExitCode", exit_code=3)
    )
    assert "exit code 3" in failed and "exited with an error" in failed


@pytest.mark.parametrize(
    ("gres", "count"),
    [
        ("gpu:fake:2", 2),
        ("gpu:4", 4),
        ("gpu:a100:4(S:0-1)", 4),
        ("gpu:a100:2,gpu:v100:2", 4),
        ("gpu:a100:2(S:0),mps:100", 2),
        ("(null)", None),
        ("", None),
    ],
)
def test_gpu_count(gres, count):
    assert gpu_count(gres) == count


def results(*names: str) -> list[CommandResult]:
    out = []
    for name in names:
        stdout, stderr, code, _ = RECORDED[name]
        out.append(CommandResult(Command(["x"]), code, stdout, stderr))
    return out


def test_resources_commands(backend):
    cmds = backend.resources_commands({})
    assert cmds[0].argv[:2] == ("sinfo", "--noheader")
    assert cmds[1].argv == ("scontrol", "show", "partition", "--oneliner")


def test_parse_real_resources(backend):
    queues = backend.parse_resources(results("real_sinfo", "real_scontrol_show_partition"), {})
    by_name = {q.name: q for q in queues}
    assert list(by_name) == ["debug", "long", "closed"]
    debug = by_name["debug"]
    assert debug.default and debug.state == "up"
    assert (debug.max_time_s, debug.default_time_s) == (7200, 3600)
    assert (debug.cpus_per_node, debug.memory_per_node_mb, debug.gpus_per_node) == (8, 16000, 2)
    assert (debug.idle_cpus, debug.total_cpus, debug.nodes) == (8, 8, 1)
    assert debug.node_states == {"idle": 1}
    assert debug.gres == "gpu:fake:2"
    assert by_name["long"].max_time_s == 2 * 86400 and not by_name["long"].default
    assert by_name["closed"].state == "down" and by_name["closed"].default_time_s is None
    assert debug.extra["tres"].startswith("cpu=8")


def test_parse_resources_several_lines_per_partition(backend):
    sinfo = (
        "batch*|up|1-00:00:00|1:00:00|10|48|192000|(null)|mixed|300/180/0/480\n"
        "batch*|up|1-00:00:00|1:00:00|2|48|192000|(null)|drained|0/0/96/96\n"
        "gpu|up|12:00:00|n/a|4|64|512000|gpu:a100:4(S:0-1)|idle|0/256/0/256\n"
        "garbage line\n"
    )
    res = [CommandResult(Command(["sinfo"]), 0, sinfo, "")]
    queues = {q.name: q for q in backend.parse_resources(res, {})}
    batch = queues["batch"]
    assert batch.nodes == 12 and batch.node_states == {"mixed": 10, "drained": 2}
    assert (batch.idle_cpus, batch.total_cpus) == (180, 576)
    assert batch.gpus_per_node is None and batch.max_time_s == 86400
    assert queues["gpu"].gpus_per_node == 4
