"""The LSF parsers on verbatim LSF output (fixtures/), no scheduler needed."""

from __future__ import annotations

import pytest
from jobspawner import Command, CommandError, CommandResult, JobState, JobStatus
from jobspawner_lsf import hooks, parsers
from jobspawner_lsf.describe import describe_reason
from lsf.lsfkit import fixture_text, load_emulator

WAIT = "LSF is processing your request. Please wait ...\n"


def result(stdout: str = "", stderr: str = "", rc: int = 0, argv=("bjobs",)) -> CommandResult:
    return CommandResult(Command(list(argv)), rc, stdout, stderr)


# --- bsub -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "job_id"),
    [
        ("bsub-submitted-queue.txt", "764254593"),
        ("bsub-submitted-default-queue.txt", "2329803"),
        ("bsub-submitted-with-esub-line.txt", "473713"),
    ],
)
def test_submit_id_from_real_bsub_output(name: str, job_id: str) -> None:
    assert hooks.parse_submit(result(fixture_text(name), argv=("bsub",))) == job_id


def test_submit_tolerates_banners_and_wait_lines() -> None:
    text = WAIT + "Welcome to the cluster\n" + fixture_text("bsub-submitted-with-esub-line.txt")
    assert hooks.parse_submit(result(text, argv=("bsub",))) == "473713"


def test_submit_failure_explains() -> None:
    bad = result("", "short2: No such queue. Job not submitted.\n", 255, argv=("bsub",))
    with pytest.raises(CommandError) as info:
        hooks.parse_submit(bad)
    assert "No such queue" in str(info.value)
    assert "Job <123> is submitted" in str(info.value)


# --- bjobs JSON ----------------------------------------------------------------------------------


def test_json_six_jobs_exit_and_done() -> None:
    ids = ["487641", "487642", "488155", "491861", "491864", "491867"]
    found = parsers.parse_bjobs(ids, result(fixture_text("bjobs-o-json-six-jobs-exit-done.json")))
    assert set(found) == set(ids)
    assert [found[i].state for i in ids[:3]] == [JobState.FAILED] * 3
    assert [found[i].state for i in ids[3:]] == [JobState.DONE] * 3
    assert found["491861"].exit_code == 0
    assert found["487641"].native_state == "EXIT"
    assert all(s.state.finished and s.host is None for s in found.values())


def test_json_held_job_without_jobid_field() -> None:
    found = parsers.parse_bjobs(["58652"], result(fixture_text("bjobs-o-json-held-psusp.json")))
    status = found["58652"]
    assert status.state is JobState.HELD and not status.state.finished
    assert status.native_state == "PSUSP"
    assert status.host is None  # EXEC_HOST is "" while pending


def test_json_after_wait_lines() -> None:
    text = WAIT + WAIT + fixture_text("bjobs-o-json-six-jobs-exit-done.json")
    assert len(parsers.parse_bjobs(["487641"], result(text))) == 1


@pytest.mark.parametrize("name", ["bjobs-unknown-job-stderr.txt", "bjobs-l-unknown-job-stderr.txt"])
def test_forgotten_job_is_left_out_not_an_error(name: str) -> None:
    text = fixture_text(name)
    job_id = parsers.not_found_ids(text)[0]
    assert hooks.parse_status([job_id], result("", text, 255), {}) == {}


def test_forgotten_job_among_listed_ones_json_error_record() -> None:
    emu = load_emulator()
    text = emu.format_json(
        ["JOBID", "STAT", "EXEC_HOST", "EXIT_CODE", "PEND_REASON"],
        [
            {
                "JOBID": "7",
                "STAT": "RUN",
                "EXEC_HOST": "4*n01:2*n02",
                "EXIT_CODE": "",
                "PEND_REASON": "",
            },
            {"ERROR": "Job <8> is not found"},
        ],
    )
    found = parsers.parse_bjobs(["7", "8"], result(text, "", 255))
    assert list(found) == ["7"]
    assert found["7"].state is JobState.RUNNING and found["7"].host == "n01"


def test_json_usage_error_raises() -> None:
    text = fixture_text("bjobs-json-without-o-error.txt")
    with pytest.raises(CommandError):
        parsers.parse_bjobs(["1"], result("", text, 255))


def test_lsf_down_raises_not_vanished() -> None:
    down = result(WAIT, "Cannot connect to LSF. Please wait ...\nLSF is down.\n", 255)
    with pytest.raises(CommandError):
        hooks.parse_status(["1", "2"], down, {})


def test_empty_successful_answer_is_no_jobs() -> None:
    assert parsers.parse_bjobs(["1"], result("")) == {}


# --- bjobs delimited (LSF < 10.1.0.2) ------------------------------------------------------------


