"""The default Slurm job script: directives present when set, absent when unset."""

from __future__ import annotations

import subprocess
from typing import Any

import pytest
from jobspawner.facade.backend import load_backend
from slurm.helpers import make_spec

DIRECTIVES = (
    "--partition",
    "--account",
    "--qos",
    "--reservation",
    "--clusters",
    "--time",
    "--nodes",
    "--cpus-per-task",
    "--mem",
    "--gres",
    "--gpus",
    "--constraint",
)


@pytest.fixture(scope="module")
def backend():
    return load_backend("slurm")


def render(backend, **kw: Any) -> str:
    spec = make_spec(**kw)
    return backend.render_script(spec, backend.script_template(spec))


def directives(script: str) -> list[str]:
    return [line[len("#SBATCH ") :] for line in script.splitlines() if line.startswith("#SBATCH")]


def bash_syntax_ok(script: str) -> None:
    check = subprocess.run(["bash", "-n"], input=script, text=True, capture_output=True)
    assert check.returncode == 0, check.stderr


def test_unset_resources_leave_their_directives_out(backend):
    script = render(backend)
    lines = directives(script)
    assert script.startswith("#!/bin/bash\n")
    for name in DIRECTIVES:
        assert not any(d.startswith(name) for d in lines), (name, lines)
    for d in lines:
        assert not d.endswith("=") and "''" not in d, d
    assert lines == [
        "--job-name=jupyterhub-alice-lab",
        "--output=/home/alice/.jobspawner/jupyterhub-alice-lab.log",
        "--chdir=/home/alice",
        "--export=NONE",
        "--no-requeue",
    ]
    bash_syntax_ok(script)


def test_every_resource_becomes_its_directive(backend):
    script = render(
        backend,
        resources={
            "queue": "gpu",
            "account": "proj42",
            "qos": "interactive",
            "reservation": "course",
            "cluster": "mpp2",
            "runtime": "1:30:00",
            "nodes": 1,
            "cpus": 4,
            "memory": "8G",
            "gpus": 2,
            "gpu_type": "a100",
            "constraint": "skylake&ib",
        },
    )
    lines = directives(script)
    for expected in (
        "--partition=gpu",
        "--account=proj42",
        "--qos=interactive",
        "--reservation=course",
        "--clusters=mpp2",
        "--time=01:30:00",
        "--nodes=1",
        "--cpus-per-task=4",
        "--mem=8192M",
        "--gres=gpu:a100:2",
        "--constraint='skylake&ib'",
    ):
        assert expected in lines, (expected, lines)
    bash_syntax_ok(script)


def test_gpu_directive_option(backend):
    gres = directives(render(backend, resources={"gpus": 1}))
    assert "--gres=gpu:1" in gres
    gpus = directives(render(backend, resources={"gpus": 3}, options={"gpu_directive": "gpus"}))
    assert "--gpus=3" in gpus and not any(d.startswith("--gres") for d in gpus)
    typed = directives(
        render(
            backend, resources={"gpus": 1, "gpu_type": "v100"}, options={"gpu_directive": "gpus"}
        )
    )
    assert "--gpus=v100:1" in typed
    assert not any("gpu" in d for d in directives(render(backend, resources={"gpus": 0})))


def test_long_runtimes_use_hours(backend):
    assert "--time=48:00:00" in directives(render(backend, resources={"runtime": "2d"}))


def test_options_export_requeue_extra_directives(backend):
    lines = directives(
        render(
            backend,
            options={
                "export": "ALL",
                "requeue": True,
                "extra_directives": ["--licenses=jupyter:1", "--signal=B:TERM@60"],
            },
        )
    )
    assert "--export=ALL" in lines and "--no-requeue" not in lines
    assert lines[-2:] == ["--licenses=jupyter:1", "--signal=B:TERM@60"]


def test_body_exports_prologue_and_exec(backend):
    script = render(backend, prologue="module load python/3.11\necho prologue-ran")
    body = script.split("\n# jobspawner:", 1)[1]
    assert "cd /home/alice\n" in body
    assert "secret-token" not in body and "export JOBSPAWNER_SECRETS_FILE=" in body
    assert body.index("export JUPYTERHUB") < body.index("module load python/3.11")
    assert body.rstrip().endswith("exec /opt/jobenv/bin/jobspawner-singleuser --debug")
    assert "srun" not in body
    bash_syntax_ok(script)


def test_epilogue_runs_after_the_server_and_keeps_its_exit_code(backend):
    script = render(backend, epilogue="echo epilogue-ran")
    assert "exec " not in script
    assert script.index("jobspawner-singleuser --debug &") < script.index("echo epilogue-ran")
    assert script.rstrip().endswith("exit $rc")
    bash_syntax_ok(script)


def test_epilogue_runs_when_the_job_is_cancelled(tmp_path):
    """The job script traps SIGTERM (scancel), waits for the server, then runs the epilogue."""
    backend = load_backend("slurm")
    spec = make_spec(epilogue=f"echo epilogue-ran > {tmp_path}/epi")
    script = backend.render_script(spec, backend.script_template(spec))
    script = script.replace("/opt/jobenv/bin/jobspawner-singleuser --debug", "sleep 30")
    script = script.replace("cd /home/alice", f"cd {tmp_path}")
    proc = subprocess.Popen(["bash", "-c", script])
    import time

    time.sleep(0.5)
    proc.terminate()
    assert proc.wait(timeout=10) == 143
    assert (tmp_path / "epi").read_text() == "epilogue-ran\n"


def test_use_srun(backend):
    script = render(
        backend, resources={"cpus": 2}, options={"use_srun": True, "srun_args": ["--mpi=none"]}
    )
    assert script.rstrip().endswith(
        "exec srun --ntasks=1 --nodes=1 --cpus-per-task=2 --export=ALL --mpi=none "
        "/opt/jobenv/bin/jobspawner-singleuser --debug"
    )
    plain = render(backend, options={"use_srun": True, "srun": "/usr/bin/srun"})
    assert plain.rstrip().endswith(
        "exec /usr/bin/srun --ntasks=1 --nodes=1 --export=ALL "
        "/opt/jobenv/bin/jobspawner-singleuser --debug"
    )
    bash_syntax_ok(plain)


def test_submit_command_puts_the_script_on_stdin(backend):
    spec = make_spec(options={"sbatch": "/opt/slurm/bin/sbatch", "submit_args": ["--quiet-no"]})
    cmd = backend.submit_command(spec, "#!/bin/bash\n")
    assert cmd.argv == ("/opt/slurm/bin/sbatch", "--parsable", "--quiet-no")
    assert cmd.stdin == "#!/bin/bash\n"
