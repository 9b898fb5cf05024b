"""The emulator prints what real LSF prints: its formatters reproduce verbatim LSF output
(fixtures/) byte for byte, and its commands' output has the same shape, keys and messages."""

from __future__ import annotations

import json
import os
import re
import stat
import sys
import time

from lsf.lsfkit import BIN, EMULATOR, Emulator, fixture_text, load_emulator

emu = load_emulator()


def _ts(month: int, day: int, hour: int, minute: int, year: int = 2011) -> float:
    return time.mktime((year, month, day, hour, minute, 0, 0, 0, -1))


def _job(**values) -> dict:
    job = {
        "id": "473713",
        "user": "gloessa",
        "stat": "RUN",
        "queue": "pub.1h",
        "from_host": "brutus2",
        "exec_host": "a6128",
        "name": "TM-T",
        "submit_time": _ts(10, 19, 17, 10),
        "start_time": _ts(10, 19, 17, 11),
        "slots": 1,
    }
    job.update(values)
    return job


# --- formatters against verbatim output --------------------------------------------------------


def test_default_table_reproduces_real_output() -> None:
    assert emu.format_table([_job()], wide=False) == fixture_text("bjobs-running.txt")
    assert emu.format_table([_job(stat="EXIT")], wide=False) == fixture_text("bjobs-exit.txt")
    pending = _job(stat="PEND", exec_host="", start_time=None)
    assert emu.format_table([pending], wide=False) == fixture_text("bjobs-pending.txt")


def test_default_table_truncates_names_like_lsf() -> None:
    sample = fixture_text("bjobs-six-running-with-preamble.txt").splitlines()
    row = sample[3]
    job = _job(
        id="5157393",
        user="pluskal",
        queue="normal",
        from_host="it-c05b07",
        exec_host="it-c05b10",
        name="(pipeline_l_cmd_bd)",
        submit_time=_ts(11, 14, 13, 0, 2018),
    )
    assert emu.format_table([job], wide=False).splitlines()[1] == row
    assert emu.WAIT_LINE == sample[0] == sample[1]


def test_json_reproduces_real_output() -> None:
    for name in ("bjobs-o-json-held-psusp.json", "bjobs-o-json-six-jobs-exit-done.json"):
        text = fixture_text(name)
        records = json.loads(text)["RECORDS"]
        keys = list(records[0])
        # the sample files lost their final newline; bjobs ends its output with one
        assert emu.format_json(keys, records) == text.rstrip("\n") + "\n"


def test_bacct_summary_reproduces_real_output() -> None:
    job = {"stat": "EXIT", "cpu_time": 0.1, "submit_time": 1000.0}
    job.update(start_time=1035.0, finish_time=1262.0)
    assert emu.format_bacct_summary([job]) == fixture_text("bacct-one-exited-job.txt")


def test_messages_match_real_ones() -> None:
    assert fixture_text("bjobs-json-without-o-error.txt") == emu.JSON_WITHOUT_O + "\n"


# --- the executables against the samples -------------------------------------------------------


def test_executables_are_world_readable_system_python_scripts() -> None:
    assert EMULATOR.read_text().startswith("#!/usr/bin/python3\n")
    mode = EMULATOR.stat().st_mode
    assert mode & stat.S_IROTH and mode & stat.S_IXOTH
    for name in ("bsub", "bjobs", "bkill", "bstop", "bqueues", "bparams", "bacct"):
        assert os.path.realpath(BIN / name) == str(EMULATOR)
    source = EMULATOR.read_text()
    imports = set(re.findall(r"^(?:import|from) (\w+)", source, re.MULTILINE))
    # the shared kernel is standard library only too (tests/core/test_job_supervisor.py)
    assert "json" in imports and "emulator_queue" in imports  # the pattern reads them
    assert imports - {"emulator_kernel", "emulator_queue"} <= set(sys.stdlib_module_names)


def _shape(text: str) -> str:
    """A line's shape: numbers, names in <> and the queue/host words abstracted."""
    return re.sub(r"<[^>]*>", "<X>", text)


