"""The pure parsers on real Grid Engine output (captured on SoGE 8.1.9 and from samples)."""

from __future__ import annotations

from pathlib import Path

import pytest
from jobspawner import JobState
from jobspawner.contract.exit_words import exit_code_text
from jobspawner_sge import parsers

FIXTURES = Path(__file__).parent / "fixtures"


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text()


# --- qsub ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "job_id"),
    [
        ("341683\n", "341683"),
        ("12.1-10:1\n", "12"),
        ('Your job 341683 ("STDIN") has been submitted', "341683"),  # sample, no period
        ('Your job 1258076 ("nf-formatBlast_2") has been submitted', "1258076"),  # sample
        ('Your job 2 ("sleeper") has been submitted\n', "2"),  # SoGE 8.1.9 here
        ('Your job 7 ("x") has been submitted.\n', "7"),  # the client's variant, with period
        ('Your job-array 8.1-3:1 ("arr") has been submitted\n', "8"),
        ("warning: something\n55\n", "55"),
    ],
)
def test_job_id_from_qsub(text: str, job_id: str) -> None:
    assert parsers.parse_job_id(text) == job_id


@pytest.mark.parametrize("text", ["", "Exiting.\n", "Your job has been submitted", "12 34"])
def test_no_job_id(text: str) -> None:
    assert parsers.parse_job_id(text) is None


@pytest.mark.parametrize(
    ("name", "valid", "safe"),
    [
        ("jupyter-alice", True, "jupyter-alice"),
        ("123DemoSGEApp", False, "j123DemoSGEApp"),
        ("jupyter-bob-lab.2", True, "jupyter-bob-lab.2"),
        ("a/b:c@d", False, "a_b_c_d"),
        ("-x", False, "j-x"),
        ("", False, "j"),
    ],
)
def test_job_names(name: str, valid: bool, safe: str) -> None:
    assert parsers.valid_job_name(name) is valid
    assert parsers.safe_job_name(name) == safe
    assert parsers.valid_job_name(parsers.safe_job_name(name))


# --- states --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "state"),
    [
        ("qw", JobState.PENDING),
        ("Rq", JobState.PENDING),
        ("hqw", JobState.HELD),
        ("hRwq", JobState.HELD),
        ("r", JobState.RUNNING),
        ("hr", JobState.RUNNING),
        ("t", JobState.RUNNING),
        ("Rr", JobState.RUNNING),
        ("Rt", JobState.RUNNING),
        ("s", JobState.SUSPENDED),
        ("ts", JobState.SUSPENDED),
        ("S", JobState.SUSPENDED),
        ("tS", JobState.SUSPENDED),
        ("T", JobState.SUSPENDED),
        ("tT", JobState.SUSPENDED),
        ("Rs", JobState.SUSPENDED),
        ("RtS", JobState.SUSPENDED),
        ("dr", JobState.RUNNING),
        ("dt", JobState.RUNNING),
        ("dRr", JobState.RUNNING),
        ("ds", JobState.SUSPENDED),
        ("dS", JobState.SUSPENDED),
        ("Eqw", JobState.FAILED),
        ("Ehqw", JobState.FAILED),
        ("EhRqw", JobState.FAILED),
        ("z", JobState.DONE),
        ("", JobState.UNKNOWN),
        ("?", JobState.UNKNOWN),
    ],
)
def test_state_codes(code: str, state: JobState) -> None:
    assert parsers.map_state(code) is state


def test_suspended_is_not_finished() -> None:
    for code in ("s", "S", "T", "ts"):
        assert not parsers.map_state(code).finished


def test_state_codes_of_plain_qstat_samples() -> None:
    """Every state letter in the plain qstat samples (SGE and Univa) maps to a known state."""
    codes = []
    for name in ("sample-qstat-plain-five-jobs.txt", "sample-qstat-univa-plain.txt"):
        for line in fixture(name).splitlines()[2:]:
            codes.append(line.split()[4])
    assert sorted(set(codes)) == ["Eqw", "hqw", "qw", "r"]
    assert all(parsers.map_state(c) is not JobState.UNKNOWN for c in codes)


@pytest.mark.parametrize(
    ("queue", "host"),
    [
        ("all.q@vm", "vm"),
        ("long@node-hp0214.linux.crg.es", "node-hp0214.linux.crg.es"),
        ("", None),
        (None, None),
        ("all.q", None),
    ],
)
def test_host_of(queue: str | None, host: str | None) -> None:
    assert parsers.host_of(queue) == host


# --- qstat -xml ----------------------------------------------------------------------------


