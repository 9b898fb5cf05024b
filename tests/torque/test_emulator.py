"""The emulator prints what the real tools print: its output is checked against the
verbatim samples (structure, fields, key lines, exit statuses), so it cannot drift."""

from __future__ import annotations

import json
import re
import subprocess
import threading
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from harness.strict import need, need_root
from jobspawner import Command, CommandResult, JobState
from jobspawner_torque import parsers

FIXTURES = Path(__file__).parent / "fixtures"
SCRIPT = "#!/bin/bash\n#PBS -N emu\n#PBS -j oe\n#PBS -o /tmp/{out}\necho hi\nsleep {sleep}\n"


def text(name: str) -> str:
    return (FIXTURES / name).read_text()


def result(proc: subprocess.CompletedProcess[str]) -> CommandResult:
    return CommandResult(Command(["emu"]), proc.returncode, proc.stdout, proc.stderr)


def submit(emu, sleep: float = 30, user: str | None = None, extra: str = "", prog: str = "qsub"):
    body = SCRIPT.format(out=f"pbsemu-test-{user or 'root'}.out", sleep=sleep)
    body = body.replace("#PBS -j oe\n", f"#PBS -j oe\n{extra}")
    proc = emu.run(prog, stdin=body, user=user)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def sample_torque_jobs() -> list[ET.Element]:
    names = [
        "torque-qstat-x-one-queued-job.xml",
        "torque-qstat-x-six-jobs-running-queued-completed-array.xml",
    ]
    return [job for n in names for job in ET.fromstring(text(n)).iter("Job")]


# --- Torque ---------------------------------------------------------------------------------


def test_torque_qstat_x_has_the_structure_of_real_output(make_emulator):
    emu = make_emulator("torque", nodes={"vm": 1})
    running = submit(emu)
    queued = submit(emu)
    out = emu.run("qstat", "-x", running, queued)
    assert out.returncode == 0
    assert out.stdout.count("\n") == 1 and out.stdout.startswith("<Data><Job>")  # one line
    jobs = list(ET.fromstring(out.stdout).iter("Job"))
    samples = sample_torque_jobs()
    known_tags: list[str] = []
    for job in samples:
        for child in job:
            if child.tag not in known_tags:
                known_tags.append(child.tag)
    nested = {
        c.tag: {g.tag for j in samples for c2 in j if c2.tag == c.tag for g in c2}
        for j in samples
        for c in j
        if len(c)
    }
    for job in jobs:
        tags = [c.tag for c in job]
        assert set(tags) - {"comment", "Account_Name"} <= set(known_tags), tags
        for sample in samples:  # the attributes both print come in the same order
            theirs = [c.tag for c in sample]
            assert [t for t in theirs if t in tags] == [t for t in tags if t in theirs]
        for child in job:
            if len(child) and child.tag in nested:
                assert {g.tag for g in child} <= nested[child.tag] | {"walltime", "nodect"}
    states = {j.findtext("Job_Id"): j.findtext("job_state") for j in jobs}
    assert states == {running: "R", queued: "Q"}
    assert re.fullmatch(r"vm/0", jobs[0].findtext("exec_host"))
    parsed = parsers.parse_torque_status([running, queued], result(out))
    assert parsed[running].host == "vm"
    assert parsed[queued].state is JobState.PENDING
    assert "Not enough" in parsed[queued].reason


def test_torque_exec_host_ranges(make_emulator):
    emu = make_emulator("torque", nodes={"n1": 4, "n2": 4})
    job = submit(emu, extra="#PBS -l nodes=2:ppn=4\n")
    xml = emu.run("qstat", "-x", job).stdout
    assert "<exec_host>n1/0-3+n2/0-3</exec_host>" in xml
    assert (
        parsers.parse_torque_status([job], CommandResult(Command(["q"]), 0, xml, ""))[job].host
        == "n1"
    )


