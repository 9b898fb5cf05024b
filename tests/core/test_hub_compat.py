"""The JupyterHub versions jobspawner supports: one module owns the differences
(jobspawner.facade.hub_compat), the declared dependencies match what CI proves, and a hub or
``jobspawner check`` on another version says what to install instead of a traceback."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import pytest
from jobspawner.__about__ import __version__
from jobspawner.cli import main
from jobspawner.facade import hub_compat
from jobspawner.facade.hub_compat import SpawnException, start_request_body, unsupported_reason
from jobspawner.web.hub_start import check_backend_at_start
from tornado import web

from .test_backend_options import FakeApp
from .test_cli import write_config

ROOT = Path(__file__).resolve().parents[2]
#: The JupyterHub versions CI runs the end-to-end tests on (.ci/run, the hubs environments)
#: besides the main suite's newest 6.x.
PROVEN_OLDEST = {"5": "5.3.0", "6": "6.0.0"}
#: The first core that declares the proven range (plugins need it or later).
FIRST_CORE_WITH_RANGE = "0.1.1"


@pytest.mark.parametrize(
    ("version", "parsed"),
    [("5.3.0", (5, 3, 0)), ("6.1.1", (6, 1, 1)), ("6.2.0b1", (6, 2, 0)), ("7.0.0.dev0", (7, 0, 0))],
)
def test_version_tuple(version: str, parsed: tuple[int, ...]) -> None:
    assert hub_compat.version_tuple(version) == parsed


@pytest.mark.parametrize("version", ["5.3.0", "5.4.6", "5.5.4", "6.0.0", "6.1.1", "6.9.0"])
def test_supported_versions(version: str) -> None:
    assert unsupported_reason(version) is None


@pytest.mark.parametrize("version", ["4.1.6", "5.2.1", "7.0.0", "7.0.0b1"])
def test_other_versions_are_refused_with_what_to_install(version: str) -> None:
    reason = unsupported_reason(version)
    assert reason is not None
    assert f"JupyterHub {version} is not supported" in reason
    assert "pip install 'jupyterhub>=5.3,<7'" in reason


def test_the_installed_hub_is_supported() -> None:
    assert unsupported_reason(hub_compat.hub_version()) is None


def test_spawn_exception_has_one_shape_on_every_version() -> None:
    """JupyterHub 5 has no SpawnException: the stand-in is an HTTP error (logged by the hub
    without a traceback) with the constructor and attributes JupyterHub 6's has."""
    for cls in (SpawnException, hub_compat._SpawnExceptionBefore6):
        e = cls("The queue is full.", reason="submit", status_code=503)
        assert isinstance(e, web.HTTPError)
        assert (e.message, e.reason, e.log_message, e.status_code) == (
            "The queue is full.",
            "submit",
            "The queue is full.",
            503,
        )
        plain = cls("Refused.", reason="user_options", log_message="Refused: detail")
        assert plain.status_code == 400 and plain.log_message == "Refused: detail"
        with pytest.raises(TypeError):
            cls("positional reason", "submit")


def test_on_jupyterhub_5_the_error_text_is_the_users_words() -> None:
    """JupyterHub 5's spawn form shows str(error): plain words, never an exception name."""
    e = hub_compat._SpawnExceptionBefore6("Refused.", reason="user_options", log_message="x")
    assert str(e) == "Refused."
    e.jupyterhub_message = "Your choice was refused: x"  # set by failed_start.record_failure
    assert str(e) == "Your choice was refused: x"
    assert e.get_message() == "x"


def test_start_request_body_fits_the_hub() -> None:
    body = start_request_body({"profile": "small"}, display_name="Small")
    if hub_compat.HUB_VERSION >= (6,):
        assert body == {"user_options": {"profile": "small"}, "display_name": "Small"}
        assert start_request_body(None) == {"user_options": {}}
    else:
        assert body == {"profile": "small"}
        assert start_request_body(None) == {}


