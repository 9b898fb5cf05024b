"""The ``pbspro`` backend's parsing hooks on every output recorded from a real OpenPBS server
(``fixtures/openpbs``, see its README): each record goes through the hook that reads it."""

from __future__ import annotations

import pytest
from jobspawner import CommandError, JobState
from jobspawner_torque import describe, parsers, pbspro
from torque.openpbs_fixtures import jobs, recorded, records, stream

NODE = "pbs-vm"  # the recording host's node (and server)

#: Each situation's record of ``qstat -x -f -F json <id>``: what the backend must read there.
SITUATIONS: dict[str, tuple[JobState, int | None, str | None]] = {
    "running": (JobState.RUNNING, None, NODE),
    "queued": (JobState.PENDING, None, None),
    "never": (JobState.PENDING, None, None),
    "held": (JobState.HELD, None, None),
    "finished": (JobState.DONE, 0, NODE),
    "failed": (JobState.FAILED, 3, NODE),
    "walltime": (JobState.FAILED, -29, NODE),
    "deleted-running": (JobState.CANCELLED, 271, NODE),
    "deleted-queued": (JobState.CANCELLED, None, None),
}


def _job(situation: str) -> str:
    return jobs()[situation.replace("-", "_") if situation.startswith("deleted") else situation]


def test_every_record_is_read_by_a_test():
    covered = {f"qstat-x-f-F-json-{s}" for s in SITUATIONS} | {
        "qstat-x-f-F-json-all-and-unknown", "qstat-x-f-F-json-unknown",
        "qstat-E-x-f-F-json-all-and-unknown", "qstat-E-x-f-F-json-unknown",
        "qstat-x-f-F-json-server-down", "qsub-submitted", "qsub-unknown-queue",
        "qsub-unknown-resource", "qsub-over-queue-walltime", "qsub-as-root", "qstat-B-f",
        "qstat-Q-f", "pbsnodes-a", "pbsnodes-a-F-json", "qstat-f-running",
        "qstat-f-finished-without-x", "qdel-other-users-job", "qdel-running", "qdel-queued",
        "qdel-finished", "qdel-unknown",
    } | {f"qstat-x-f-{s}" for s in SITUATIONS if not s.startswith("deleted")}  # fmt: skip
    assert set(records()) <= covered, set(records()) - covered


@pytest.mark.parametrize("situation", SITUATIONS)
def test_status_of_each_situation(situation):
    job = _job(situation)
    state, exit_code, host = SITUATIONS[situation]
    status = pbspro.parse_status([job], recorded(f"qstat-x-f-F-json-{situation}"))[job]
    assert (status.state, status.exit_code, status.host) == (state, exit_code, host)
    assert status.native_state in ("R", "Q", "H", "F")
    assert describe.describe_pbs(status)


def test_queued_jobs_say_why_in_plain_words():
    queued = pbspro.parse_status([jobs()["queued"]], recorded("qstat-x-f-F-json-queued"))
    reason = queued[jobs()["queued"]].reason
    assert reason and reason.startswith("Not Running: Insufficient amount of resource: ncpus")
    assert describe.translate_pbs(reason).startswith("not enough free CPUs right now")
    never = pbspro.parse_status([jobs()["never"]], recorded("qstat-x-f-F-json-never"))
    words = describe.translate_pbs(never[jobs()["never"]].reason)
    assert words.startswith("the job can never run as requested")


def test_walltime_kill_says_so():
    job = jobs()["walltime"]
    status = pbspro.parse_status([job], recorded("qstat-x-f-F-json-walltime"))[job]
    assert status.reason == "the job exceeded its walltime limit and was killed"
    assert "walltime" in describe.describe_pbs(status)


def test_held_job_says_who_holds_it():
    held = pbspro.parse_status([jobs()["held"]], recorded("qstat-x-f-F-json-held"))
    assert held[jobs()["held"]].reason == "held by you (qrls to release)"


def test_one_query_for_every_job_and_an_unknown_one():
    asked = [jobs()[s] for s in ("running", "queued", "never", "held", "finished", "failed")]
    ids = [*asked, jobs()["unknown"]]
    result = recorded("qstat-E-x-f-F-json-all-and-unknown")
    assert result.command.argv == pbspro.status_command(ids, {}).argv
    out = pbspro.parse_status(ids, result)
    assert set(out) == set(asked)  # the unknown one is left out: vanished for the core
    assert out[jobs()["failed"]].exit_code == 3


