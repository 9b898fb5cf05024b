"""Selecting a backend by name, site plugins, and the errors an admin reads."""

from __future__ import annotations

import sys
import textwrap

import pytest
from jobspawner.contract.jobspec import JobSpec
from jobspawner.contract.status import JobState, JobStatus
from jobspawner.facade import backend as backend_module
from jobspawner.facade.backend import (
    BackendError,
    BackendNotFound,
    installed_backends,
    load_backend,
)


def _spec(**variables):
    return JobSpec.create(username="alice", job_name="jupyter-alice", output_file="/tmp/x.log",
                          workdir="/home/alice", command=["jobspawner-singleuser"],
                          variables=variables)  # fmt: skip


def test_local_backend_is_registered_like_an_outside_one():
    eps = installed_backends()
    assert eps["local"].value == "jobspawner.backends.local"
    assert eps["local"].group == "jobspawner.backends"


def test_unknown_backend_lists_installed_ones_and_never_makes_up_a_package():
    with pytest.raises(BackendNotFound) as e:
        load_backend("xyzzyq")
    message = str(e.value)
    assert '"xyzzyq"' in message
    assert "local" in message  # the installed backends are listed
    assert "jobspawner-xyzzyq" not in message
    assert "entry-point group jobspawner.backends" in message


@pytest.mark.parametrize(
    ("typo", "guess", "where"),
    [("slrum", "slurm", "installed"), ("SLURM", "slurm", "installed"), ("sgee", "sge", "installed"),
     ("pbspr", "pbspro", "installed"), ("condr", "condor", "installed")],
)  # fmt: skip
def test_a_typo_suggests_the_closest_real_backend(typo, guess, where):
    message = backend_module.not_found_message(typo, sorted(installed_backends()))
    assert f'Did you mean "{guess}" ({where})?' in message
    assert f"jobspawner-{typo}" not in message


@pytest.mark.parametrize(
    ("name", "dist", "folder"),
    [("pbspro", "jobspawner-torque", "torque"), ("moab", "jobspawner-torque", "torque"),
     ("slurmrestd", "jobspawner-slurmrestd", "slurmrestd")],
)  # fmt: skip
def test_a_shipped_backend_that_is_not_installed_names_its_real_distribution(name, dist, folder):
    installed = [n for n in sorted(installed_backends()) if n != name]
    message = backend_module.not_found_message(name, installed)
    assert f"It ships in the distribution {dist}" in message
    assert f"pip install ./plugins/{folder}" in message


def test_a_typo_of_a_shipped_backend_that_is_not_installed_names_its_distribution():
    message = backend_module.not_found_message("mob", ["local"])
    assert 'Did you mean "moab" (not installed; it ships in jobspawner-torque)?' in message


def test_the_shipped_table_matches_every_plugin_s_entry_points():
    # the test environment installs every plugin of the repository
    declared = {name: ep.dist.name for name, ep in installed_backends().items()}
    assert declared == backend_module.SHIPPED_BACKENDS


def test_only_the_selected_entry_point_is_loaded(monkeypatch):
    loaded = []
    real = installed_backends()

    class Spy:
        def __init__(self, ep):
            self.ep, self.name, self.value = ep, ep.name, ep.value
            self.dist = getattr(ep, "dist", None)

        def load(self):
            loaded.append(self.name)
            return self.ep.load()

    monkeypatch.setattr(
        "jobspawner.facade.backend.installed_backends", lambda: {n: Spy(e) for n, e in real.items()}
    )
    load_backend("local")
    assert loaded == ["local"]


def test_site_plugin_wraps_render_script_and_overrides_get_host():
    backend = load_backend("local", ["core.site_plugins.add_directive"])
    spec = _spec()
    script = backend.render_script(spec, backend.script_template(spec))
    lines = script.splitlines()
    assert lines[0] == "#!/bin/bash"
    assert lines[1] == "# SITE: licence=jupyter user=alice"
    status = JobStatus(JobState.RUNNING, host="node7")
    assert backend.get_host(status, {}) == "node7.ib.example.org"


def test_without_the_site_plugin_nothing_changes():
    backend = load_backend("local")
    spec = _spec()
    assert "SITE" not in backend.render_script(spec, backend.script_template(spec))
    assert backend.get_host(JobStatus(JobState.RUNNING, host="node7"), {}) == "node7"


def test_misspelled_hook_fails_at_load_time():
    with pytest.raises(BackendError) as e:
        load_backend("local", ["core.site_plugins.misspelled"])
    assert "submit_comand" in str(e.value)
    assert "unknown hook" in str(e.value)


def test_hook_with_wrong_arguments_fails_at_load_time():
    with pytest.raises(BackendError) as e:
        load_backend("local", ["core.site_plugins.wrong_args"])
    assert "parse_status" in str(e.value) and "output_text" in str(e.value)


def test_plugin_that_fails_to_import_is_named():
    with pytest.raises(BackendError) as e:
        load_backend("local", ["core.site_plugins.broken_import"])
    assert "core.site_plugins.broken_import" in str(e.value)
    assert "jobspawner_no_such_module" in str(e.value)


def test_broken_backend_distribution_is_reported_with_its_package(tmp_path, monkeypatch):
    """An installed backend whose module does not import: the error names it and its dist."""
    dist = tmp_path / "jobspawner_broken-1.2.3.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: jobspawner-broken\nVersion: 1.2.3\n"
    )
    (dist / "entry_points.txt").write_text(
        "[jobspawner.backends]\nbroken = jobspawner_broken_mod\n"
    )
    (tmp_path / "jobspawner_broken_mod.py").write_text("raise RuntimeError('needs libfoo')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert "broken" in installed_backends()
    with pytest.raises(BackendError) as e:
        load_backend("broken")
    message = str(e.value)
    assert "jobspawner-broken 1.2.3" in message and "needs libfoo" in message


def test_incomplete_backend_is_refused_at_load(tmp_path, monkeypatch):
    dist = tmp_path / "jobspawner_half-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: jobspawner-half\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[jobspawner.backends]\nhalf = jobspawner_half_mod\n")
    (tmp_path / "jobspawner_half_mod.py").write_text(
        textwrap.dedent(
            """
            from jobspawner import hookimpl, Command
            @hookimpl
            def submit_command(spec, script):
                return Command(["true"])
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(BackendError) as e:
        load_backend("half")
    for hook in ("parse_submit", "status_command", "parse_status", "cancel_command"):
        assert hook in str(e.value)
    sys.modules.pop("jobspawner_half_mod", None)


def test_cli_lists_backends_as_json(capsys):
    import json

    from jobspawner.cli import main

    assert main(["plugins", "--json"]) == 0
    report = {p["name"]: p for p in json.loads(capsys.readouterr().out)}
    assert report["local"]["distribution"] == "jobspawner"
    assert "submit_command" in report["local"]["hooks"]
