"""jobspawner's hub integration (jobspawner.web.hub_start): importing the spawner module
changes nothing in JupyterHub; the names a hub uses for the spawner (the ``jobspawner``
entry point, ``jobspawner.JobSpawner``) install it; a hub that loads the class any other way
without it is told what to write (jobspawner.facade.hub_integration)."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from typing import Any

import pytest
from jupyterhub import apihandlers, handlers

from .test_backend_options import FakeApp

#: Prints what jobspawner changed in JupyterHub, as JSON: the two wrapped methods, the
#: handlers it added.
REPORT = """
import json
from jupyterhub import apihandlers, handlers
from jupyterhub.app import JupyterHub
from jobspawner.facade.hub_integration import wrapped
print(json.dumps({
    "init_handlers": wrapped(JupyterHub, "init_handlers"),
    "init_tornado_settings": wrapped(JupyterHub, "init_tornado_settings"),
    "handlers": [p for p, *_ in apihandlers.default_handlers + handlers.default_handlers
                 if "jobspawner" in p],
}))
"""


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    """``code`` in a fresh interpreter (nothing of jobspawner imported before it)."""
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )


def changes_after(code: str) -> dict[str, Any]:
    """What jobspawner changed in JupyterHub once ``code`` ran in a fresh interpreter."""
    out = run_python(code + REPORT).stdout
    report: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return report


UNTOUCHED = {"init_handlers": False, "init_tornado_settings": False, "handlers": []}
INSTALLED = {"init_handlers": True, "init_tornado_settings": True, "handlers": []}


def test_importing_the_spawner_module_patches_nothing() -> None:
    assert changes_after("import jobspawner.spawner\n") == UNTOUCHED
    # nor does anything the spawner module imports reach the web side
    run_python(
        "import sys, jobspawner.spawner\n"
        "assert not [m for m in sys.modules if m.startswith('jobspawner.web')], sys.modules\n"
    )


@pytest.mark.parametrize(
    "code",
    [
        # c.JupyterHub.spawner_class = "jobspawner.JobSpawner", a site's subclass
        "from jobspawner import JobSpawner\n",
        "import jobspawner.web.hub_entry\n",
        # c.JupyterHub.spawner_class = "jobspawner": the entry point JupyterHub loads
        "from importlib.metadata import entry_points\n"
        "[e.load() for e in entry_points(group='jupyterhub.spawners') if e.name == 'jobspawner']\n",
    ],
    ids=["package-name", "hub-entry", "entry-point"],
)
def test_the_hub_facing_names_install_the_integration(code: str) -> None:
    # the handlers are added when the hub builds its list (init_handlers), not at import
    assert changes_after(code) == INSTALLED


def test_the_entry_point_is_the_hub_entry() -> None:
    from importlib.metadata import entry_points

    (entry,) = [e for e in entry_points(group="jupyterhub.spawners") if e.name == "jobspawner"]
    assert entry.value == "jobspawner.web.hub_entry:JobSpawner", (
        f"the installed entry point is {entry.value!r}: this environment holds an older "
        "jobspawner's metadata; reinstall it (python -m pip install --no-deps -e .)"
    )


def test_every_name_gives_the_one_class() -> None:
    code = (
        "from importlib.metadata import entry_points\n"
        "import jobspawner, jobspawner.spawner\n"
        "(entry,) = [e for e in entry_points(group='jupyterhub.spawners') "
        "if e.name == 'jobspawner']\n"
        "assert entry.load() is jobspawner.JobSpawner is jobspawner.spawner.JobSpawner\n"
        "from jupyterhub.app import JupyterHub\n"
        "hub = JupyterHub()\n"
        "for name in ('jobspawner', 'jobspawner.JobSpawner', 'jobspawner.spawner.JobSpawner'):\n"
        "    hub.spawner_class = name\n"
        "    assert hub.spawner_class is jobspawner.spawner.JobSpawner, name\n"
    )
    run_python(code)


def test_a_hub_naming_the_spawner_module_still_gets_the_integration() -> None:
    """JupyterHub loads every ``jupyterhub.spawners`` entry point when it builds its list of
    configurable classes, before it reads its config: c.JupyterHub.spawner_class =
    "jobspawner.spawner.JobSpawner" finds the integration installed."""
    code = "import jobspawner.spawner\nfrom jupyterhub.app import JupyterHub\nJupyterHub()\n"
    assert changes_after(code) == INSTALLED


SPAWNER_IN_A_HUB = """
import logging, sys
from types import SimpleNamespace
{before}
from jupyterhub.app import JupyterHub
from jupyterhub.objects import Hub
from jobspawner.spawner import JobSpawner