def test_without_E_openpbs_prints_only_the_first_of_several_jobs():
    """openpbs/openpbs#2672 on the recorded build: why the status command passes ``-E``."""
    result = recorded("qstat-x-f-F-json-all-and-unknown")
    assert result.returncode == 153 and jobs()["unknown"] in result.stderr
    assert list(parsers.pbspro_json_document(result.stdout)["Jobs"]) == [jobs()["running"]]
    assert "-E" in pbspro.status_command([jobs()["running"]], {}).argv


@pytest.mark.parametrize("name", ["qstat-x-f-F-json-unknown", "qstat-E-x-f-F-json-unknown"])
def test_unknown_job_alone_is_an_answer(name):
    assert pbspro.parse_status([jobs()["unknown"]], recorded(name)) == {}


def test_server_down_raises_with_its_message():
    with pytest.raises(CommandError, match="15010"):
        pbspro.parse_status([jobs()["running"]], recorded("qstat-x-f-F-json-server-down"))


def test_qstat_f_text_of_each_situation():
    for situation in ("running", "queued", "never", "held", "finished", "failed"):
        blocks = parsers.qstat_full_text(stream(f"qstat-x-f-{situation}", "stdout"))
        ((kind, name, attrs),) = blocks
        assert (kind, name) == ("Job Id", jobs()[situation])
        assert attrs["job_state"] in "RQHF"
        assert attrs["Job_Name"] == ("rec-submit" if situation == "running" else f"rec-{situation}")
        if situation == "running":
            assert attrs["exec_host"].startswith(f"{NODE}/")
    running = parsers.qstat_full_text(stream("qstat-f-running", "stdout"))
    assert running[0][2]["job_state"] == "R"


def test_submit_prints_the_job_id():
    assert pbspro.parse_submit(recorded("qsub-submitted")) == jobs()["running"]


@pytest.mark.parametrize(
    "name",
    ["qsub-unknown-queue", "qsub-unknown-resource", "qsub-over-queue-walltime", "qsub-as-root"],
)
def test_submit_refusals_carry_the_schedulers_words(name):
    result = recorded(name)
    assert result.returncode != 0
    with pytest.raises(CommandError) as error:
        pbspro.parse_submit(result)
    assert result.stderr.strip().splitlines()[0] in str(error.value)


def test_qdel_answers():
    assert recorded("qdel-running").ok
    assert recorded("qdel-queued").ok
    finished, unknown = recorded("qdel-finished"), recorded("qdel-unknown")
    assert parsers.unknown_ids(finished.stderr) == [jobs()["finished"]]
    assert parsers.unknown_ids(unknown.stderr) == [jobs()["unknown"]]
    assert {finished.returncode, unknown.returncode} <= set(parsers.UNKNOWN_JOB_CODES)
    refused = recorded("qdel-other-users-job")
    assert refused.returncode != 0 and parsers.unknown_ids(refused.stderr) is None


def test_resources_from_the_three_commands():
    results = [recorded("qstat-B-f"), recorded("qstat-Q-f"), recorded("pbsnodes-a")]
    assert [r.command.argv[1:] for r in results] == [
        c.argv[1:] for c in pbspro.resources_commands({})
    ]
    queues = {q.name: q for q in pbspro.parse_resources(results)}
    assert {"workq", "jsshort", "jsroute"} <= set(queues)
    assert queues["workq"].default and not queues["jsshort"].default
    assert queues["jsshort"].max_time_s == 3600
    assert queues["jsshort"].default_time_s == 1800
    assert queues["workq"].state == "up"
    assert (queues["workq"].nodes, queues["workq"].cpus_per_node) == (1, 2)
    assert queues["workq"].memory_per_node_mb
    assert queues["jsroute"].extra["queue_type"] == "Route"
    assert queues["jsroute"].cpus_per_node is None


def test_pbsnodes_json_and_text_agree():
    """``pbsnodes -a -F json`` (the recorder finds the node with it) says what the text says."""
    nodes = parsers.pbspro_json_document(stream("pbsnodes-a-F-json", "stdout"))["nodes"]
    ((kind, name, attrs),) = parsers.qstat_full_text(stream("pbsnodes-a", "stdout"))
    assert (kind, list(nodes)) == ("Node", [name])
    assert nodes[name]["resources_available"]["ncpus"] == int(attrs["resources_available.ncpus"])
    assert nodes[name]["state"] == attrs["state"]