def test_torque_messages_match_samples(make_emulator):
    need_root()
    emu = make_emulator("torque", nodes={"vm": 2})
    # qsub of an infeasible request: the verbatim rejection and exit status
    proc = emu.run("qsub", stdin="#!/bin/bash\n#PBS -l nodes=1:ppn=64\ntrue\n")
    assert proc.returncode == 190
    assert proc.stderr == text("torque-qsub-error-exceeds-queue-limits.txt")
    # qsub prints <sequence>.<server> like the sample
    job = submit(emu, user="alice")
    assert re.fullmatch(r"\d+\.[\w.-]+", job)
    assert re.fullmatch(r"\d+\.[\w.-]+", text("torque-qsub-submitted.txt").strip())
    # qdel of an unknown id / of someone else's job
    proc = emu.run("qdel", "123")
    assert (proc.returncode, proc.stderr.strip()) == (153, text("torque-qdel-unknown-job.txt"))
    proc = emu.run("qdel", job, user="bob")
    expected = text("torque-qdel-unauthorized.txt").replace("123", job)
    assert (proc.returncode, proc.stderr) == (159, expected)
    # qstat -x of an unknown id (Torque 6 wording, as in the sample)
    proc = emu.run("qstat", "-x", "3685292.mgt.meerkat.mcri.edu.au")
    assert proc.returncode == 153
    assert proc.stderr == text("torque-qstat-x-unknown-job-stderr.txt")
    assert proc.stdout == ""
    # plain qstat of an unknown id (the older wording of the other sample)
    proc = emu.run("qstat", "123")
    assert (proc.returncode, proc.stderr) == (153, text("torque-qstat-unknown-job.txt"))


def test_torque_table_row_has_the_sample_columns(make_emulator):
    emu = make_emulator("torque")
    job = submit(emu)
    emu.wait(lambda s: any(j["state"] == "R" for j in s["jobs"].values()))
    lines = emu.run("qstat").stdout.splitlines()
    row = next(line for line in lines if line.startswith(job))
    sample = text("torque-qstat-row-running.txt").rstrip("\n")
    columns = r"^(.{19}) (.{16}) (.{15}) (.{8}) ([A-Z]) (\S+)$"
    m_sample, m_row = re.match(columns, sample), re.match(columns, row)
    assert m_sample and m_row, (sample, row)
    assert m_row.group(5) == "R"
    assert re.fullmatch(r"\d\d:\d\d:\d\d", m_row.group(4))


def test_torque_qstat_f_text_like_the_sample(make_emulator):
    emu = make_emulator("torque")
    job = submit(emu)
    out = emu.run("qstat", "-f", job).stdout
    sample_blocks = parsers.qstat_full_text(text("torque-qstat-f-excerpt-held-running.txt"))
    blocks = parsers.qstat_full_text(out)
    assert [(k, n) for k, n, _ in blocks] == [("Job Id", job)]
    ours = blocks[0][2]
    sample_keys = set(sample_blocks[0][2]) | set(sample_blocks[1][2])
    assert {"Job_Name", "job_state", "exec_host", "Resource_List.walltime"} <= set(ours)
    assert len(set(ours) & sample_keys) >= 20
    assert all(line.startswith(("Job Id: ", "    ", "\t")) for line in out.splitlines() if line)


def test_torque_invalid_characters_survive(make_emulator):
    emu = make_emulator("torque")
    proc = subprocess.run(
        [str(emu.bin / "qsub"), "-V"],
        input="#!/bin/bash\nsleep 30\n",
        capture_output=True,
        text=True,
        env={**emu.env, "PATH": "/usr/bin:/bin", "PROMPT": "\x1b[1m&<x>\x07"},
        cwd="/tmp",  # qsub puts STDIN.o<id> in the submit folder, not the checkout
    )
    job = proc.stdout.strip()
    out = emu.run("qstat", "-x", job)
    with pytest.raises(ET.ParseError):
        ET.fromstring(out.stdout)  # the real tools print such documents too
    assert parsers.parse_torque_status([job], result(out))[job].state is JobState.RUNNING


def test_concurrent_submissions_get_unique_ids(make_emulator):
    emu = make_emulator("torque", nodes={"vm": 1})
    ids: list[str] = []

    def one() -> None:
        ids.append(submit(emu, sleep=30))

    threads = [threading.Thread(target=one) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(ids)) == 8
    states = [j["state"] for j in emu.state()["jobs"].values()]
    assert sorted(states) == ["Q"] * 7 + ["R"]


# --- PBS Pro --------------------------------------------------------------------------------