def test_hub_start_refuses_an_unsupported_jupyterhub(
    monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    monkeypatch.setattr(hub_compat, "hub_version", lambda: "4.1.6")
    app = FakeApp(backend="local")
    with caplog.at_level(logging.CRITICAL):
        check_backend_at_start(app)
    assert app.exited == 1
    assert "JupyterHub 4.1.6 is not supported" in caplog.text
    assert "pip install 'jupyterhub>=5.3,<7'" in caplog.text


def test_hub_start_accepts_the_installed_jupyterhub() -> None:
    app = FakeApp(backend="local")
    check_backend_at_start(app)
    assert app.exited is None


def test_check_reports_the_running_jupyterhub(tmp_path: Path, capsys: Any) -> None:
    config = write_config(tmp_path, "")
    assert main(["check", "-f", config, "-v"]) == 0
    out = capsys.readouterr().out
    assert f"[ok  ] JupyterHub: {hub_compat.hub_version()} (jobspawner supports >=5.3,<7)" in out


def test_check_refuses_an_unsupported_jupyterhub(
    tmp_path: Path, capsys: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(hub_compat, "hub_version", lambda: "4.1.6")
    config = write_config(tmp_path, "")
    assert main(["check", "-f", config]) == 1
    out = capsys.readouterr().out
    assert "[FAIL] JupyterHub: JupyterHub 4.1.6 is not supported" in out
    assert "pip install 'jupyterhub>=5.3,<7'" in out
    assert out.rstrip().splitlines()[-1].startswith("FAIL:")


# --- what is declared matches what CI proves -------------------------------------------------


def _pyproject(path: Path) -> str:
    return path.read_text()


def test_core_declares_the_supported_range() -> None:
    project = _pyproject(ROOT / "pyproject.toml").split("[project]", 1)[1].split("\n[", 1)[0]
    declared = re.findall(r'"jupyterhub([<>=!~][^"]*)"', project)
    assert declared == [hub_compat.SUPPORTED]


def test_ci_proves_the_oldest_and_newest_of_each_major() -> None:
    """The hubs matrix holds the oldest of each supported major and .ci/run runs it; the
    main suite (test environment) runs the newest 6.x."""
    text = _pyproject(ROOT / "pyproject.toml")
    matrix = re.search(r"\[\[tool\.hatch\.envs\.hubs\.matrix\]\]\s*hub = \[([^\]]*)\]", text)
    assert matrix is not None
    pins = re.findall(r'"([^"]+)"', matrix.group(1))
    assert set(PROVEN_OLDEST.values()) <= set(pins)
    assert ".".join(map(str, hub_compat.OLDEST)) + ".0" == PROVEN_OLDEST["5"]
    assert any(p.startswith("5.") and p != PROVEN_OLDEST["5"] for p in pins), "newest 5.x"
    assert 'extra-dependencies = ["jupyterhub>=6,<7"]' in text
    assert "hubs" in (ROOT / ".ci" / "run").read_text()


@pytest.mark.parametrize(
    "plugin", sorted(p.parent.name for p in (ROOT / "plugins").glob("*/pyproject.toml"))
)
def test_each_plugin_needs_a_core_that_declares_the_range(plugin: str) -> None:
    """A plugin gets JupyterHub through the core: it needs a core whose declared range is the
    proven one (0.1.1 or later), never an older core that declared no upper bound."""
    text = _pyproject(ROOT / "plugins" / plugin / "pyproject.toml")
    assert "jupyterhub" not in text.split("[project.entry-points", 1)[0].split("dependencies")[1]
    assert f'"jobspawner>={FIRST_CORE_WITH_RANGE}"' in text
    assert hub_compat.version_tuple(__version__) >= hub_compat.version_tuple(FIRST_CORE_WITH_RANGE)


@pytest.mark.parametrize(
    ("query", "options"),
    [
        ({"opt-profile": ["big"], "opt-env": ["base"]}, {"profile": ["big"], "env": ["base"]}),
        ({"opt-profile": ["big"], "profile": ["small"]}, {"profile": ["big"]}),
        ({"profile": ["small"]}, {"profile": ["small"]}),
        ({"opt-": ["x"], "opt-env": ["base"]}, {"env": ["base"]}),
    ],
)
def test_spawn_page_query_options_have_one_shape_on_jupyterhub_5(
    monkeypatch: pytest.MonkeyPatch, query: dict[str, Any], options: dict[str, Any]
) -> None:
    """JupyterHub 5 passes ``opt-NAME`` arguments as they are: jobspawner strips the prefix
    the way JupyterHub 6 does, so one relaunch link works on both."""
    monkeypatch.setattr(hub_compat, "HUB_STRIPS_QUERY_PREFIX", False)
    assert hub_compat.query_options(query) == options
    monkeypatch.setattr(hub_compat, "HUB_STRIPS_QUERY_PREFIX", True)
    assert hub_compat.query_options(query) == query


def test_the_spawner_reads_query_options_through_the_compat_module(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from jobspawner.spawner import JobSpawner

    monkeypatch.setattr(hub_compat, "HUB_STRIPS_QUERY_PREFIX", False)
    spawner = JobSpawner(options_from_form=lambda data: data)
    assert spawner.options_from_query({"opt-profile": ["big"]}) == {"profile": ["big"]}
