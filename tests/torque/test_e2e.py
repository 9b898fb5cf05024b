"""End to end: a real JupyterHub (as root) spawning notebook servers as Torque, PBS Pro and
Moab jobs on the emulator; jobs run as the users through runuser.

One hub per backend (starting hubs is the slow part): bob's spawns fail in the prologue,
alice's spawn runs, and a full node keeps alice's next spawn queued until she stops it.
"""

from __future__ import annotations

import time

import pytest
from harness.hub import running_hub
from harness.scenarios import expect_fast_failure

pytestmark = [pytest.mark.e2e, pytest.mark.root]

PROLOGUE = 'if [ "$USER" = bob ]; then echo "pbs-e2e: No module named jupyterhub" >&2; exit 3; fi'
QUEUED_WORDS = {
    "torque": "all nodes of the kind it needs are busy",
    "pbspro": "not enough free CPUs right now",
    "moab": "waiting for free resources",
}
SUBMIT = {"torque": "qsub", "pbspro": "qsub", "moab": "msub"}


def job_record(emu, job_id: str) -> dict | None:
    return emu.state()["jobs"].get(job_id.split(".", 1)[0])


def stop_pending_spawn(hub, name: str) -> None:
    """DELETE a pending spawn: it must succeed even when the scheduler's cancel takes longer
    than the one second JupyterHub waits (Moab needs four commands), and the spawn ends."""
    hub.stop_server(name)
    assert not (hub.server_model(name) or {}).get("pending"), "the interrupted spawn never ended"


def wait_ended(emu, job_id: str, timeout: float = 20) -> dict | None:
    """Poll (through qstat/showq, which schedule) until the job is finished or gone."""
    deadline = time.monotonic() + timeout
    while True:
        emu.run("showq" if emu.flavour == "moab" else "qstat")
        job = job_record(emu, job_id)
        if job is None or job["state"] in ("C", "F"):
            return job
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} still {job['state']}")
        time.sleep(0.3)


@pytest.mark.parametrize("flavour", ["torque", "pbspro", "moab"])
def test_spawn_fail_queue_stop(flavour, tmp_path, make_emulator):
    emu = make_emulator(flavour, nodes={"vm": 2}, keep_completed=120)
    config = f"c.JobSpawner.prologue = {PROLOGUE!r}"
    with running_hub(
        tmp_path,
        backend=flavour,
        config=config,
        env=emu.env,
        backend_options=_declared(flavour, emu.options()),
    ) as hub:
        try:
            scenario(hub, emu, flavour)
        except (AssertionError, TimeoutError) as e:
            log = "\n".join(hub.log_text().splitlines()[-40:])
            raise AssertionError(
                f"{e}\n--- hub log (tail) ---\n{log}\n--- jobs ---\n{emu.state()}"
            ) from e


def scenario(hub, emu, flavour: str) -> None:
    """The three stories on one hub."""
    # 1. a job that fails before its server starts: fast failure with the log tail
    expect_fast_failure(hub, "bob", "pbs-e2e: No module named jupyterhub", within=20)

    # 2. alice's server: ready, reachable through the proxy, stopped, job gone
    events = hub.start_server("alice")
    job_id = hub.spawner_state("alice")["job_id"]
    assert any(job_id in e["message"] for e in events), events
    job = job_record(emu, job_id)
    assert (job["state"], job["owner"]) == ("R", "alice")
    assert job["name"].startswith("jupyter-alice")
    response = hub.get_via_proxy("alice", "api/status")
    assert response.status_code == 200, response.text
    hub.stop_server("alice")
    ended = wait_ended(emu, job_id)
    assert ended is None or ended.get("deleted") or ended["state"] in ("C", "F")
    assert not hub.spawner_state("alice").get("job_id")

    # 3. a full node: the spawn stays queued, shows why, and stopping removes the job
    emu.write_config(nodes={"vm": 1})
    blocker = emu.run(SUBMIT[flavour], stdin="#!/bin/bash\nsleep 300\n").stdout.strip()
    hub.begin_start("alice")
    words = QUEUED_WORDS[flavour]
    events = hub.progress("alice", until=lambda e: words in e["message"], timeout=60)
    assert words in events[-1]["message"], events
    queued_id = hub.spawner_state("alice")["job_id"]
    assert job_record(emu, queued_id)["state"] == "Q"
    stop_pending_spawn(hub, "alice")
    gone = wait_ended(emu, queued_id)
    assert gone is None or gone.get("deleted")
    assert job_record(emu, blocker)["state"] == "R"  # root's job is untouched


def _declared(flavour: str, options: dict[str, str]) -> dict[str, str]:
    """The emulator's program paths this flavour declares (the hub refuses the others)."""
    from jobspawner.facade.backend import load_backend

    known = load_backend(flavour).option_declarations().options
    return {k: v for k, v in options.items() if k in known}