def test_pbspro_json_has_the_structure_of_real_output(make_emulator):
    emu = make_emulator("pbspro", nodes={"charon24": 2, "charon21": 2})
    job = submit(emu, extra="#PBS -l select=2:ncpus=2\n")
    queued = submit(emu)
    out = emu.run("qstat", "-E", "-f", "-F", "json", "-x", job, queued)
    assert out.returncode == 0
    doc, sample = (
        json.loads(out.stdout),
        json.loads(text("pbspro-qstat-xf-F-json-running-two-nodes.json")),
    )
    assert list(doc) == list(sample)
    ours = doc["Jobs"][job]
    theirs = next(iter(sample["Jobs"].values()))
    assert ours["exec_host"] == "charon24/0*2+charon21/0*2"  # the sample's own value
    assert ours["exec_vnode"].startswith("(charon24:ncpus=2)+(charon21:ncpus=2")
    shared = [k for k in theirs if k in ours]
    assert len(shared) >= 20
    assert shared == [k for k in ours if k in theirs]  # same order
    for key in shared:
        assert type(ours[key]) is type(theirs[key]), key
    assert re.fullmatch(r"Job run at \w{3} \w{3} \d\d at \d\d:\d\d on \(.+\)", ours["comment"])
    assert re.fullmatch(r"Job run at \w{3} \w{3} \d\d at \d\d:\d\d on \(.+\)", theirs["comment"])
    recorded = json.loads(text("openpbs/qstat-x-f-F-json-running.stdout"))  # OpenPBS 23
    assert set(ours) - set(theirs) <= {"Exit_status", "Account_Name"} | set(
        next(iter(recorded["Jobs"].values()))
    )
    status = parsers.parse_pbspro_status([job, queued], result(out))
    assert status[job].host == "charon24"
    assert status[queued].reason.startswith("Not Running: Insufficient amount of resource: ncpus")


def test_pbspro_server_down_like_the_sample(make_emulator):
    emu = make_emulator("pbspro", server="6cfab3a0b8ac", down=True)
    out = emu.run("qstat", "-x", "-f", "-F", "json", "1.6cfab3a0b8ac")
    assert out.returncode == 255
    assert out.stderr == text("pbspro-qstat-x-f-F-json-connection-refused-stderr.txt")
    sample = json.loads(text("pbspro-qstat-x-f-F-json-connection-refused.json"))
    assert list(json.loads(out.stdout)) == list(sample)
    with pytest.raises(Exception, match="15010"):
        parsers.parse_pbspro_status(["1.6cfab3a0b8ac"], result(out))


def test_pbspro_history_and_qdel_codes(make_emulator):
    emu = make_emulator("pbspro")
    job = submit(emu, sleep=0)
    emu.wait(lambda s: all(j["state"] == "F" for j in s["jobs"].values()))
    plain = emu.run("qstat", job)
    assert plain.returncode == 35
    assert plain.stderr == (
        f"qstat: {job} Job has finished, use -x or -H to obtain historical job information\n"
    )
    history = emu.run("qstat", "-f", "-F", "json", "-x", job)
    status = parsers.parse_pbspro_status([job], result(history))[job]
    assert (status.state, status.exit_code) == (JobState.DONE, 0)
    qdel = emu.run("qdel", job)
    assert (qdel.returncode, qdel.stderr) == (35, f"qdel: Job has finished {job}\n")
    emu.write_config(job_history_enable=False)
    gone = emu.run("qstat", "-f", "-F", "json", "-x", job)
    assert gone.returncode == 153
    assert gone.stderr == f"qstat: Unknown Job Id {job}\n"
    assert parsers.parse_pbspro_status([job], result(gone)) == {}


def test_pbspro_qstat_f_text_like_the_sample(make_emulator):
    emu = make_emulator("pbspro")
    job = submit(emu)
    out = emu.run("qstat", "-f", job).stdout
    ours = parsers.qstat_full_text(out)[0][2]
    sample = parsers.qstat_full_text(text("pbspro-qstat-f-excerpt-queued-running.txt"))[1][2]
    assert len(set(ours) & set(sample)) >= 20
    assert ours["exec_host"] == "vm/0"
    assert ours["Resource_List.select"] == "1:ncpus=1"


# --- Moab -----------------------------------------------------------------------------------


def _attr_names(xml: str, tag: str) -> set[str]:
    root = ET.fromstring(f"<R>{xml}</R>")
    return {a for e in root.iter(tag) for a in e.attrib}


def test_moab_showq_xml_has_the_structure_of_real_output(make_emulator):
    emu = make_emulator("moab", nodes={"vm": 1})
    running = submit(emu, prog="msub")
    idle = submit(emu, prog="msub")
    held = emu.run("msub", "-h", stdin="#!/bin/bash\ntrue\n").stdout.strip()
    done = emu.run("showq", "--xml")
    sample = text("moab-showq-xml-and-showq-c-xml.xml")
    first_sample = sample.split("</Data>")[0] + "</Data>"
    root, sroot = ET.fromstring(done.stdout), ET.fromstring(first_sample)
    assert [c.tag for c in root] == [c.tag for c in sroot]
    assert [q.get("option") for q in root.iter("queue")] == ["active", "eligible", "blocked"]
    assert _attr_names(done.stdout, "cluster") == _attr_names(sample, "cluster")
    sample_job_attrs = _attr_names(sample, "job") | {"BlockReason", "Description"}
    assert _attr_names(done.stdout, "job") <= sample_job_attrs
    for queue in root.iter("queue"):
        assert queue.get("count") == str(len(queue.findall("job")))
    status = parsers.parse_moab_status([running, idle, held], result(done))
    assert status[running].state is JobState.RUNNING and status[running].host == "vm"
    assert status[idle].state is JobState.PENDING
    assert status[held].state is JobState.HELD


