"""The default job scripts: each directive when its value is set, none when it is unset."""

from __future__ import annotations

from typing import Any

import pytest
from jobspawner import JobSpec
from jobspawner.facade.backend import load_backend
from jobspawner.facade.templates import render


def spec(**values: Any) -> JobSpec:
    """A spec built like the spawner's (JobSpec.create); ``values`` override variables."""
    return JobSpec.create(
        username="alice",
        server_name="gpu",
        job_name="jupyter-alice-gpu",
        output_file="/home/alice/.jobspawner/logs/jupyter-alice-gpu.log",
        workdir="/home/alice",
        command=["/opt/env/bin/jobspawner-singleuser", "--debug"],
        env={"JUPYTERHUB_API_TOKEN": "abc", "JUPYTERHUB_USER": "alice"},
        options=values.get("opts", {}),
        variables=values,
    )


def script(backend: str, **values: Any) -> str:
    s = spec(**values)
    b = load_backend(backend)
    return render(b.script_template(s) or "", s.variables)


def directives(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("#PBS")]


@pytest.mark.parametrize("backend", ["torque", "pbspro", "moab"])
def test_minimal_script_has_no_empty_directives(backend):
    text = script(backend)
    assert text.startswith("#!/bin/bash\n")
    lines = directives(text)
    assert lines[:3] == [
        "#PBS -N jupyter-alice-gpu",
        "#PBS -o /home/alice/.jobspawner/logs/jupyter-alice-gpu.log",
        "#PBS -j oe",
    ]
    for line in lines:
        assert not line.rstrip().endswith(("=", "@", "-q", "-A", "-l")), line
        assert "None" not in line
    assert not any(line.startswith("#PBS -q") for line in lines)
    assert not any("walltime" in line or "select" in line or "nodes=" in line for line in lines)
    assert "cd /home/alice\n" in text
    assert "=abc" not in text and "export JOBSPAWNER_SECRETS_FILE=" in text
    assert text.rstrip().endswith("exec /opt/env/bin/jobspawner-singleuser --debug")


def test_torque_full_script():
    text = script(
        "torque",
        queue="short",
        scheduler_server="pbs.example.org",
        runtime="02:00:00",
        runtime_s=7200,
        nodes=2,
        cpus=4,
        gpus=1,
        memory_mb=8192,
        account="proj1",
        constraint="bigmem",
    )
    assert directives(text)[3:] == [
        "#PBS -q short@pbs.example.org",
        "#PBS -l walltime=02:00:00",
        "#PBS -A proj1",
        "#PBS -l nodes=2:ppn=4:gpus=1:bigmem",
        "#PBS -l mem=8192mb",
    ]


def test_pbspro_full_script():
    text = script(
        "pbspro", queue="workq", runtime="00:30:00", nodes=1, cpus=2, memory_mb=4096, gpus=1
    )
    assert directives(text)[3:] == [
        "#PBS -q workq",
        "#PBS -l walltime=00:30:00",
        "#PBS -l select=1:ncpus=2:mem=4096mb:ngpus=1",
        "#PBS -k oed",
    ]
    assert "#PBS -l place=scatter" in script("pbspro", nodes=3)
    assert "select=1:mem=1024mb" in script("pbspro", memory_mb=1024)
    assert "-k oed" not in script("pbspro", opts={"direct_output": False})


def test_server_without_queue_and_moab_qos():
    assert "#PBS -q @pbs2\n" in script("torque", scheduler_server="pbs2")
    moab = script("moab", qos="debug", cpus=2)
    assert "#PBS -l qos=debug" in moab
    assert "#PBS -l nodes=1:ppn=2" in moab
    assert "qos" not in script("torque", qos="debug")


def test_prologue_epilogue():
    text = script("torque", prologue="module load python", epilogue="echo bye")
    body = text.split("cd /home/alice\n", 1)[1]
    assert body.index("module load python") < body.index("jobspawner-singleuser")
    server = body.index("/opt/env/bin/jobspawner-singleuser --debug &\n")
    assert server < body.index("echo bye\nexit $rc")
    assert "exec " not in body
