"""``JobSpawner`` has what each protocol the lifecycle's helpers and the session view's card
are typed against asks of it.

The helpers (the walltime, the notice of a job's end, the session view's card, a session's
host, the server watch) take a small protocol, never the spawner. mypy cannot check that the
spawner satisfies them (JupyterHub's ``Spawner`` is untyped, so to mypy a subclass of it
satisfies every protocol): this checks each member on a real spawner, with the check the
choices room's protocols use (:mod:`core.test_options_host`, which also shows it failing).
"""

from __future__ import annotations

import pytest
from jobspawner.lifecycle import last_end, server_watch, session_host, walltime
from jobspawner.lifecycle.job_server import JobServer
from jobspawner.web import session_view

from core.test_options_host import members, not_satisfied
from core.test_spawner_unit import make_spawner

PROTOCOLS = [
    walltime.WalltimeSettings,
    walltime.WalltimeJob,
    walltime.WalltimeServer,
    walltime.RelaunchServer,
    last_end.RecordHolder,
    last_end.EndedServer,
    session_view.CardServer,
    session_host.SessionHost,
    session_host.StartHost,
    session_host.PollHost,
    server_watch.WatchedServer,
    JobServer,
]


@pytest.mark.parametrize("protocol", PROTOCOLS, ids=lambda p: f"{p.__module__}.{p.__name__}")
def test_the_spawner_has_what_each_protocol_asks(tmp_path, protocol):
    spawner = make_spawner(tmp_path, req_runtime="1h")
    spawner.job_id, spawner.job_output = "42", str(tmp_path / "out.log")
    assert members(protocol), "a protocol without members checks nothing"
    assert not_satisfied(spawner, protocol) == []
