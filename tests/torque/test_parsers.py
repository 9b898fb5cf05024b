"""The pure parsers on verbatim real outputs (tests/torque/fixtures, see its README)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from jobspawner import Command, CommandError, CommandResult, JobState, JobStatus
from jobspawner_torque import describe, parsers
from jobspawner_torque.common import duration_s, first_host, match_ids, size_mb

FIXTURES = Path(__file__).parent / "fixtures"


def fixture_text(name: str) -> str:
    return (FIXTURES / name).read_text()


def result(stdout: str = "", stderr: str = "", code: int = 0) -> CommandResult:
    return CommandResult(Command(["qstat"]), code, stdout, stderr)


# --- helpers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "host"),
    [
        ("node01/0", "node01"),
        ("node1/0*2+node2/0*2", "node1"),
        ("charon24/0*2+charon21/0*2", "charon24"),
        ("node1/0-3", "node1"),
        ("r2i4n13/0-23+r1i2n12/0-23+r1i2n11/0-23", "r2i4n13"),
        ("(b141:ncpus=16)+(b142:ncpus=16)", "b141"),
        ("charon24.nti.tul.cz:15002/0*2+charon21.nti.tul.cz:15002/0*2", "charon24.nti.tul.cz"),
        ("n4545.nemo.privat", "n4545.nemo.privat"),
        ("n1:8,n2:8", "n1"),
        ("", None),
        (None, None),
    ],
)
def test_first_host(value, host):
    assert first_host(value) == host


def test_match_ids_by_sequence_number():
    got = match_ids(["123.head", "77.vm"], ["123.head.cluster.org", "77.vm", "9.vm"])
    assert got == {"123.head.cluster.org": "123.head", "77.vm": "77.vm"}


def test_durations_and_sizes():
    assert duration_s("01:00:00") == 3600
    assert duration_s("720:00:00") == 720 * 3600
    assert duration_s("1:02:00:00") == 93600
    assert duration_s("3600") == 3600
    assert duration_s("soon") is None
    assert size_mb("4gb") == 4096
    assert size_mb("4194304kb") == 4096
    assert size_mb("512mb") == 512
    assert size_mb("junk") is None


# --- submit -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fixture", "job_id"),
    [
        ("torque-qsub-submitted.txt", "16376372.opt-batch.osc.edu"),
        ("torque-qsub-submitted-fqdn-server.txt", "1584288.biocluster.igb.illinois.edu"),
        ("moab-msub-submitted.txt", "4761849"),
    ],
)
def test_parse_submit(fixture, job_id):
    assert parsers.parse_submit_output(result(fixture_text(fixture))) == job_id


def test_parse_submit_refused_shows_scheduler_message():
    text = fixture_text("torque-qsub-error-exceeds-queue-limits.txt")
    with pytest.raises(CommandError) as e:
        parsers.parse_submit_output(result("", text, 190))
    assert "cannot locate feasible nodes" in str(e.value)
    assert "190" in str(e.value)


def test_parse_submit_without_id():
    with pytest.raises(CommandError, match="did not print a job id"):
        parsers.parse_submit_output(result("some banner text\n"))


# --- Torque qstat -x ------------------------------------------------------------------------


def test_torque_one_queued_job():
    out = parsers.parse_torque_status(
        ["16376372.opt-batch.osc.edu"], result(fixture_text("torque-qstat-x-one-queued-job.xml"))
    )
    status = out["16376372.opt-batch.osc.edu"]
    assert status.state is JobState.PENDING
    assert status.native_state == "Q"
    assert status.host is None


def test_torque_six_jobs():
    ids = [
        "665199.superserver.stanford.edu",
        "667999.superserver.stanford.edu",
        "673174.superserver.stanford.edu",
        "673175[].superserver.stanford.edu",
        "673175[19].fruster.stanford.edu",
        "999.superserver.stanford.edu",
    ]
    text = fixture_text("torque-qstat-x-six-jobs-running-queued-completed-array.xml")
    out = parsers.parse_torque_status(ids, result(text))
    running = out["665199.superserver.stanford.edu"]
    assert running.state is JobState.RUNNING
    assert running.host == "node01"
    assert running.exit_code is None  # exit_status -3 of an earlier run is not this run's
    assert out["667999.superserver.stanford.edu"].state is JobState.PENDING
    done = out["673174.superserver.stanford.edu"]
    assert (done.state, done.exit_code, done.host) == (JobState.DONE, 0, "node04")
    assert out["673175[19].fruster.stanford.edu"].state is JobState.DONE
    assert "999.superserver.stanford.edu" not in out  # missing: left to the core


def test_torque_queried_with_short_server_name():
    text = fixture_text("torque-qstat-x-one-queued-job.xml")
    out = parsers.parse_torque_status(["16376372.opt-batch"], result(text))
    assert out["16376372.opt-batch"].state is JobState.PENDING


def test_torque_unknown_ids_on_stderr_are_an_answer():
    stderr = fixture_text("torque-qstat-x-unknown-job-stderr.txt")
    text = fixture_text("torque-qstat-x-one-queued-job.xml")
    ids = ["16376372.opt-batch.osc.edu", "3685292.mgt.meerkat.mcri.edu.au"]
    out = parsers.parse_torque_status(ids, result(text, stderr, 153))
    assert list(out) == ["16376372.opt-batch.osc.edu"]
    old = fixture_text("torque-qstat-unknown-job.txt")  # older wording, no "Error"
    assert parsers.parse_torque_status(["123"], result("", old, 153)) == {}


def test_torque_other_failures_raise():
    with pytest.raises(CommandError):
        parsers.parse_torque_status(
            ["1.vm"], result("", "qstat: cannot connect to server vm (errno=111)\n", 111)
        )


def test_torque_invalid_characters_in_variable_list():
    text = fixture_text("torque-qstat-x-one-queued-job.xml")
    broken = text.replace("PBS_O_LANG=C", "PBS_O_LANG=C,PROMPT=\x1b[1m&<b>\x07")
    out = parsers.parse_torque_status(["16376372.opt-batch.osc.edu"], result(broken))
    assert out["16376372.opt-batch.osc.edu"].state is JobState.PENDING


def test_torque_unparseable_xml_falls_back_to_fields():
    text = "<Data><Job><Job_Id>5.vm</Job_Id><job_state>R</job_state><Job_Name>a<b</Job_Name>"
    text += "<exec_host>n3/0-1</exec_host></Job></Data>"
    out = parsers.parse_torque_status(["5.vm"], result(text))
    assert out["5.vm"].state is JobState.RUNNING
    assert out["5.vm"].host == "n3"


@pytest.mark.parametrize(
    ("code", "exit_status", "state"),
    [
        ("Q", None, JobState.PENDING),
        ("W", None, JobState.PENDING),
        ("T", None, JobState.PENDING),
        ("M", None, JobState.PENDING),
        ("H", None, JobState.HELD),
        ("S", None, JobState.SUSPENDED),
        ("U", None, JobState.SUSPENDED),
        ("R", None, JobState.RUNNING),
        ("E", None, JobState.RUNNING),
        ("B", None, JobState.RUNNING),
        ("C", "0", JobState.DONE),
        ("C", "1", JobState.FAILED),
        ("C", "271", JobState.FAILED),
        ("F", "0", JobState.DONE),
        ("X", "0", JobState.DONE),
        ("Z", None, JobState.UNKNOWN),
    ],
)
def test_every_pbs_state_code(code, exit_status, state):
    job = {"Job_Id": "1.s", "job_state": code, "exec_host": "n1/0"}
    if exit_status is not None:
        job["exit_status"] = exit_status
    status = parsers.torque_job_status(job)
    assert status.state is state
    assert not (state in (JobState.HELD, JobState.SUSPENDED) and status.state.finished)


def test_deleted_before_start_is_cancelled():
    status = parsers.torque_job_status({"Job_Id": "1.s", "job_state": "C"})
    assert status.state is JobState.CANCELLED


def test_signal_exit_reason():
    status = parsers.torque_job_status({"job_state": "C", "exit_status": "271", "exec_host": "a/0"})
    assert status.reason == "killed by signal 15"
    assert status.exit_code == 271


# --- PBS Pro qstat -f -F json -x -------------------------------------------------------------


def test_pbspro_running_two_nodes():
    text = fixture_text("pbspro-qstat-xf-F-json-running-two-nodes.json")
    job_id = "12860476.meta-pbs.metacentrum.cz"
    status = parsers.parse_pbspro_status([job_id], result(text))[job_id]
    assert status.state is JobState.RUNNING
    assert status.host == "charon24"
    assert status.reason is None  # "Job run at ..." is not a reason
    assert status.extra["comment"].startswith("Job run at")


def test_pbspro_server_unreachable_raises():
    stdout = fixture_text("pbspro-qstat-x-f-F-json-connection-refused.json")
    stderr = fixture_text("pbspro-qstat-x-f-F-json-connection-refused-stderr.txt")
    with pytest.raises(CommandError, match="errno=15010"):
        parsers.parse_pbspro_status(["1.x"], result(stdout, stderr, 255))


def test_pbspro_unknown_and_finished_ids():
    header = '{\n    "timestamp":1,\n    "pbs_version":"22.05.11",\n    "pbs_server":"s"\n}\n'
    unknown = "qstat: Unknown Job Id 7.s\n"
    assert parsers.parse_pbspro_status(["7.s"], result(header, unknown, 153)) == {}
    finished = "qstat: 8.s Job has finished, use -x or -H to obtain historical job information\n"
    assert parsers.parse_pbspro_status(["8.s"], result(header, finished, 35)) == {}


def test_pbspro_numeric_job_name_and_string_exit_status():
    text = (
        '{\n    "pbs_server":"s",\n    "Jobs":{\n        "3.s":{\n'
        '            "Job_Name":0123,\n            "job_state":"F",\n'
        '            "exec_host":"n7/0",\n            "Exit_status":"2"\n        }\n    }\n}\n'
    )
    status = parsers.parse_pbspro_status(["3.s"], result(text))["3.s"]
    assert (status.state, status.exit_code, status.host) == (JobState.FAILED, 2, "n7")


def test_pbspro_walltime_exit_and_estimate():
    job = {"job_state": "F", "Exit_status": -29, "exec_host": "n1/0"}
    status = parsers.pbspro_job_status(job)
    assert status.state is JobState.FAILED
    assert "walltime" in status.reason
    queued = {"job_state": "Q", "estimated": {"start_time": "Tue Oct  4 21:23:20 2022"}}
    assert parsers.pbspro_job_status(queued).expected_start == datetime(2022, 10, 4, 21, 23, 20)


# --- text forms (qstat -f, qstat -Q -f) ---------------------------------------------------


def test_qstat_f_text_with_wrapped_lines():
    blocks = parsers.qstat_full_text(fixture_text("pbspro-qstat-f-excerpt-queued-running.txt"))
    kinds = [(k, n) for k, n, _ in blocks]
    assert kinds == [("Job Id", "68350.mycluster"), ("Job Id", "69301.mycluster")]
    queued, running = blocks[0][2], blocks[1][2]
    assert queued["comment"] == "Not Running: Node is in an ineligible state: offline"
    assert queued["Error_Path"].endswith("PTOscaletest/testjob.err")
    assert running["exec_host"] == "b141/0*16+b142/0*16+b143/0*16+b144/0*16"
    assert running["exec_vnode"].endswith("(b144:ncpus=16)")
    status = parsers._pbs_status(running["job_state"], None, first_host(running["exec_host"]), None)
    assert status.host == "b141"


def test_torque_qstat_f_text():
    blocks = parsers.qstat_full_text(fixture_text("torque-qstat-f-excerpt-held-running.txt"))
    held, running = blocks[0][2], blocks[1][2]
    assert held["job_state"] == "H"
    assert (
        held["Output_Path"] == "host.domain:/some/path/to/sth/GLmore/down/the/path/ASSP-1R.o549159"
    )
    assert running["exec_host"].startswith("r2i4n13/0-23+")


def test_queues_from_qstat_Q_f():
    text = fixture_text("pbspro-qstat-Q-f-routing-queue.txt")
    blocks = parsers.qstat_full_text(text)
    assert blocks[0][2]["state_count"].endswith("Begun:0 ")
    (queue,) = parsers.parse_resources_text([result(text)])
    assert queue.name == "default"
    assert queue.max_time_s == 720 * 3600
    assert queue.default_time_s == 24 * 3600
    assert queue.state == "up"
    assert queue.extra["queue_type"] == "Route"
    assert queue.cpus_per_node is None  # a routing queue has no nodes of its own


# --- Moab ---------------------------------------------------------------------------------


def test_moab_showq_active_eligible_completed():
    text = fixture_text("moab-showq-xml-and-showq-c-xml.xml")
    out = parsers.parse_moab_status(["5096381", "4761849", "5087810", "1"], result(text))
    assert out["5096381"].state is JobState.RUNNING
    assert out["5096381"].host == "n4545.nemo.privat"
    assert out["4761849"].state is JobState.PENDING
    assert out["4761849"].reason == "Idle"
    assert (out["5087810"].state, out["5087810"].exit_code) == (JobState.DONE, 0)
    assert "1" not in out


def test_moab_drm_job_id_matches():
    text = fixture_text("moab-showq-xml-and-showq-c-xml.xml")
    out = parsers.parse_moab_status(["5096381.mg1.nemo.privat"], result(text))
    assert out["5096381.mg1.nemo.privat"].state is JobState.RUNNING


def test_moab_cancelled():
    text = fixture_text("moab-showq-c-xml-cancelled.xml")
    status = parsers.parse_moab_status(["7624217"], result(text))["7624217"]
    assert status.state is JobState.CANCELLED


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ("Idle", JobState.PENDING),
        ("Starting", JobState.PENDING),
        ("Blocked", JobState.PENDING),
        ("Deferred", JobState.HELD),
        ("Hold", JobState.HELD),
        ("UserHold", JobState.HELD),
        ("SystemHold", JobState.HELD),
        ("BatchHold", JobState.HELD),
        ("Running", JobState.RUNNING),
        ("Canceling", JobState.RUNNING),
        ("Suspended", JobState.SUSPENDED),
        ("Completed", JobState.DONE),
        ("Removed", JobState.CANCELLED),
        ("Vacated", JobState.FAILED),
        ("Frobnicated", JobState.UNKNOWN),
    ],
)
def test_moab_states(state, expected):
    assert parsers.moab_job_status({"JobID": "1", "State": state}).state is expected


def test_moab_failure_raises_and_bad_xml_raises():
    with pytest.raises(CommandError):
        parsers.parse_moab_status(["1"], result("", "ERROR:  client timed out", 1))
    with pytest.raises(CommandError, match="cannot be read"):
        parsers.parse_moab_status(["1"], result("<Data><job"))


# --- descriptions -------------------------------------------------------------------------


def test_describe_pbs_comments():
    queued = JobStatus(
        JobState.PENDING, "Q", reason="Not Running: Node is in an ineligible state: offline"
    )
    assert "offline" in describe.describe_pbs(queued)
    short = JobStatus(
        JobState.PENDING,
        "Q",
        reason="Not Running: Insufficient amount of resource: ncpus (R: 2 A: 0 T: 2)",
    )
    assert "not enough free CPUs" in describe.describe_pbs(short)
    never = JobStatus(
        JobState.PENDING,
        "Q",
        reason="Can Never Run: Insufficient amount of resource: ncpus (R: 9 A: 2 T: 2)",
    )
    assert "can never run" in describe.describe_pbs(never)
    held = parsers.torque_job_status({"job_state": "H", "Hold_Types": "u"})
    assert "held by you" in describe.describe_pbs(held)
    odd = JobStatus(JobState.PENDING, "Q", reason="Not Running: something new")
    assert "something new" in describe.describe_pbs(odd)


def test_describe_moab():
    idle = parsers.moab_job_status({"JobID": "1", "State": "Idle"})
    assert "waiting for free resources" in describe.describe_moab(idle)
    blocked = parsers.moab_job_status(
        {"JobID": "1", "State": "Idle", "BlockReason": "IdlePolicy", "Description": "limit 8"}
    )
    assert "limit" in describe.describe_moab(blocked)
    assert "limit 8" in describe.describe_moab(blocked)


def test_describe_exiting_job():
    status = parsers.torque_job_status({"job_state": "E", "exec_host": "n1/0"})
    assert status.state is JobState.RUNNING
    assert "ending" in describe.describe_pbs(status)


# --- Torque tracejob (opt-in history) -------------------------------------------------------


def test_tracejob_completed_queued_running():
    done = parsers.parse_tracejob(
        ["123.argo"], result(fixture_text("torque-tracejob-completed.txt"))
    )
    assert (done["123.argo"].state, done["123.argo"].exit_code) == (JobState.DONE, 0)
    for name in ("torque-tracejob-queued.txt", "torque-tracejob-running.txt"):
        assert parsers.parse_tracejob(["123"], result(fixture_text(name))) == {}
    stderr = fixture_text("torque-tracejob-no-records-stderr.txt")
    assert parsers.parse_tracejob(["123"], result("", stderr, 0)) == {}


def test_tracejob_failed_and_deleted():
    text = fixture_text("torque-tracejob-completed.txt").replace("Exit_status=0", "Exit_status=271")
    failed = parsers.parse_tracejob(["123"], result(text))["123"]
    assert (failed.state, failed.reason) == (JobState.FAILED, "killed by signal 15")
    deleted = "\nJob: 9.s\n\n01/01/2020 00:00:00  S    Job deleted at request of a@s\n"
    assert parsers.parse_tracejob(["9.s"], result(deleted))["9.s"].state is JobState.CANCELLED


def test_torque_history_is_opt_in():
    from jobspawner_torque import torque

    assert torque.history_command(["1.s"], {}) == []
    commands = torque.history_command(["1.s", "2.s"], {"history": "tracejob", "tracejob": "/x/tj"})
    assert [c.argv for c in commands] == [("/x/tj", "-n", "3", "1.s"), ("/x/tj", "-n", "3", "2.s")]