def test_qstat_xml_soge() -> None:
    jobs = {
        j.job_id: j for j in parsers.parse_qstat_xml(fixture("soge-qstat-xml-r-s-qw-Eqw-hqw.xml"))
    }
    assert {k: v.state for k, v in jobs.items()} == {
        "9": "r",
        "10": "s",
        "11": "r",
        "4": "qw",
        "1": "Eqw",
        "2": "Eqw",
        "5": "Eqw",
        "3": "hqw",
    }
    assert jobs["11"].host == "vm" and jobs["11"].queue == "long.q@vm" and jobs["11"].slots == 2
    assert jobs["4"].host is None and jobs["4"].slots == 64
    s9 = jobs["9"].status()
    assert s9.state is JobState.RUNNING and s9.host == "vm" and s9.native_state == "r"
    assert s9.extra["owner"] == "alice"
    s10 = jobs["10"].status()
    assert s10.state is JobState.SUSPENDED and s10.host == "vm"
    assert jobs["1"].status().state is JobState.FAILED
    assert jobs["3"].status().state is JobState.HELD
    assert jobs["4"].status().host is None


def test_qstat_xml_queue_suspended_and_deleting() -> None:
    jobs = {
        j.job_id: j for j in parsers.parse_qstat_xml(fixture("soge-qstat-xml-queue-suspended.xml"))
    }
    assert jobs["11"].state == "S"
    assert jobs["11"].status().state is JobState.SUSPENDED
    assert "queue is suspended" in (jobs["11"].status().reason or "")
    jobs = {j.job_id: j for j in parsers.parse_qstat_xml(fixture("soge-qstat-xml-deleting.xml"))}
    dr = jobs["9"].status()
    assert dr.state is JobState.RUNNING and dr.native_state == "dr"
    assert dr.reason == "being deleted"


def test_qstat_xml_ext_urg_sample() -> None:
    jobs = {j.job_id: j for j in parsers.parse_qstat_xml(fixture("sample-qstat-ext-urg-xml.xml"))}
    assert jobs["1212299"].host == "node080" and jobs["1212299"].state == "r"
    assert jobs["1212263"].status().state is JobState.PENDING
    assert jobs["1212263"].slots == 8
    assert jobs["1212322"].status().state is JobState.HELD


def test_qstat_xml_full_format_sample_host_from_queue_list() -> None:
    jobs = {j.job_id: j for j in parsers.parse_qstat_xml(fixture("sample-qstat-F-xml.xml"))}
    assert len(jobs) == 9
    assert jobs["612"].host == "ip-10-0-1-113.ec2.internal"
    assert jobs["613"].host == "ip-10-0-1-203.ec2.internal"
    assert all(j.status().state is JobState.RUNNING for j in jobs.values())


@pytest.mark.parametrize("text", ["", "error: commlib error", "<job_info"])
def test_qstat_xml_unreadable(text: str) -> None:
    with pytest.raises(parsers.QstatXmlError):
        parsers.parse_qstat_xml(text)


def test_qstat_xml_no_jobs() -> None:
    text = (
        "<?xml version='1.0'?>\n<job_info>\n  <queue_info>\n  </queue_info>\n"
        "  <job_info>\n  </job_info>\n</job_info>\n"
    )
    assert parsers.parse_qstat_xml(text) == []


def test_qstat_xml_odd_job_skipped() -> None:
    text = (
        "<job_info><queue_info><job_list><JB_job_number>x</JB_job_number></job_list>"
        "<job_list><JB_job_number>5</JB_job_number><state>r</state>"
        "<queue_name>q@h</queue_name><slots>?</slots></job_list></queue_info></job_info>"
    )
    jobs = parsers.parse_qstat_xml(text)
    assert [(j.job_id, j.host, j.slots) for j in jobs] == [("5", "h", None)]


# --- qstat -j ------------------------------------------------------------------------------


def test_qstat_j_reasons() -> None:
    details = parsers.parse_qstat_j(fixture("soge-qstat-j-Eqw-hqw-pe.txt"))
    assert set(details) == {"1", "3", "4"}
    assert details["1"].error_reasons == [
        'can\'t open output file "/tmp/sge-explore/out.txt": Permission denied'
    ]
    assert parsers.summarize_detail(details["1"]).startswith("can't open output file")
    assert details["3"].scheduling_info == ["Job is in hold state"]
    assert parsers.summarize_detail(details["4"]) == (
        'cannot run in PE "smp" because it only offers 0 slots'
    )


def test_qstat_j_multi_line_scheduling_info() -> None:
    text = (
        "==============================================================\n"
        "job_number:                 42\n"
        "owner:                      alice\n"
        'scheduling info:            queue instance "all.q@vm" dropped because it is full\n'
        '                            queue instance "long.q@vm" dropped because it is full\n'
        '                            cannot run in queue "x.q" because it is not contained '
        "in its hard queue list (-q)\n"
        '                            cannot run in PE "smp" because it only offers 2 slots\n'
    )
    detail = parsers.parse_qstat_j(text)["42"]
    assert len(detail.scheduling_info) == 4
    summary = parsers.summarize_detail(detail)
    assert "hard queue list" not in summary
    assert summary.count(";") == 2


def test_qstat_j_error_reason_debris_removed() -> None:
    text = (
        "job_number:                 19\n"
        "error reason          1:      11/22/2026 18:53:46 [1001:22063]: can't stat() "
        '"/root/forbidden.log" as stdout_path: Permission denied KRB5CCNAME=none uid=1001 '
        "gid=1001 1001 65409\n"
        "scheduling info:            Job is in error state\n"
    )
    detail = parsers.parse_qstat_j(text)["19"]
    assert parsers.summarize_detail(detail) == (
        'can\'t stat() "/root/forbidden.log" as stdout_path: Permission denied'
    )