def test_bsub_bjobs_bkill_messages_have_the_real_shape(emulator: Emulator) -> None:
    script = "#!/bin/bash\n#BSUB -J shape\nsleep 30\n"
    out = emulator.run("alice", "bsub", stdin=script)
    assert out.returncode == 0 and out.stderr == ""
    assert _shape(out.stdout) == _shape(fixture_text("bsub-submitted-default-queue.txt")) + "\n"
    job_id = re.search(r"<(\d+)>", out.stdout).group(1)
    out = emulator.run("alice", "bsub", "-q", "short", stdin=script)
    assert _shape(out.stdout) == _shape(fixture_text("bsub-submitted-queue.txt")) + "\n"

    missing = emulator.run("alice", "bjobs", "-noheader", "-o", "jobid stat", "864220165")
    assert missing.stdout == "" and missing.returncode != 0
    assert missing.stderr == fixture_text("bjobs-unknown-job-stderr.txt") + "\n"

    no_o = emulator.run("alice", "bjobs", "-json", job_id)
    assert no_o.returncode != 0
    assert no_o.stderr.splitlines()[0] + "\n" == fixture_text("bjobs-json-without-o-error.txt")

    fields = "job_name stat user queue proj_name exec_host submit_time output_file error_file"
    out = emulator.run("alice", "bjobs", "-o", fields, "-json", job_id)
    doc = json.loads(out.stdout)
    sample = json.loads(fixture_text("bjobs-o-json-held-psusp.json"))
    assert list(doc) == list(sample) == ["COMMAND", "JOBS", "RECORDS"]
    assert doc["COMMAND"] == "bjobs" and doc["JOBS"] == 1
    record = doc["RECORDS"][0]
    assert list(record) == [f.upper() for f in fields.split()]
    assert set(record) <= set(sample["RECORDS"][0])
    assert all(isinstance(v, str) for v in record.values())
    assert record["JOB_NAME"] == "shape" and record["USER"] == "alice"
    assert re.fullmatch(r"[A-Z][a-z]{2} [ \d]\d \d\d:\d\d", record["SUBMIT_TIME"])
    # the layout (indents, no space after colons) is the real one
    assert out.stdout == emu.format_json(list(record), [record])

    out = emulator.run("alice", "bkill", job_id)
    assert out.returncode == 0
    assert _shape(out.stdout) == _shape(fixture_text("bkill-terminating.txt"))
    again = emulator.run("alice", "bkill", "999999")
    assert again.returncode != 0 and "No matching job found" in again.stderr


def test_wait_lines_like_a_busy_mbatchd(emulator: Emulator) -> None:
    out = emulator.run("alice", "bqueues", env={"LSF_EMU_BUSY_LINES": "2"})
    lines = out.stdout.splitlines()
    sample = fixture_text("bjobs-six-running-with-preamble.txt").splitlines()
    assert lines[:2] == sample[:2]
    assert lines[2].split() == [
        "QUEUE_NAME",
        "PRIO",
        "STATUS",
        "MAX",
        "JL/U",
        "JL/P",
        "JL/H",
        "NJOBS",
        "PEND",
        "RUN",
        "SUSP",
    ]


def test_bacct_of_a_real_job_has_the_real_layout(emulator: Emulator) -> None:
    out = emulator.run("alice", "bsub", "-J", "fails", "false")
    job_id = re.search(r"<(\d+)>", out.stdout).group(1)
    emulator.wait_for(job_id, ("EXIT",))
    acct = emulator.run("alice", "bacct", job_id)
    sample = fixture_text("bacct-one-exited-job.txt")
    number = re.compile(r" *\d+(?:\.\d+)?")
    assert number.sub(" N", acct.stdout) == number.sub(" N", sample)
    # numbers are right-aligned in fixed columns: every line has the sample's length
    assert [len(line) for line in acct.stdout.splitlines()] == [
        len(line) for line in sample.splitlines()
    ]


def test_spool_modes(emulator: Emulator) -> None:
    emulator.run("alice", "bsub", stdin="#!/bin/bash\ntrue\n")
    assert stat.S_IMODE(os.stat(emulator.spool).st_mode) == 0o1777
    assert stat.S_IMODE(os.stat(os.path.join(emulator.spool, "state.json")).st_mode) == 0o666
    jobs = os.path.join(emulator.spool, "jobs")
    for name in os.listdir(jobs):  # job files hold the user's environment: private
        assert stat.S_IMODE(os.stat(os.path.join(jobs, name)).st_mode) == 0o600