def test_moab_msub_and_mjobctl_lines_match_samples(make_emulator):
    emu = make_emulator("moab")
    proc = emu.run("msub", stdin="#!/bin/bash\nsleep 30\n")
    assert re.fullmatch(r"\n\d+\n", proc.stdout)
    assert re.fullmatch(r"\n\d+\n", text("moab-msub-submitted.txt"))
    job = proc.stdout.strip()
    cancel = emu.run("mjobctl", "-c", job)
    assert cancel.stdout == text("moab-mjobctl-c-cancelled.txt").replace("4761849", job)
    again = emu.run("mjobctl", "-c", "4761849")
    assert (again.returncode, again.stderr) == (1, text("moab-mjobctl-c-invalid-job-stderr.txt"))
    # the cancel ends the job's processes first (as a real resource manager does); showq -c
    # lists it once they are gone
    deadline = time.monotonic() + 15
    while True:
        completed = emu.run("showq", "-c", "--xml")
        found = parsers.parse_moab_status([job], result(completed))
        if job in found or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert _attr_names(completed.stdout, "job") <= _attr_names(
        text("moab-showq-c-xml-cancelled.xml") + text("moab-showq-xml-and-showq-c-xml.xml"), "job"
    )
    assert job in found, completed.stdout
    assert found[job].state is JobState.CANCELLED


def test_emulator_executables_are_usable_by_other_users():
    need(Path("/usr/bin/python3").exists(), "needs Debian's /usr/bin/python3")
    for path in (Path(__file__).parent / "emulator").rglob("*"):
        assert path.stat().st_mode & 0o004, f"{path} is not world-readable"
        if path.parent.name.startswith("bin-"):
            assert path.read_text().startswith("#!/usr/bin/python3\n")
            assert path.stat().st_mode & 0o001, f"{path} is not executable by others"


def test_moab_checkjob_and_mdiag_xml_parse(make_emulator):
    emu = make_emulator("moab", nodes={"n7": 2})
    job = submit(emu, prog="msub", extra="#PBS -l nodes=1:ppn=2\n")
    checkjob = emu.run("checkjob", "--xml", job)
    ((attrs, option),) = parsers.moab_xml_jobs(checkjob.stdout)
    assert (attrs["AllocNodeList"], option) == ("n7:2", None)
    status = parsers.parse_moab_status([job], result(checkjob))[job]
    assert (status.state, status.host) == (JobState.RUNNING, "n7")
    mdiag = parsers.parse_moab_status([job], result(emu.run("mdiag", "-j", "--xml")))[job]
    assert (mdiag.state, mdiag.host) == (JobState.RUNNING, "n7")
    unknown = emu.run("checkjob", "--xml", "999")
    assert (unknown.returncode, unknown.stderr) == (1, "ERROR:  cannot locate job '999'\n")


def test_torque_tracejob_like_the_sample(make_emulator):
    emu = make_emulator("torque")
    job = submit(emu, sleep=0)
    emu.wait(lambda s: not s["jobs"])  # keep_completed 0: gone from qstat at once
    out = emu.run("tracejob", job)
    sample = text("torque-tracejob-completed.txt")
    line = r"^\d\d/\d\d/\d{4} \d\d:\d\d:\d\d  S    (.*)$"
    for doc in (out.stdout, sample):
        lines = doc.splitlines()
        assert lines[:3] == ["", lines[1], ""] and lines[1].startswith("Job: ")
        events = [re.match(line, x).group(1) for x in lines[3:]]
        assert events[0].startswith("enqueuing into ")
        assert events[1].startswith("Job Queued at request of ")
        assert any(e.startswith("Job Run at request of ") for e in events)
        exit_line = next(e for e in events if e.startswith("Exit_status="))
        keys = [kv.split("=")[0] for kv in exit_line.split()]
        assert keys == [
            "Exit_status",
            *(f"resources_used.{k}" for k in ["cput", "mem", "vmem", "walltime"]),
        ]
        assert re.fullmatch(r"dequeuing from \S+, state COMPLETE", events[-1])
    status = parsers.parse_tracejob([job], result(out))[job]
    assert (status.state, status.exit_code) == (JobState.DONE, 0)
    missing = emu.run("tracejob", "999.vm")
    assert (missing.returncode, missing.stdout) == (0, "")
    assert missing.stderr.splitlines()[0].endswith(": No such file or directory")
