"""The PBS Pro emulator answers what the recorded OpenPBS server answered (``fixtures/openpbs``).

The emulator is set up like the recording server (node ``pbs-vm`` with 2 CPUs, queues
``workq`` and ``jsshort``, history on), the same jobs are submitted as ``alice``, and each of
its answers is compared with the record of the same situation: the layout of the text, the
keys and their order, the types of the values, and the values that matter (states, substates,
exit statuses, comments, hosts, messages, exit codes).
"""

from __future__ import annotations

import json
import os
import pwd
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from harness.strict import need_root
from torque.openpbs_fixtures import jobs, records, stream
from torque.record_openpbs import SCRIPT

NODE = "pbs-vm"
SITUATIONS = ("running", "queued", "never", "held", "finished", "failed")
#: Keys the emulator prints that the recorded jobs lack (none so far).
EXTRA_KEYS: set[str] = set()


@pytest.fixture
def workdir() -> Iterator[Path]:
    need_root()
    alice = pwd.getpwnam("alice")
    path = Path(tempfile.mkdtemp(prefix="openpbs-emu-", dir="/tmp"))
    os.chown(path, alice.pw_uid, alice.pw_gid)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def emu(make_emulator):
    queues = {
        "workq": {},
        "jsshort": {
            "resources_max.walltime": "01:00:00",
            "resources_default.walltime": "00:30:00",
        },
    }
    return make_emulator(
        "pbspro", server=NODE, nodes={NODE: 2}, queues=queues, default_queue="workq"
    )


def _submit(emu, workdir: Path, key: str, body: str, ncpus: int = 1, *args: str) -> str:
    script = SCRIPT.format(
        name="rec-submit" if key == "running" else f"rec-{key}",
        output=workdir / f"{key}.out",
        walltime="00:10:00",
        ncpus=ncpus,
        body=body,
    )
    proc = emu.run("qsub", *args, stdin=script, user="alice")
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def _situations(emu, workdir: Path) -> dict[str, str]:
    """The recorder's jobs, in the recorder's order, on the emulator."""
    ids = {"running": _submit(emu, workdir, "running", "sleep 600")}
    ids["queued"] = _submit(emu, workdir, "queued", "sleep 600", 2)
    ids["never"] = _submit(emu, workdir, "never", "sleep 600", 64)
    ids["held"] = _submit(emu, workdir, "held", "sleep 600", 1, "-h")
    ids["finished"] = _submit(emu, workdir, "finished", "echo done")
    ids["failed"] = _submit(emu, workdir, "failed", "echo failing; exit 3")
    wanted = {"running": "R", "finished": "F", "failed": "F"}
    emu.wait(lambda s: all(_state(s, ids[k]) == v for k, v in wanted.items()))
    return ids


def _state(state: dict, job_id: str) -> str | None:
    return next((j["state"] for j in state["jobs"].values() if j["id"] == job_id), None)


def _job(text: str) -> dict:
    (job,) = json.loads(text)["Jobs"].values()
    return job


def _skeleton(text: str) -> list[str]:
    """The JSON text's layout: each line with its value replaced by its kind."""
    out = []
    for line in text.splitlines():
        line = re.sub(r'^(\t*)"[^"]*":\t', r'\1"K":\t', line)
        line = re.sub(r'":\t"(?:[^"\\]|\\.)*"', '":\t"S"', line)
        line = re.sub(r'":\t-?\d+(\.\d+)?', '":\tN', line)
        out.append(line)
    return out


def _comment_pattern(comment: str) -> str:
    """A recorded comment as a pattern: its date and time may differ, nothing else."""
    pattern = re.escape(comment)
    return re.sub(
        r"\\ \w{3}\\ \w{3}\\ \d\d\\ at\\ \d\d:\d\d",
        r" \\w{3} \\w{3} \\d\\d at \\d\\d:\\d\\d",
        pattern,
    )


