"""The admin CLI: check, render, resources, plugins (in-process and as a subprocess)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from jobspawner.cli import build_parser, main

JOBSPAWNER = [sys.executable, "-m", "jobspawner.cli"]


def write_config(tmp_path: Path, body: str, name: str = "jupyterhub_config.py") -> str:
    head = f"""
        c = get_config()
        c.JupyterHub.spawner_class = "jobspawner"
        c.JobSpawner.allow_root_jobs = True
        c.JobSpawner.log_dir = {str(tmp_path / "logs")!r}
        c.JobSpawner.backend_options = {{"python": {sys.executable!r},
                                         "spool": {str(tmp_path / "spool")!r}}}
    """
    path = tmp_path / name
    path.write_text(textwrap.dedent(head) + textwrap.dedent(body))
    return str(path)


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*JOBSPAWNER, *args], capture_output=True, text=True, timeout=120, env=env
    )


@pytest.mark.parametrize("command", ["check", "render", "resources", "plugins"])
def test_every_command_has_help_and_version(command, capsys):
    with pytest.raises(SystemExit) as e:
        main([command, "--help"])
    assert e.value.code == 0
    assert "--json" in capsys.readouterr().out
    with pytest.raises(SystemExit) as e:
        main([command, "--version"])
    assert e.value.code == 0
    assert capsys.readouterr().out.startswith("jobspawner ")


def test_version_as_a_subprocess():
    from jobspawner.__about__ import __version__

    result = run_cli("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"jobspawner {__version__}"


def test_plugins_is_a_table_by_default_and_json_on_request(capsys):
    assert main(["plugins"]) == 0
    out = capsys.readouterr().out
    header = out.splitlines()[0].split()
    assert header == ["backend", "distribution", "version", "status"]
    assert any(line.split()[:2] == ["local", "jobspawner"] for line in out.splitlines())
    assert len(out.splitlines()) < 30
    assert main(["plugins", "--json"]) == 0
    report = {p["name"]: p for p in json.loads(capsys.readouterr().out)}
    assert "submit_command" in report["local"]["hooks"]


def test_resources_missing_scheduler_command_is_one_line(tmp_path):
    empty = tmp_path / "bin"
    empty.mkdir()
    env = {**os.environ, "PATH": str(empty)}
    result = run_cli("resources", "--backend", "lsf", env=env)
    assert result.returncode == 3
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "bqueues" in lines[0] and "not on PATH" in lines[0]


@pytest.mark.parametrize("as_json", [False, True])
def test_resources_says_when_the_scheduler_is_down_and_exits_non_zero(tmp_path, as_json):
    # sinfo is there but slurmctld is not: what Slurm's client prints when it is down
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    sinfo = bin_dir / "sinfo"
    sinfo.write_text(
        "#!/bin/sh\necho 'slurm_load_partitions: Unable to contact slurm controller "
        "(connect failure)' >&2\nexit 1\n"
    )
    sinfo.chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}:/usr/bin:/bin"}
    result = run_cli("resources", "--backend", "slurm", *(["--json"] if as_json else []), env=env)
    assert result.returncode == 3
    assert "Unable to contact slurm controller" in result.stderr
    assert "did not answer" in result.stderr
    assert result.stdout == ""  # neither "no queues" nor an empty JSON list
    assert "Traceback" not in result.stderr


def test_resources_table_for_local(capsys):
    assert main(["resources"]) == 0
    assert "no queues" in capsys.readouterr().out


def test_check_passes_a_working_config_and_asks_the_scheduler(tmp_path, capsys):
    config = write_config(tmp_path, 'c.JobSpawner.req_runtime = "2h"\n')
    assert main(["check", "-f", config, "-v"]) == 0
    out = capsys.readouterr().out
    assert "[ok  ] scheduler: answers a status query" in out
    assert "[ok  ] job script: renders" in out
    assert out.rstrip().splitlines()[-1].startswith("PASS:")


def test_check_fails_when_the_scheduler_does_not_answer(tmp_path, capsys):
    config = write_config(tmp_path, 'c.JobSpawner.backend_options = {"python": "/bin/false"}\n')
    assert main(["check", "-f", config]) == 1
    out = capsys.readouterr().out
    assert "[FAIL] scheduler: did not answer a status query" in out
    assert out.rstrip().splitlines()[-1].startswith("FAIL:")


def test_check_names_an_invalid_resource(tmp_path, capsys):
    config = write_config(tmp_path, 'c.JobSpawner.req_memory = "lots"\n')
    assert main(["check", "-f", config]) == 1
    assert "req_memory: 'lots' is not a memory size" in capsys.readouterr().out


@pytest.mark.skipif(os.geteuid() != 0, reason="the refusal applies to a root hub")
def test_check_refuses_root_jobs_without_a_prefix(tmp_path, capsys):
    config = write_config(tmp_path, "c.JobSpawner.allow_root_jobs = False\n")
    assert main(["check", "-f", config]) == 1
    assert "c.JobSpawner.exec_prefix is empty" in capsys.readouterr().out


def test_check_finds_batchspawner_leftovers_and_says_what_to_write(tmp_path):
    config = write_config(
        tmp_path,
        '''
        c.JobSpawner.req_partition = "batch"
        c.JobSpawner.req_nprocs = "4"
        c.JobSpawner.req_keepvars = "PATH"
        c.JobSpawner.batch_submit_cmd = "sbatch --parsable"
        c.JobSpawner.state_exechost_exp = r"\\1.ib"
        c.Spawner.cmd = "jupyterhub-singleuser"
        c.BatchSpawnerBase.req_runtime = "1:00:00"
        c.JobSpawner.batch_script = """#!/bin/bash
        #SBATCH --partition={partition}
        #SBATCH --cpus-per-task={{nprocs}}
        {cmd}
        """
        ''',
    )
    result = run_cli("check", "-f", config, "--json")
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    assert report["passed"] is False
    fixes = {(f["topic"], f["fix"]) for f in report["findings"] if f["level"] == "fail"}
    expected = {
        ("c.JobSpawner.req_partition", "use c.JobSpawner.req_queue"),
        ("c.JobSpawner.req_nprocs", "use c.JobSpawner.req_cpus"),
        ("c.JobSpawner.req_keepvars", "use c.Spawner.env_keep"),
        ("c.JobSpawner.batch_submit_cmd", "nothing: the backend builds the submit command"),
        ("c.JobSpawner.state_exechost_exp", "c.JobSpawner.host_map"),
        ("c.Spawner.cmd", "c.Spawner.cmd = ['jobspawner-singleuser']"),
        ("c.BatchSpawnerBase.req_runtime", "move it to c.JobSpawner.req_runtime"),
        ("c.JobSpawner.batch_script", "write {{ queue }}"),
        ("c.JobSpawner.batch_script", "write {{ cpus }}"),
        ("c.JobSpawner.batch_script", "write {{ command | quote }}"),
    }
    for topic, fix in expected:
        assert any(t == topic and f.startswith(fix) for t, f in fixes), (topic, fix, fixes)


def test_check_recognises_batchspawner_classes(tmp_path, capsys):
    path = tmp_path / "bs.py"
    path.write_text(
        'c = get_config()\nc.JupyterHub.spawner_class = "wrapspawner.ProfilesSpawner"\n'
        "c.ProfilesSpawner.profiles = []\n"
    )
    assert main(["check", "-f", str(path)]) == 1
    out = capsys.readouterr().out
    assert "c.JupyterHub.spawner_class: wrapspawner.ProfilesSpawner is a batchspawner" in out
    assert "c.ProfilesSpawner: jobspawner does not read this section" in out


def test_render_is_the_script_a_spawn_submits_with_user_options(tmp_path):
    config = write_config(
        tmp_path,
        '''
        c.JobSpawner.user_options_allowed = ["memory"]
        c.JobSpawner.batch_script = """#!/bin/bash
        # mem={{ memory_mb }} user={{ username }}
        {% include "jobspawner/job_body.sh" %}
        """
        ''',
    )
    result = run_cli("render", "-f", config, "--user", "alice", "--option", "memory=8G")
    assert result.returncode == 0, result.stderr
    assert "# mem=8192 user=alice" in result.stdout
    assert "{%" not in result.stdout and "exec jobspawner-singleuser" in result.stdout
    assert "JUPYTERHUB_API_TOKEN" not in result.stdout
    refused = run_cli("render", "-f", config, "--user", "alice", "--option", "queue=x")
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert "'queue' cannot be chosen" in refused.stderr


def test_render_by_backend_expands_includes(capsys):
    assert main(["render", "--backend", "slurm", "--user", "alice"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("#!") and "{%" not in out and "#SBATCH --job-name=jupyter-alice" in out


def test_missing_config_is_one_line(tmp_path, capsys):
    assert main(["check", "-f", str(tmp_path / "nope.py")]) == 1
    assert "no such file" in capsys.readouterr().out
    assert main(["render", "-f", str(tmp_path / "nope.py")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_parser_lists_every_command():
    text = build_parser().format_help()
    for command in ("check", "render", "resources", "plugins"):
        assert command in text


BROKEN_PROFILES = {
    "override typo": (
        '[{"slug": "small", "overrides": {"req_memroy": "4G"}}]',
        "'req_memroy' is not a JobSpawner setting a profile can override",
    ),
    "min above max": (
        '[{"slug": "p", "options": {"runtime": {"min": "2h", "max": "1h"}}}]',
        "c.JobSpawner.profiles[p].options[runtime]: min '2h' is above max '1h'",
    ),
    "default outside": (
        '[{"slug": "p", "options": {"runtime": {"min": "1h", "max": "2h", "default": "8h"}}}]',
        "default '8h' is outside min '1h' .. max '2h'",
    ),
}


@pytest.mark.parametrize("case", sorted(BROKEN_PROFILES))
def test_check_fails_a_broken_static_profile_with_a_fix(tmp_path, capsys, case):
    profiles, reason = BROKEN_PROFILES[case]
    config = write_config(tmp_path, f"c.JobSpawner.profiles = {profiles}\n")
    assert main(["check", "-f", config]) == 1
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if x.startswith("[FAIL] c.JobSpawner.profiles:"))
    assert reason in line
    after = out.splitlines()[out.splitlines().index(line) + 1]
    assert after.strip().startswith("fix: ") and "docs/profiles.md" in after


def test_check_calls_a_profiles_callable_for_the_user(tmp_path, capsys):
    body = """
        def profiles(spawner):
            if spawner.user.name == "alice":
                return [{"slug": "gpu", "overrides": {"req_gpus": 1, "req_qeue": "gpu"}}]
            return [{"slug": "cpu"}]
        c.JobSpawner.profiles = profiles
    """
    config = write_config(tmp_path, body)
    assert main(["check", "-f", config, "--user", "alice"]) == 1
    out = capsys.readouterr().out
    assert "[FAIL] c.JobSpawner.profiles: c.JobSpawner.profiles[gpu]: 'req_qeue'" in out
    assert main(["check", "-f", config, "--user", "bob", "-v"]) == 0
    assert "[ok  ] c.JobSpawner.profiles: 1 profile(s) parse for user bob" in (
        capsys.readouterr().out
    )


def test_check_reports_a_profiles_callable_that_raises(tmp_path, capsys):
    body = """
        def profiles(spawner):
            raise LookupError("no such group table")
        c.JobSpawner.profiles = profiles
    """
    assert main(["check", "-f", write_config(tmp_path, body), "--user", "bob"]) == 1
    out = capsys.readouterr().out
    assert "[FAIL] c.JobSpawner.profiles: the callable failed for user bob: LookupError" in out


@pytest.mark.parametrize(
    ("settings", "level", "expected"),
    [
        ('c.JobSpawner.req_queue = "gpu"', "FAIL",
         "c.JobSpawner.req_queue: 'gpu' is not a queue of this cluster (short, long)"),
        ('c.JobSpawner.req_runtime = "2h"', "FAIL",
         "c.JobSpawner.req_runtime: 02:00:00 is more than the limit of queue 'short' (01:00:00)"),
        ('c.JobSpawner.req_runtime = "30m"\nc.JobSpawner.req_memory = "8G"', "WARN",
         "c.JobSpawner.req_memory: 8192 MiB is more than the 4096 MiB per node queue 'short'"),
    ],
)  # fmt: skip
def test_check_compares_the_requests_with_the_queues_the_scheduler_reports(
    tmp_path, capsys, settings, level, expected
):
    body = f'c.JobSpawner.plugins = ["core.site_plugins.two_queues"]\n{settings}\n'
    status = main(["check", "-f", write_config(tmp_path, body)])
    out = capsys.readouterr().out
    assert f"[{level}] {expected}" in out
    assert status == (1 if level == "FAIL" else 0)
    assert "fix: " in out.split(expected, 1)[1].splitlines()[1]


def test_check_passes_requests_that_fit_the_queue(tmp_path, capsys):
    body = """
        c.JobSpawner.plugins = ["core.site_plugins.two_queues"]
        c.JobSpawner.req_queue = "long"
        c.JobSpawner.req_runtime = "2h"
    """
    assert main(["check", "-f", write_config(tmp_path, body)]) == 0
    assert "queue" not in "".join(
        line for line in capsys.readouterr().out.splitlines() if line.startswith("[FAIL]")
    )


@pytest.mark.parametrize(
    ("hub", "fails"),
    [("", True), ('c.JupyterHub.hub_connect_ip = "10.0.0.5"', False),
     ('c.JupyterHub.hub_connect_url = "https://hub.example.org"', False)],
)  # fmt: skip
def test_check_fails_a_hub_address_compute_nodes_cannot_reach(tmp_path, capsys, hub, fails):
    # lsf: any backend whose jobs run on other hosts (its commands are not installed here)
    body = f'c.JobSpawner.backend = "lsf"\nc.JobSpawner.backend_options = {{}}\n{hub}\n'
    main(["check", "-f", write_config(tmp_path, body), "-v"])
    out = capsys.readouterr().out
    line = "[FAIL] c.JupyterHub.hub_connect_ip: jobs get JUPYTERHUB_API_URL=http://127.0.0.1:8081"
    assert (line in out) is fails
    assert ("[ok  ] hub address: jobs reach the hub's API at" in out) is not fails


def test_check_local_backend_needs_no_hub_connect_ip(tmp_path, capsys):
    main(["check", "-f", write_config(tmp_path, "")])
    assert "hub_connect_ip" not in capsys.readouterr().out


def test_check_reads_a_config_that_imports_batchspawner_where_it_is_not_installed(
    monkeypatch, capsys
):
    # before: ModuleNotFoundError at the import, and nothing else was checked
    import sys

    from jobspawner.cli import hubconfig

    monkeypatch.setattr(hubconfig, "_installed", lambda package: False)
    for name in [m for m in sys.modules if m.split(".")[0] in ("batchspawner", "wrapspawner")]:
        monkeypatch.delitem(sys.modules, name)
    corpus = Path(__file__).parent / "broken_configs" / "batchspawner_slurm_readme.py"
    assert main(["check", "-f", str(corpus), "--user", "root"]) == 1
    out = capsys.readouterr().out
    assert "ModuleNotFoundError" not in out
    assert "[FAIL] config: imports batchspawner, which jobspawner replaces" in out
    assert (
        "fix: c.JupyterHub.spawner_class = 'jobspawner' and c.JobSpawner.backend = 'slurm'" in out
    )
    assert "[FAIL] c.BatchSpawnerBase.req_nprocs:" in out
    for name in [m for m in sys.modules if m.split(".")[0] == "batchspawner"]:
        monkeypatch.delitem(sys.modules, name)
    _config, replaced = hubconfig.load_config_with_leftovers(str(corpus))
    assert replaced == ["batchspawner"]
    assert "batchspawner" not in sys.modules  # the stand-in is gone after the load


def test_the_keepvars_fix_never_puts_exports_into_a_directive():
    from jobspawner.cli.leftovers import template_leftovers

    found = template_leftovers("#!/bin/bash\n#SBATCH --export={keepvars}\n{cmd}\n", "t")
    keep = next(f for f in found if "{keepvars}" in f.message)
    assert "remove it from `#SBATCH --export={keepvars}`" in keep.fix
    assert not keep.fix.startswith("write {{ env | exports }}")
    body = template_leftovers("#!/bin/bash\nexport {keepvars}\n", "t")
    assert body[0].fix == "write {{ env | exports }}"  # outside a directive: the variable


def test_render_template_prints_the_backend_s_template_unrendered(capsys):
    assert main(["render", "--backend", "local", "--template"]) == 0
    out = capsys.readouterr().out
    assert "{{" in out and "{%" in out  # Jinja2, not a rendered script
    assert main(["render", "--backend", "local"]) == 0
    assert "{%" not in capsys.readouterr().out