def test_qstat_j_unknown_job_and_turned_off() -> None:
    assert parsers.parse_qstat_j(fixture("soge-qstat-j-unknown.stderr.txt")) == {}
    text = (
        "job_number:  5\n"
        "scheduling info:  (Collecting of scheduler job information is turned off)\n"
    )
    assert parsers.summarize_detail(parsers.parse_qstat_j(text)["5"]) is None


# --- qacct ---------------------------------------------------------------------------------


def test_qacct_completed_sample() -> None:
    found = parsers.parse_qacct(fixture("sample-qacct-completed.txt"))
    status = found["123"]
    assert status.state is JobState.DONE and status.exit_code == 0
    assert status.host == "compute-0-2.local"


def test_qacct_exit_code() -> None:
    status = parsers.parse_qacct(fixture("soge-qacct-exit3.txt"))["12"]
    assert status.state is JobState.FAILED and status.exit_code == 3
    assert status.reason == "the job exited with status 3"


def test_qacct_killed_by_qdel() -> None:
    status = parsers.parse_qacct(fixture("soge-qacct-qdel-running.txt"))["9"]
    assert status.state is JobState.FAILED and status.exit_code == 137
    assert "failed 100: assumedly after job" in status.reason
    # the signal is said once, with the exit code (jobspawner.contract.exit_words), not again here
    assert "signal 9" not in status.reason and "signal 9" in exit_code_text(status.exit_code)


def test_qacct_unknown_job() -> None:
    assert parsers.parse_qacct("error: job id 123 not found\n") == {}
    assert parsers.parse_qacct("") == {}


def test_qacct_several_records_last_wins() -> None:
    text = fixture("soge-qacct-exit3.txt") + fixture("soge-qacct-exit3.txt").replace(
        "exit_status  3", "exit_status  0"
    )
    assert parsers.parse_qacct(text)["12"].state is JobState.DONE


# --- qdel ----------------------------------------------------------------------------------


def test_qdel_outcomes() -> None:
    assert parsers.parse_qdel(fixture("soge-qdel-running-pending-unknown.txt")) == {
        "9": "registered",
        "4": "deleted",
        "999": "unknown",
    }
    assert parsers.parse_qdel(fixture("soge-qdel-other-user.txt")) == {"9": "denied"}
    # the samples from another site (gc3pie), written as they are
    assert parsers.parse_qdel("antonio has registered the job 123 for deletion") == {
        "123": "registered"
    }
    assert parsers.parse_qdel('denied: job "123" does not exist') == {"123": "unknown"}
    assert parsers.parse_qdel(
        'antonio - you do not have the necessary privileges to delete the job "123"\n'
    ) == {"123": "denied"}
    assert parsers.parse_qdel("") == {}


# --- resources -----------------------------------------------------------------------------


def test_qstat_g_c() -> None:
    rows = parsers.parse_qstat_gc(fixture("soge-qstat-g-c.txt"))
    assert [(r.name, r.used, r.available, r.total) for r in rows] == [
        ("all.q", 2, 2, 4),
        ("long.q", 2, 2, 4),
    ]


@pytest.mark.parametrize("name", ["soge-qconf-sq-star.txt", "soge-qconf-sq-list.txt"])
def test_queue_conf(name: str) -> None:
    confs = parsers.parse_queue_conf(fixture(name))
    assert list(confs) == ["all.q", "long.q"]
    assert confs["long.q"]["h_rt"] == "12:00:00" and confs["all.q"]["h_rt"] == "INFINITY"
    assert confs["all.q"]["qtype"] == "BATCH INTERACTIVE"


def test_queue_info() -> None:
    rows = {r.name: r for r in parsers.parse_qstat_gc(fixture("soge-qstat-g-c.txt"))}
    confs = parsers.parse_queue_conf(fixture("soge-qconf-sq-star.txt"))
    info = parsers.queue_info(rows["long.q"], "long.q", confs["long.q"])
    assert info.max_time_s == 12 * 3600 and info.total_cpus == 4 and info.idle_cpus == 2
    assert info.nodes == 1 and info.cpus_per_node == 4 and info.gres == "smp"
    assert info.memory_per_node_mb is None and info.state == "open"


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("12:00:00", 43200), ("1:30:0", 5400), ("3600", 3600), ("INFINITY", None), ("x", None)],
)
def test_durations(text: str, seconds: int | None) -> None:
    assert parsers.parse_duration(text) == seconds


@pytest.mark.parametrize(
    ("text", "mb"),
    [("4G", 4096), ("512M", 512), ("1.5G", 1536), ("1g", 953), ("INFINITY", None), ("", None)],
)
def test_memory(text: str, mb: int | None) -> None:
    assert parsers.parse_memory_mb(text) == mb