def _compare_job(ours: dict, theirs: dict, situation: str) -> None:
    assert set(ours) - set(theirs) <= EXTRA_KEYS, (situation, set(ours) - set(theirs))
    shared = [k for k in theirs if k in ours]
    assert shared == [k for k in ours if k in theirs], situation  # the same order
    for key in shared:
        assert type(ours[key]) is type(theirs[key]), (situation, key)
    for key in ("job_state", "substate", "Exit_status", "Hold_Types", "Keep_Files", "Join_Path",
                "queue", "server", "Job_Name", "exec_vnode"):  # fmt: skip
        assert ours.get(key) == theirs.get(key), (situation, key)
    if "comment" in theirs:
        assert re.fullmatch(_comment_pattern(theirs["comment"]), ours.get("comment", "")), (
            situation,
            ours.get("comment"),
            theirs["comment"],
        )
    else:
        assert "comment" not in ours, situation
    assert re.fullmatch(r"alice@[\w.-]+", ours["Job_Owner"]), situation  # the submit host
    if "exec_host" in theirs:
        assert re.fullmatch(rf"{NODE}/\d+", ours["exec_host"]), situation
    assert ours["Resource_List"] == theirs["Resource_List"] | {
        k: v for k, v in ours["Resource_List"].items() if k not in theirs["Resource_List"]
    }, situation


def test_status_json_of_every_situation_is_the_recorded_one(emu, workdir):
    ids = _situations(emu, workdir)
    for situation in SITUATIONS:
        out = emu.run("qstat", "-x", "-f", "-F", "json", ids[situation])
        recorded = stream(f"qstat-x-f-F-json-{situation}", "stdout")
        assert out.returncode == 0, out.stderr
        assert list(json.loads(out.stdout)) == list(json.loads(recorded))
        assert set(_skeleton(out.stdout)) <= set(_skeleton(recorded)) | {'\t\t"S":\t{'}, situation
        _compare_job(_job(out.stdout), _job(recorded), situation)
        text = emu.run("qstat", "-x", "-f", ids[situation]).stdout
        (ours,) = _keys(text)
        (theirs,) = _keys(stream(f"qstat-x-f-{situation}", "stdout"))
        assert ours == [k for k in theirs if k in ours] and set(ours) <= set(theirs), situation
        assert text.startswith(f"Job Id: {ids[situation]}\n    Job_Name = ")
    # deleted: a queued one (no exit status) and a running one (killed, 271); the queued one
    # first, or the emulator starts it on the freed CPU at once
    for key in ("queued", "running"):
        delete = emu.run("qdel", ids[key], user="alice")
        assert (delete.returncode, delete.stderr) == (0, "")
    emu.wait(lambda s: _state(s, ids["running"]) == "F" and _state(s, ids["queued"]) == "F")
    for key in ("running", "queued"):
        out = emu.run("qstat", "-x", "-f", "-F", "json", ids[key])
        recorded = stream(f"qstat-x-f-F-json-deleted-{key}", "stdout")
        _compare_job(_job(out.stdout), _job(recorded), f"deleted-{key}")


def test_walltime_kill_is_the_recorded_one(emu, workdir):
    """Recorded with a 3 s limit; 1 s shows the same (the limit itself is not compared)."""
    script = SCRIPT.format(
        name="rec-walltime", output=workdir / "walltime.out", walltime="00:00:01", ncpus=1,
        body="sleep 120",
    )  # fmt: skip
    job = emu.run("qsub", stdin=script, user="alice").stdout.strip()
    emu.wait(lambda s: _state(s, job) == "F")
    ours = _job(emu.run("qstat", "-x", "-f", "-F", "json", job).stdout)
    theirs = _job(stream("qstat-x-f-F-json-walltime", "stdout"))
    for doc in (ours, theirs):
        doc["Resource_List"].pop("walltime")
    _compare_job(ours, theirs, "walltime")
    assert (workdir / "walltime.out").read_text().startswith("=>> PBS: job killed: walltime ")