# a running hub that did not load jobspawner's entry point (no class list built from them)
app = JupyterHub.instance(classes=[JupyterHub])
log = logging.getLogger("the-hub")
log.addHandler(logging.StreamHandler(sys.stdout))
user = SimpleNamespace(name="alice", url="/user/alice/", escaped_name="alice", id=1)
for _ in range(2):
    JobSpawner(user=user, hub=Hub(), log=log, allow_root_jobs=True)
"""


def test_a_spawner_in_a_hub_without_the_integration_says_what_to_write() -> None:
    out = run_python(SPAWNER_IN_A_HUB.format(before="")).stdout
    assert out.count("jobspawner's hub integration is not installed") == 1, out  # once
    assert "no server can start" in out
    assert 'c.JupyterHub.spawner_class = "jobspawner"' in out
    assert "from jobspawner import JobSpawner" in out


def test_a_spawner_in_a_hub_with_the_integration_says_nothing() -> None:
    out = run_python(SPAWNER_IN_A_HUB.format(before="import jobspawner.web.hub_entry")).stdout
    assert "hub integration" not in out, out


def test_a_spawner_outside_a_hub_says_nothing() -> None:
    out = run_python(
        "import logging, sys\nfrom types import SimpleNamespace\n"
        "from jobspawner.spawner import JobSpawner\n"
        "from jobspawner.facade.hub_integration import installed\n"
        "log = logging.getLogger('x'); log.addHandler(logging.StreamHandler(sys.stdout))\n"
        "user = SimpleNamespace(name='alice', url='/user/alice/', escaped_name='alice', id=1)\n"
        "JobSpawner(user=user, log=log, allow_root_jobs=True)\n"
        "assert installed() is None\n"
    ).stdout
    assert "hub integration" not in out, out


def test_install_is_idempotent() -> None:
    code = (
        "from jupyterhub.app import JupyterHub\n"
        "from jobspawner.web import hub_start\n"
        "hub_start.install()\n"
        "first = (JupyterHub.init_handlers, JupyterHub.init_tornado_settings)\n"
        "hub_start.install()\n"
        "import jobspawner.web.hub_entry\n"
        "assert (JupyterHub.init_handlers, JupyterHub.init_tornado_settings) == first\n"
        "assert JupyterHub.init_handlers.__name__ == 'init_handlers'\n"
    )
    assert changes_after(code) == INSTALLED


@pytest.fixture
def handler_lists(monkeypatch: pytest.MonkeyPatch) -> tuple[list[Any], list[Any]]:
    """JupyterHub's handler lists, copied for the test (what it registers goes away), and
    the filters of the loggers a hub start puts the refusal filter on, restored after it."""
    from tornado.log import app_log, gen_log

    api, pages = list(apihandlers.default_handlers), list(handlers.default_handlers)
    monkeypatch.setattr(apihandlers, "default_handlers", api)
    monkeypatch.setattr(handlers, "default_handlers", pages)
    for log in (logging.getLogger("fake-hub"), app_log, gen_log):
        monkeypatch.setattr(log, "filters", list(log.filters))
    return api, pages


def test_the_hub_start_checks_then_registers_every_handler(
    handler_lists: tuple[list[Any], list[Any]],
) -> None:
    from jobspawner.choices import refusal_log
    from jobspawner.lifecycle import end_report, handshake, walltime
    from jobspawner.web import hub_start, session_view

    api, pages = handler_lists
    before = len(api), len(pages)
    app = FakeApp(backend="local")
    hub_start._at_init_handlers(app)
    assert app.exited is None
    added_api = [p for p, *_ in api[before[0] :]]
    added_pages = [p for p, *_ in pages[before[1] :]]
    assert sorted(added_api) == sorted(
        m.API_PATH for m in (handshake, end_report, session_view, walltime)
    )
    assert added_pages == [session_view.PAGE_PATH]
    assert refusal_log._FILTER in app.log.filters  # a refused option: one line in the log
    hub_start._at_init_handlers(app)  # a second start in the same process adds nothing
    assert len(api) - before[0] == 4 and len(pages) - before[1] == 1


def test_a_refused_backend_stops_the_hub_at_start(
    handler_lists: tuple[list[Any], list[Any]], caplog: pytest.LogCaptureFixture
) -> None:
    from jobspawner.web import hub_start

    app = FakeApp(backend="no-such-backend")
    with caplog.at_level(logging.CRITICAL):
        hub_start._at_init_handlers(app)
    assert app.exited == 1
    assert "jobspawner cannot start" in caplog.text and "no-such-backend" in caplog.text
