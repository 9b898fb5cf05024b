"""The default LSF job script, rendered by the core's sandbox, read back by the emulator's
#BSUB parser (the same rules as bsub's)."""

from __future__ import annotations

import re

import pytest
from jobspawner.facade.backend import load_backend
from lsf.lsfkit import load_emulator, make_spec


def render(**variables) -> str:
    backend = load_backend("lsf")
    spec = make_spec(**variables)
    return backend.render_script(spec, backend.script_template(spec))


def bsub_options(script: str) -> dict:
    emu = load_emulator()
    opts, command, error = emu.parse_bsub_args(emu.directives(script))
    assert error is None and command == []
    return opts


def test_unset_resources_leave_their_directives_out() -> None:
    script = render()
    assert script.startswith("#!/bin/bash\n")
    directives = [line for line in script.splitlines() if line.startswith("#BSUB")]
    assert directives == [
        "#BSUB -J jupyter-alice",
        "#BSUB -o /tmp/lsf-test.log",
        "#BSUB -e /tmp/lsf-test.log",
    ]
    assert "None" not in script and "''" not in script
    assert "exec sleep 60" in script
    assert "secret-token" not in script and "export JOBSPAWNER_SECRETS_FILE=" in script


def test_every_resource_becomes_a_directive() -> None:
    script = render(
        queue="short",
        runtime_s=90 * 60,
        cpus=4,
        memory_mb=4096,
        gpus=2,
        gpu_type="a100",
        account="proj42",
        reservation="res1",
        constraint="avx512",
        nodes=1,
        job_name="jupyter-alice-gpu",
    )
    opts = bsub_options(script)
    assert opts["-q"] == "short"
    assert opts["-W"] == "1:30"
    assert opts["-n"] == "4"
    assert opts["-M"] == "4096"
    assert opts["-R"] == ["rusage[mem=4096]", "select[avx512]", "span[hosts=1]"]
    assert opts["-gpu"] == "num=2:gmodel=a100"
    assert opts["-P"] == "proj42"
    assert opts["-U"] == "res1"
    assert opts["-J"] == "jupyter-alice-gpu"
    assert opts["-o"] == opts["-e"] == "/tmp/lsf-test.log"
    # the directives come before the first command line, so bsub sees all of them
    first_command = next(
        n for n, line in enumerate(script.splitlines()[1:]) if not line.startswith("#")
    )
    assert all(not line.startswith("#BSUB") for line in script.splitlines()[1 + first_command :])


@pytest.mark.parametrize(
    ("seconds", "walltime"),
    [(30, "1"), (60, "1"), (61, "2"), (59 * 60, "59"), (3600, "1:00"), (36 * 3600 + 60, "36:01")],
)
def test_walltime_is_hour_minute(seconds: int, walltime: str) -> None:
    assert bsub_options(render(runtime_s=seconds))["-W"] == walltime


@pytest.mark.parametrize(
    ("options", "cpus", "value"),
    [
        ({}, None, "4096"),
        ({"memory_unit": "KB"}, None, "4194304"),
        ({"memory_unit": "GB"}, None, "4"),
        ({"memory_unit": "gb", "memory_suffix": True}, None, "4GB"),
        ({"memory_unit": "MB", "memory_per_slot": True}, 3, "1366"),
        ({"memory_unit": "TB"}, None, "1"),
    ],
)
def test_memory_units(options: dict, cpus: int | None, value: str) -> None:
    opts = bsub_options(render(memory_mb=4096, cpus=cpus, opts=options))
    assert opts["-M"] == value
    assert opts["-R"] == [f"rusage[mem={value}]"]


def test_rusage_unit_apart_from_the_limit_unit() -> None:
    # LSF_UNIT_FOR_LIMITS unset: -M in KB, the mem resource of rusage[] in MB
    opts = bsub_options(render(memory_mb=4096, opts={"memory_unit": "KB", "rusage_unit": "MB"}))
    assert opts["-M"] == "4194304"
    assert opts["-R"] == ["rusage[mem=4096]"]


def test_gpus_without_type_and_multi_node_span() -> None:
    opts = bsub_options(render(gpus=1, nodes=2, cpus=8))
    assert opts["-gpu"] == "num=1"
    assert opts["-R"] == ["span[ptile=4]"]


def test_prologue_and_epilogue() -> None:
    script = render(prologue="module load jupyter", epilogue="echo bye")
    lines = script.splitlines()
    assert lines.index("module load jupyter") < lines.index("sleep 60 &")
    assert lines.index("sleep 60 &") < lines.index("echo bye")
    assert "exit $rc" in script and "exec sleep" not in script


def test_values_are_quoted() -> None:
    script = render(command=["jobspawner-singleuser", "--ServerApp.root_dir=/tmp/a b"])
    assert "exec jobspawner-singleuser '--ServerApp.root_dir=/tmp/a b'" in script
    assert re.search(r"^cd /tmp$", script, re.MULTILINE)