def test_several_jobs_and_an_unknown_one_like_the_recorded_server(emu, workdir):
    ids = _situations(emu, workdir)
    unknown = f"{int(ids['running'].split('.')[0]) + 999}.{NODE}"
    asked = [*ids.values(), unknown]
    for name in ("qstat-x-f-F-json-all-and-unknown", "qstat-E-x-f-F-json-all-and-unknown"):
        flags = records()[name]["command"][1 : -len(asked)]
        out = emu.run("qstat", *flags, *asked)
        recorded = jobs()
        expected_stderr = stream(name, "stderr").replace(recorded["unknown"], unknown)
        assert (out.returncode, out.stderr) == (records()[name]["exit_status"], expected_stderr)
        theirs = list(json.loads(stream(name, "stdout"))["Jobs"])
        ours = list(json.loads(out.stdout)["Jobs"])
        to_ours = {recorded[k]: ids[k] for k in SITUATIONS}
        assert ours == [to_ours[j] for j in theirs], name
    for name in ("qstat-x-f-F-json-unknown", "qstat-E-x-f-F-json-unknown"):
        flags = records()[name]["command"][1:-1]
        out = emu.run("qstat", *flags, unknown)
        expected = stream(name, "stderr").replace(jobs()["unknown"], unknown)
        assert (out.returncode, out.stderr) == (records()[name]["exit_status"], expected)
        assert list(json.loads(out.stdout)) == list(json.loads(stream(name, "stdout")))


def test_qsub_and_qdel_answers_are_the_recorded_ones(emu, workdir):
    script = records()["qsub-submitted"]["stdin"]
    for name in ("qsub-unknown-queue", "qsub-unknown-resource", "qsub-over-queue-walltime"):
        entry = records()[name]
        body = script.replace("mem=64mb", "mem=64mb:nosuchres=1") if "resource" in name else script
        out = emu.run(*entry["command"], stdin=body, user="alice")
        assert (out.returncode, out.stdout, out.stderr) == (
            entry["exit_status"],
            stream(name, "stdout"),
            stream(name, "stderr"),
        ), name
    ids = _situations(emu, workdir)
    unknown = f"{int(ids['running'].split('.')[0]) + 999}.{NODE}"
    cases = [
        ("qdel-other-users-job", "bob", ids["running"], jobs()["running"]),
        ("qdel-finished", "alice", ids["finished"], jobs()["finished"]),
        ("qdel-unknown", "alice", unknown, jobs()["unknown"]),
        ("qdel-running", "alice", ids["running"], jobs()["running"]),
    ]
    for name, user, ours, theirs in cases:
        out = emu.run("qdel", ours, user=user)
        expected = stream(name, "stderr").replace(theirs, ours)
        assert (out.returncode, out.stderr) == (records()[name]["exit_status"], expected), name
    without_x = emu.run("qstat", "-f", ids["finished"])
    expected = stream("qstat-f-finished-without-x", "stderr").replace(
        jobs()["finished"], ids["finished"]
    )
    assert (without_x.returncode, without_x.stderr) == (35, expected)


def _keys(text: str) -> list[list[str]]:
    blocks: list[list[str]] = []
    for line in text.splitlines():
        if line and not line[0].isspace():
            blocks.append([])
        elif line.startswith("    ") and "=" in line and blocks:
            blocks[-1].append(line.split("=", 1)[0].strip())
    return blocks


@pytest.mark.parametrize(
    ("name", "argv"),
    [("qstat-B-f", ["qstat", "-B", "-f"]), ("qstat-Q-f", ["qstat", "-Q", "-f"]),
     ("pbsnodes-a", ["pbsnodes", "-a"])],
)  # fmt: skip
def test_resource_commands_print_the_recorded_layout(emu, name, argv):
    out = emu.run(*argv)
    assert out.returncode == 0
    theirs = _keys(stream(name, "stdout"))
    ours = _keys(out.stdout)
    union = [k for block in theirs for k in block]
    for block in ours:
        assert set(block) <= set(union), set(block) - set(union)
        assert block == [k for k in union if k in block] or len(theirs) > 1
    assert out.stdout.endswith("\n\n") == stream(name, "stdout").endswith("\n\n")