def test_delimited_rows_with_wait_lines_and_missing_id() -> None:
    stdout = (
        WAIT
        + "101|RUN|4*hostA:2*hostB|-|-\n"
        + "102|PEND|-|-|New job is waiting for scheduling; Not enough job slot(s): 3 hosts;\n"
        + "103|EXIT|hostC|2|-\n"
        + "104|USUSP|hostD:hostD|-|-\n"
        + "garbage line\n"
    )
    stderr = fixture_text("bjobs-unknown-job-stderr.txt").replace("864220165", "105")
    found = hooks.parse_status(
        ["101", "102", "103", "104", "105"], result(stdout, stderr, 255), {"bjobs_json": False}
    )
    assert sorted(found) == ["101", "102", "103", "104"]
    assert found["101"].host == "hostA" and found["101"].state is JobState.RUNNING
    assert found["102"].state is JobState.PENDING
    assert found["102"].reason == "New job is waiting for scheduling; Not enough job slot(s)"
    assert found["103"].state is JobState.FAILED and found["103"].exit_code == 2
    assert found["104"].state is JobState.SUSPENDED and found["104"].host == "hostD"


def test_noheader_single_field_value() -> None:
    # the shape of `bjobs -noheader -o 'output_file'`: bare values, one line per job
    assert fixture_text("bjobs-noheader-o-output-file.txt") == "hold_job.out\n"
    rows = parsers.records_from_delimited("5|DONE|-|-|-\n")
    assert rows == [
        {"JOBID": "5", "STAT": "DONE", "EXEC_HOST": "", "EXIT_CODE": "", "PEND_REASON": ""}
    ]


# --- states, hosts, reasons ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stat", "state"),
    [
        ("PEND", JobState.PENDING),
        ("PROV", JobState.PENDING),
        ("WAIT", JobState.PENDING),
        ("PSUSP", JobState.HELD),
        ("RUN", JobState.RUNNING),
        ("USUSP", JobState.SUSPENDED),
        ("SSUSP", JobState.SUSPENDED),
        ("DONE", JobState.DONE),
        ("EXIT", JobState.FAILED),
        ("ZOMBI", JobState.FAILED),
        ("UNKWN", JobState.UNKNOWN),
    ],
)
def test_every_state_is_mapped(stat: str, state: JobState) -> None:
    status = parsers.status_from_fields({"JOBID": "1", "STAT": stat, "EXEC_HOST": "n1"})
    assert status.state is state and status.native_state == stat
    if stat in ("USUSP", "SSUSP", "PSUSP", "PEND", "PROV", "WAIT", "RUN", "UNKWN"):
        assert not status.state.finished
    if stat in ("PROV", "PSUSP", "USUSP", "SSUSP", "UNKWN", "ZOMBI", "WAIT"):
        assert status.reason  # the state itself is explained


def test_unknown_state_is_unknown_not_finished() -> None:
    status = parsers.status_from_fields({"STAT": "WEIRD"})
    assert status.state is JobState.UNKNOWN and "WEIRD" in (status.reason or "")


@pytest.mark.parametrize(
    ("value", "host"),
    [
        ("a6128", "a6128"),
        ("it-c01b11:it-c01b11", "it-c01b11"),
        ("4*h1:2*h2", "h1"),
        ("16*node07.example.org", "node07.example.org"),
        ("hostA@cluster2", "hostA"),
        ("h1 h2", "h1"),
        ("", None),
        ("-", None),
        (None, None),
    ],
)
def test_first_exec_host(value: str | None, host: str | None) -> None:
    assert parsers.first_exec_host(value) == host


def _exec_hosts(text: str) -> list[str | None]:
    lines = [line for line in text.splitlines() if "Please wait" not in line]
    start, end = lines[0].index("EXEC_HOST"), lines[0].index("JOB_NAME")
    return [parsers.first_exec_host(row[start:end]) for row in lines[1:]]


def test_host_columns_of_real_tables() -> None:
    # the EXEC_HOST column of real default tables holds plain host names
    assert _exec_hosts(fixture_text("bjobs-running.txt")) == ["a6128"]
    assert _exec_hosts(fixture_text("bjobs-exit.txt")) == ["a6128"]
    assert _exec_hosts(fixture_text("bjobs-pending.txt")) == [None]
    assert set(_exec_hosts(fixture_text("bjobs-six-running-with-preamble.txt"))) == {"it-c05b10"}


def test_pending_reasons() -> None:
    assert parsers.pending_reasons(" New job is waiting for scheduling;") == [
        "New job is waiting for scheduling"
    ]
    assert parsers.pending_reasons(
        "Not enough job slot(s): 1 host;Not enough job slot(s): 2 hosts"
    ) == ["Not enough job slot(s)"]
    assert parsers.pending_reasons("-") == [] and parsers.pending_reasons(None) == []


def test_describe_pending_in_plain_words() -> None:
    status = JobStatus(JobState.PENDING, "PEND", reason="Not enough job slot(s)")
    text = hooks.describe_status(status)
    assert text and "job slots are busy" in text and "Not enough job slot(s)" in text
    held = JobStatus(JobState.HELD, "PSUSP", reason=parsers.STATE_REASONS["PSUSP"])
    assert "on hold" in (hooks.describe_status(held) or "")
    limit = describe_reason("User has reached the per-user job slot limit of the queue")
    assert limit and "number of jobs you may run" in limit
    assert describe_reason("Some brand new reason") == "Some brand new reason"
    assert hooks.describe_status(JobStatus(JobState.RUNNING, "RUN", host="n1")) is None
    unkwn = hooks.describe_status(JobStatus(JobState.UNKNOWN, "UNKWN"))
    assert unkwn and "lost contact" in unkwn


