"""JobSpec.create: the one way template variables are built (spawner, tools, tests)."""

from __future__ import annotations

import pytest
from jobspawner import JobSpec
from jobspawner.contract.resources import FIELDS, ResourceError
from jobspawner.facade.backend import installed_backends, load_backend


def _spec(**kwargs):
    base = dict(username="alice", job_name="jupyter-alice", output_file="/home/alice/o.log",
                workdir="/home/alice", command=["jobspawner-singleuser"])  # fmt: skip
    return JobSpec.create(**{**base, **kwargs})


def test_every_resource_variable_is_there_and_unset_ones_are_none():
    variables = _spec(resources={"memory": "4G", "runtime": "90m"}).variables
    assert variables["memory_mb"] == 4096 and variables["runtime"] == "01:30:00"
    for name in ("queue", "account", "qos", "reservation", "cpus", "gpus", "nodes", "disk_mb"):
        assert variables[name] is None, name
    assert {"job_name", "username", "homedir", "output_file", "env", "opts"} <= set(variables)


def test_resources_are_validated():
    with pytest.raises(ResourceError, match="req_queue"):
        _spec(resources={"queue": "a b"})


def test_site_variables_come_first_and_overrides_last():
    spec = _spec(site_variables={"module": "jupyter/1", "queue": "site"}, variables={"cpus": 9})
    assert spec.variables["module"] == "jupyter/1"
    assert spec.variables["queue"] is None  # resources win over site variables
    assert spec.variables["cpus"] == 9


@pytest.mark.parametrize("name", sorted(installed_backends()))
def test_every_installed_backends_template_renders_from_these_variables(name):
    """StrictUndefined: a default template that uses a variable the spawner does not
    provide would fail every spawn."""
    backend = load_backend(name)
    for resources in ({}, {r: v for r, v in _ALL.items() if r in FIELDS}):
        spec = _spec(resources=resources, env={"JUPYTERHUB_API_TOKEN": "t"})
        script = backend.render_script(spec, backend.script_template(spec) or "")
        assert script.startswith("#!"), script[:80]
        assert "jobspawner-singleuser" in script


_ALL = {
    "queue": "q", "account": "acct", "qos": "normal", "reservation": "r1", "cluster": "c1",
    "scheduler_server": "pbs1", "gpu_type": "a100", "constraint": "ib", "runtime": "2h",
    "memory": "4G", "disk": "10G", "cpus": 2, "nodes": 1, "gpus": 1,
}  # fmt: skip
