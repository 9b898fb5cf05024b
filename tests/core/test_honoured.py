"""Requests a backend cannot honour are refused at hub start or warned about, never dropped.

Covers jobspawner.facade.honoured, the ``resource_fields`` hook of every installed backend and the
GPU model requests of Torque, PBS Pro and Moab.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
from jobspawner.contract.resources import FIELDS
from jobspawner.facade.backend import installed_backends, load_backend
from jobspawner.facade.honoured import HARMLESS, site_problems
from jobspawner.facade.hub_compat import SpawnException
from jobspawner.testing import SAMPLE_REQUESTS, job_for

from .test_backend_options import FakeApp, make_spawner

BACKENDS = sorted(installed_backends())
#: Backends whose hub-start check runs without a server to reach (command-line ones).
CLI_BACKENDS = [b for b in BACKENDS if b not in ("slurmrestd", "firecrest")]


def _ignored(name: str, options: dict[str, Any] | None = None) -> list[str]:
    backend = load_backend(name)
    honoured = backend.resource_fields(backend.checked_options(options or {}))
    assert honoured is not None
    return [f for f in FIELDS if f not in honoured]


@pytest.mark.parametrize("name", BACKENDS)
def test_declared_fields_are_exactly_what_changes_the_job(name: str) -> None:
    backend = load_backend(name)
    options = backend.checked_options({})
    honoured = backend.resource_fields(options)
    assert honoured is not None
    base = job_for(backend, options, {"cpus": 2, "gpus": 1})
    for field in FIELDS:
        changed = job_for(backend, options, {"cpus": 2, "gpus": 1, field: SAMPLE_REQUESTS[field]})
        assert (changed != base) == (field in honoured), field


@pytest.mark.parametrize("name", CLI_BACKENDS)
def test_hub_start_stops_on_a_setting_the_backend_ignores(name: str, caplog: Any) -> None:
    refused = [f for f in _ignored(name) if f not in HARMLESS]
    if not refused:
        pytest.skip(f"{name} honours every field but the harmless ones")
    field = refused[0]
    app = FakeApp(backend=name, **{f"req_{field}": SAMPLE_REQUESTS[field]})
    with caplog.at_level(logging.CRITICAL):
        from jobspawner.web.hub_start import check_backend_at_start

        check_backend_at_start(app)
    assert app.exited == 1
    assert f"c.JobSpawner.req_{field} is set" in caplog.text and f'"{name}"' in caplog.text
    assert "Remove the setting" in caplog.text


@pytest.mark.parametrize("name", CLI_BACKENDS)
def test_hub_starts_with_settings_the_backend_honours(name: str) -> None:
    from jobspawner.web.hub_start import check_backend_at_start

    backend = load_backend(name)
    honoured = backend.resource_fields(backend.checked_options({})) or set()
    settings = {f"req_{f}": SAMPLE_REQUESTS[f] for f in honoured}
    app = FakeApp(backend=name, **settings)
    check_backend_at_start(app)
    assert app.exited is None


ONLY_CPUS = "core.site_plugins.only_cpus"


def test_runtime_is_a_warning_and_memory_a_refusal(caplog: Any) -> None:
    from jobspawner.web.hub_start import check_backend_at_start

    app = FakeApp(
        backend="local", plugins=[ONLY_CPUS], req_runtime="1h", user_options_allowed=["memory"]
    )
    with caplog.at_level(logging.WARNING):
        check_backend_at_start(app)
    assert app.exited is None
    assert "req_runtime is set" in caplog.text and "runs without that limit" in caplog.text
    assert 'user_options_allowed has "memory"' in caplog.text
    app = FakeApp(backend="local", plugins=[ONLY_CPUS], req_memory="4G")
    check_backend_at_start(app)
    assert app.exited == 1


def test_local_enforces_the_runtime() -> None:
    script = _script("local", runtime="90m")
    assert "exec timeout --foreground 5400 " in script
    assert "timeout" not in _script("local")


def test_site_problems_split_refusals_and_warnings() -> None:
    refusals, warnings = site_problems(
        "pbspro", {"qos": "high", "runtime": "1h", "nodes": 1, "cpus": None}, {"cpus"}
    )
    assert len(refusals) == 1 and "req_qos" in refusals[0] and "cpus" in refusals[0]
    assert len(warnings) == 1 and "req_runtime" in warnings[0]
    assert site_problems("x", {"qos": "high"}, None) == ([], [])  # undeclared: unchecked


def test_user_option_for_an_ignored_field_is_refused_400(tmp_path: Any) -> None:
    spawner = make_spawner(tmp_path, backend="pbspro", user_options_allowed=["qos", "cpus"])
    with pytest.raises(SpawnException) as e:
        spawner.apply_user_options(spawner, {"qos": ["high"]})
    assert e.value.status_code == 400
    assert e.value.log_message.startswith("qos: ") and "(pbspro)" in e.value.log_message
    assert "cannot be chosen" in e.value.log_message
    spawner.apply_user_options(spawner, {"cpus": ["2"]})  # honoured: accepted
    assert spawner.choices.resources == {"cpus": "2"}


def test_a_harmless_field_is_accepted_and_a_bad_value_still_named(tmp_path: Any) -> None:
    spawner = make_spawner(
        tmp_path, backend="local", plugins=[ONLY_CPUS], user_options_allowed=["runtime", "queue"]
    )
    spawner.apply_user_options(spawner, {"runtime": ["2h"]})  # ignored, harmlessly
    with pytest.raises(SpawnException) as e:
        spawner.apply_user_options(spawner, {"runtime": ["soon"]})
    assert e.value.log_message.startswith("Runtime: 'soon' is not a duration")  # its label
    with pytest.raises(SpawnException) as e:
        spawner.apply_user_options(spawner, {"queue": ["gpu"]})
    assert e.value.status_code == 400 and e.value.log_message.startswith("queue: ")


def test_jobspawner_check_reports_an_ignored_setting(tmp_path: Any) -> None:
    from jobspawner.cli.check import CheckReport, check_honoured

    report = CheckReport()
    check_honoured(report, make_spawner(tmp_path, backend="pbspro", req_qos="high"))
    assert [(f.level, f.topic) for f in report.findings] == [("fail", "resources")]
    assert "req_qos" in report.findings[0].message
    report = CheckReport()
    spawner = make_spawner(tmp_path, backend="local", plugins=[ONLY_CPUS], req_runtime="1h")
    check_honoured(report, spawner)
    assert [(f.level, f.topic) for f in report.findings] == [("warn", "resources")]


def test_site_template_is_not_checked(tmp_path: Any) -> None:
    spawner = make_spawner(
        tmp_path, backend="pbspro", req_qos="high", batch_script="#!/bin/sh\n{{ qos }}\n"
    )
    assert spawner.unhonoured_requests_refusal(logging.getLogger("t")) is None
    assert spawner.build_spec().variables["qos"] == "high"


# --- GPU models on the PBS family --------------------------------------------------------


def _script(name: str, options: dict[str, Any] | None = None, **resources: Any) -> str:
    backend = load_backend(name)
    script, _ = job_for(backend, backend.checked_options(options or {}), resources)
    return str(script)


def test_torque_gpu_model_is_a_node_property() -> None:
    script = _script("torque", cpus=4, gpus=2, gpu_type="a100", constraint="ib")
    assert "#PBS -l nodes=1:ppn=4:gpus=2:a100:ib\n" in script
    assert "#PBS -l nodes=1:a100\n" in _script("torque", gpu_type="a100")


def test_moab_gpu_model_and_reservation() -> None:
    script = _script("moab", gpus=1, gpu_type="v100", reservation="course")
    assert "#PBS -l nodes=1:gpus=1:v100\n" in script
    assert "#PBS -l advres=course\n" in script


def test_pbspro_features_are_boolean_host_resources() -> None:
    script = _script("pbspro", cpus=2, constraint="bigmem:ib")
    assert "#PBS -l select=1:ncpus=2:bigmem=True:ib=True\n" in script


def test_pbspro_gpu_model_needs_the_site_resource(caplog: Any) -> None:
    options = {"gpu_model_resource": "gpu_model"}
    script = _script("pbspro", options, cpus=4, gpus=2, gpu_type="a100")
    assert "#PBS -l select=1:ncpus=4:ngpus=2:gpu_model=a100\n" in script
    assert "gpu_model" not in _script("pbspro", cpus=4, gpus=2, gpu_type="a100")
    assert "gpu_type" in _ignored("pbspro")
    assert "gpu_type" not in _ignored("pbspro", options)
    from jobspawner.web.hub_start import check_backend_at_start

    app = FakeApp(backend="pbspro", req_gpus=1, req_gpu_type="a100")
    with caplog.at_level(logging.CRITICAL):
        check_backend_at_start(app)
    assert app.exited == 1 and "req_gpu_type" in caplog.text
    app = FakeApp(backend="pbspro", req_gpus=1, req_gpu_type="a100", backend_options=options)
    check_backend_at_start(app)
    assert app.exited is None
