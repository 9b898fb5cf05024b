"""The emulator answers as the real FirecREST v2 server did: every request of
:mod:`fcrest.real_requests` is replayed against the emulator and its answer compared with
the real server's recorded one (``fixtures/real-v2-*``, made by ``record_real.py``).

Compared: the status code; for an error, its type, the user, whether it has a cause, its data
and its message (the job id made neutral); for an answer, its shape (every key, recursively,
and the JSON type of every value); what the machine showed after a step (the mode an upload
got, whether it replaced or followed an existing name, whether the job saw the SSH
session's environment). :data:`KNOWN` lists the few answers compared more loosely, and why.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from harness.firecrest_emulator import cluster_name

from .real_requests import Exchange, job_id_of, play

pytestmark = [pytest.mark.scheduler("slurm"), pytest.mark.root]

FIXTURES = Path(__file__).parent / "fixtures"

#: Answers compared only by status, keys and the values a client reads, with the reason.
KNOWN = {
    "systems": "the real server lists its whole configuration (SSH, probing, file systems); "
    "the emulator only what a client reads (name, scheduler)",
    "job-running": "on Slurm 22.05 the real server reads the job from a sacct line it splits "
    "wrongly (user root, name `allocation`, state PENDING for a running job); the emulator "
    "answers from squeue as the list does",
    "job-ended": "the same sacct line (only the state, exit code and ids are right)",
}


def load(folder: str) -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in sorted((FIXTURES / folder).glob("*.json"))]


def shape(value: Any) -> Any:
    """Keys and JSON types, recursively (a list by its first item)."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    return "null" if value is None else type(value).__name__


def _lists_loose(a: Any, b: Any) -> bool:
    """Shapes equal, an empty list matching any list."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_lists_loose(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return not a or not b or _lists_loose(a[0], b[0])
    return bool(a == b)


def differences(real: dict[str, Any], emu: Exchange, real_job: str, emu_job: str) -> list[str]:
    """What differs between a recorded answer and the emulator's (empty: they agree)."""
    name, response, out = real["name"], real["response"], []
    if response["status"] != emu.status:
        out.append(f"status {response['status']} != {emu.status}")
    body = response["body"]
    if isinstance(body, dict) and "errorType" in body:
        mine = emu.body if isinstance(emu.body, dict) else {}
        for key in ("errorType", "user", "data"):
            if body.get(key) != mine.get(key):
                out.append(f"{key} {body.get(key)!r} != {mine.get(key)!r}")
        if (body.get("causedBy") is None) != (mine.get("causedBy") is None):
            out.append(f"causedBy {body.get('causedBy')!r} != {mine.get('causedBy')!r}")
        if body.get("errorType") != "validation":

            def neutral(text: Any, job: str) -> str:
                return re.sub(rf"(job(?: id)? ){job}\b", r"\1{job}", str(text))

            if neutral(body.get("message"), real_job) != neutral(mine.get("message"), emu_job):
                out.append(f"message {body.get('message')!r} != {mine.get('message')!r}")
    elif name in KNOWN:
        if isinstance(body, dict) and isinstance(emu.body, dict) and body.keys() != emu.body.keys():
            out.append(f"keys {sorted(body)} != {sorted(emu.body)}")
    elif not _lists_loose(shape(body), shape(emu.body)):
        out.append(f"shape {shape(body)} != {shape(emu.body)}")
    for key, value in real["observed"].items():
        if key == "job_output":
            value = value.strip()
        if emu.observed.get(key) != value:
            out.append(f"observed {key} {value!r} != {emu.observed.get(key)!r}")
    return out


def jobs_of(exchanges: list[Exchange], name: str) -> list[dict[str, Any]]:
    ex = next(e for e in exchanges if e.name == name)
    return list(ex.body.get("jobs") or []) if isinstance(ex.body, dict) else []


@pytest.mark.parametrize("folder", ["real-v2-accounting", "real-v2-no-accounting"])
async def test_emulator_answers_as_the_real_server(emulator, clean_queue, folder):
    recorded = load(folder)
    assert recorded, f"no fixtures in {FIXTURES / folder}: run tests/fcrest/record_real.py"
    emulator.state.accounting = folder == "real-v2-accounting"
    exchanges: list[Exchange] = []
    try:
        await play(emulator.url, emulator.state.mint, exchanges)
    finally:
        emulator.state.accounting = True
    assert [r["name"] for r in recorded] == [e.name for e in exchanges]
    real_job = str(next(r for r in recorded if r["name"] == "submit")["response"]["body"]["jobId"])
    emu_job = job_id_of(exchanges)
    found = {
        r["name"]: d
        for r, e in zip(recorded, exchanges, strict=False)
        if (d := differences(r, e, real_job, emu_job))
    }
    assert found == {}
    if folder == "real-v2-accounting":
        # the values a client reads from the job list: a string id, the state, the times
        (running,) = jobs_of(exchanges, "jobs")
        assert running["jobId"] == emu_job and running["status"]["state"] == "RUNNING"
        assert running["time"]["limit"] == 600 and running["time"]["suspended"] is None
        assert running["cluster"] == cluster_name() and running["user"] == "alice"
        assert jobs_of(exchanges, "jobs-after-end") == []
        (ended,) = jobs_of(exchanges, "job-ended")
        assert ended["status"]["state"].startswith("CANCELLED by ")
        assert ended["status"]["exitCode"] == 0


def test_fixtures_say_where_they_come_from():
    for folder in ("real-v2-accounting", "real-v2-no-accounting"):
        for record in load(folder):
            prov = record["provenance"]
            assert prov["server"] == "eth-cscs/firecrest-v2" and len(prov["commit"]) == 40
            assert prov["slurm"].startswith("slurm") and prov["recorded"]
            assert record["request"]["method"] and record["request"]["path"].startswith("/")
