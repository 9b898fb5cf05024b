"""Job-script rendering: sandbox, quoting, unknown variables with line numbers."""

from __future__ import annotations

import signal
import subprocess
import time

import pytest
from jobspawner.backends.local import TEMPLATE
from jobspawner.facade.templates import TemplateError, quote, render


def test_quote_makes_hostile_values_inert():
    hostile = "x'; rm -rf / #$(reboot)`id`\tnext"  # line breaks are refused: see tests/security
    out = subprocess.run(
        ["bash", "-c", f"printf %s {quote(hostile)}"], capture_output=True, text=True, check=True
    ).stdout
    assert out == hostile


def test_quote_lists_become_words():
    assert quote(["jupyterhub-singleuser", "--arg=a b"]) == "jupyterhub-singleuser '--arg=a b'"


def test_unknown_variable_names_the_line():
    template = "#!/bin/bash\n#SBATCH -p {{ queue }}\n{{ comand | quote }}\n"
    with pytest.raises(TemplateError) as e:
        render(template, {"queue": "debug", "command": ["x"]})
    assert "line 3" in str(e.value)
    assert "comand" in str(e.value)
    assert "Known variables: command, queue" in str(e.value)


def test_syntax_error_names_the_line():
    with pytest.raises(TemplateError) as e:
        render("#!/bin/bash\n{% if x %}\n", {"x": 1})
    assert "line" in str(e.value) and "syntax error" in str(e.value)


def test_sandbox_blocks_attribute_escapes():
    with pytest.raises(TemplateError):
        render("{{ x.__class__.__mro__[1].__subclasses__() }}", {"x": ""})


def test_exports_quotes_values_and_refuses_bad_names():
    out = render("{{ env | exports }}", {"env": {"TOKEN": "a'b $c"}})
    assert out == "export TOKEN='a'\"'\"'b $c'"
    with pytest.raises(TemplateError):
        render("{{ env | exports }}", {"env": {"A;rm": "x"}})


def _local(**overrides):
    variables = dict(
        job_name="jupyter-alice", workdir="/home/al ice", env={"JUPYTERHUB_API_TOKEN": "t0k"},
        prologue="", epilogue="", command=["jobspawner-singleuser", "--debug"],
    )  # fmt: skip
    variables.update(overrides)
    return render(TEMPLATE, variables)


def test_local_template_quotes_everything_and_execs_the_server():
    script = _local()
    assert "cd '/home/al ice'" in script
    assert "export JUPYTERHUB_API_TOKEN=t0k" in script
    assert script.rstrip().endswith("exec jobspawner-singleuser --debug")
    assert subprocess.run(["bash", "-n"], input=script, text=True).returncode == 0


def test_local_template_prologue_and_epilogue():
    script = _local(prologue="module load python", epilogue="echo bye")
    assert script.index("module load python") < script.index("jobspawner-singleuser")
    assert "exec " not in script  # the epilogue must run after the server
    assert script.index("jobspawner-singleuser") < script.index("echo bye")


@pytest.mark.parametrize("server_exit", ["0", "5"])
def test_job_body_runs_the_epilogue_when_the_job_is_cancelled(tmp_path, server_exit):
    """SIGTERM to the job (a cancel) stops the server; the epilogue still runs; set -e safe."""
    marker = tmp_path / "epilogue-ran"
    server = tmp_path / "server.sh"
    server.write_text(f"trap 'exit {server_exit}' TERM\nwhile true; do sleep 0.1; done\n")
    script = _local(
        workdir=str(tmp_path),
        command=["bash", str(server)],
        epilogue=f"echo rc=$rc > {marker}",
    )
    proc = subprocess.Popen(["bash", "-c", script])
    time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == int(server_exit)
    assert marker.read_text().strip() == f"rc={server_exit}"