# --- bacct --------------------------------------------------------------------------------------


def test_bacct_summary_one_exited_job() -> None:
    text = fixture_text("bacct-one-exited-job.txt")
    found = hooks.parse_history(["473713"], result(text, argv=("bacct",)))
    assert found["473713"].state is JobState.FAILED


def test_bacct_summary_only_answers_when_unambiguous() -> None:
    text = fixture_text("bacct-one-exited-job.txt")
    assert parsers.parse_bacct_summary(["1", "2"], text) == {}  # counts do not add up
    done = text.replace("done jobs:       0", "done jobs:       2").replace(
        "exited jobs:     1", "exited jobs:     0"
    )
    found = parsers.parse_bacct_summary(["1", "2"], done)
    assert {s.state for s in found.values()} == {JobState.DONE}
    assert {s.exit_code for s in found.values()} == {0}
    mixed = text.replace("done jobs:       0", "done jobs:       1")
    assert parsers.parse_bacct_summary(["1", "2"], mixed) == {}
    failed = result("", "No matching job found\n", 255, argv=("bacct",))
    assert hooks.parse_history(["1"], failed) == {}


def test_history_can_be_switched_off() -> None:
    assert hooks.history_command(["1"], {"history": False}) is None
    assert hooks.history_command(["1"], {}).argv == ("bacct", "1")


# --- bqueues / bparams --------------------------------------------------------------------------


def test_bqueues_long_limits() -> None:
    text = """
QUEUE: normal
  -- For normal low priority jobs.  This is the default queue.

PARAMETERS/STATISTICS
PRIO NICE STATUS          MAX JL/U JL/P JL/H NJOBS  PEND   RUN SSUSP USUSP  RSV PJOBS
 30    0  Open:Active      64    -    -    -    12     4     8     0     0    0     4
Interval for a host to accept two jobs is 0 seconds

DEFAULT LIMITS:
 RUNLIMIT
 60.0 min of hostA

MAXIMUM LIMITS:
 CPULIMIT                RUNLIMIT
 20.0 min of hostA       720.0 min

 MEMLIMIT
 8 G

SCHEDULING PARAMETERS
           r15s   r1m  r15m   ut      pg    io   ls    it    tmp    swp    mem
 loadSched   -     -     -     -       -     -    -     -     -      -      -

USERS: all
HOSTS:  hostA hostB

QUEUE: night
  -- Overnight jobs.

PARAMETERS/STATISTICS
PRIO NICE STATUS          MAX JL/U JL/P JL/H NJOBS  PEND   RUN SSUSP USUSP  RSV PJOBS
 20    0  Closed:Inact      -    -    -    -     0     0     0     0     0    0     0

MAXIMUM LIMITS:
 MEMLIMIT
 2048
"""
    queues = hooks.parse_resources(
        [result(text, argv=("bqueues", "-l")), result("Default Queues:  normal\n")],
        {"memory_unit": "MB"},
    )
    normal, night = queues
    assert normal.name == "normal" and normal.default and not night.default
    assert normal.state == "Open:Active" and night.state == "Closed:Inact"
    assert normal.max_time_s == 720 * 60 and normal.default_time_s == 3600
    assert normal.memory_per_node_mb == 8192 and night.memory_per_node_mb == 2048
    assert normal.total_cpus == 64 and normal.extra["hosts"] == "hostA hostB"
    assert normal.extra["pend"] == "4" and normal.extra["run"] == "8"
    assert night.max_time_s is None


def test_bqueues_long_without_maximum_heading() -> None:
    # older LSF lists the (maximum) limits right after the statistics, with no heading
    text = """
QUEUE: long
  -- Long jobs.

PARAMETERS/STATISTICS
PRIO NICE STATUS          MAX JL/U JL/P JL/H NJOBS  PEND   RUN SSUSP USUSP  RSV
 35   20  Open:Active       -   10    -    -     0     0     0     0     0    0
Interval for a host to accept two jobs is 0 seconds

 RUNLIMIT
 4320.0 min of hostA

 MEMLIMIT
 16 G

SCHEDULING PARAMETERS
"""
    (queue,) = parsers.parse_bqueues_long(text)
    assert queue.max_time_s == 4320 * 60 and queue.memory_per_node_mb == 16 * 1024
    assert queue.default_time_s is None


def test_bqueues_failure_raises() -> None:
    with pytest.raises(CommandError):
        hooks.parse_resources([result("", "LSF is down\n", 255)], {})


def test_parse_helpers() -> None:
    assert parsers.parse_minutes("12:30") == 12 * 3600 + 30 * 60
    assert parsers.parse_minutes("bogus") is None
    assert parsers.parse_memory_mb("2048 K") == 2
    assert parsers.parse_memory_mb("4 GB") == 4096
    assert parsers.parse_memory_mb("1024", "KB") == 1
    assert parsers.parse_memory_mb("x") is None
    assert parsers.parse_default_queues("Default Queues:  normal idle\n") == ["normal", "idle"]
