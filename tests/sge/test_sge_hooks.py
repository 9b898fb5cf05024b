"""The backend's pure hooks through the core's loader: template, commands, parsers, words."""

from __future__ import annotations

import pytest
from jobspawner import Command, CommandError, CommandResult, JobSpec, JobState, JobStatus
from jobspawner.facade.backend import Backend, load_backend

from sge.sgekit import FIXTURES, make_spec


@pytest.fixture(scope="module")
def backend() -> Backend:
    return load_backend("sge")


def render(backend: Backend, spec: JobSpec) -> str:
    return backend.render_script(spec, backend.script_template(spec) or "")


def directives(script: str) -> list[str]:
    return [line for line in script.splitlines() if line.startswith("#$")]


def result(cmd: Command, rc: int, out: str = "", err: str = "") -> CommandResult:
    return CommandResult(cmd, rc, out, err)


# --- template ------------------------------------------------------------------------------


def test_template_minimal_leaves_unset_directives_out(backend: Backend) -> None:
    script = render(backend, make_spec())
    assert script.startswith("#!/bin/bash\n")
    assert directives(script) == [
        "#$ -N jupyter-alice",
        "#$ -S /bin/bash",
        "#$ -o /home/alice/.jobspawner/logs/j.log",
        "#$ -j y",
        "#$ -wd /home/alice",
        "#$ -r n",
    ]
    assert "cd /home/alice\n" in script
    assert "=abc" not in script and "export JOBSPAWNER_SECRETS_FILE=" in script
    assert script.rstrip().endswith("exec /opt/env/bin/jobspawner-singleuser --debug")
    for flag in ("-q", "-l", "-pe", "-P", "-ar", "-V"):
        assert not any(d.split()[1] == flag for d in directives(script)), flag


def test_template_every_resource(backend: Backend) -> None:
    spec = make_spec(
        queue="long.q",
        account="proj1",
        reservation="17",
        runtime="02:00:00",
        runtime_s=7200,
        memory_mb=4096,
        cpus=4,
        gpus=2,
        gpu_type="a100",
        constraint="bigmem,ssd",  # features only: a resource list is refused (issue #10)
        disk_mb=100,
        options={"gpu_type_resource": "gpu_model", "disk_resource": "tmp_free"},
    )
    ds = directives(render(backend, spec))
    for line in [
        "#$ -q long.q",
        "#$ -l h_rt=02:00:00",
        "#$ -pe smp 4",
        "#$ -l h_vmem=1024M",  # h_vmem is per slot: 4096 MiB over 4 slots
        "#$ -l gpu=2",
        "#$ -l gpu_model=a100",
        "#$ -l tmp_free=100M",
        "#$ -l bigmem=TRUE,ssd=TRUE",
        "#$ -P proj1",
        "#$ -ar 17",
    ]:
        assert line in ds, line


def test_template_options(backend: Backend) -> None:
    spec = make_spec(
        memory_mb=3000,
        cpus=2,
        gpus=1,
        options={
            "pe": "mpi",
            "memory_resource": "mem_free",
            "memory_per_job": True,
            "gpu_resource": "cuda",
            "export_env": True,
            "directives": ["-l scratch=1", "-m n"],
        },
    )
    ds = directives(render(backend, spec))
    assert "#$ -pe mpi 2" in ds and "#$ -l mem_free=3000M" in ds and "#$ -l cuda=1" in ds
    assert "#$ -V" in ds and "#$ -l scratch=1" in ds and "#$ -m n" in ds


def test_template_memory_rounds_up_per_slot_and_can_be_off(backend: Backend) -> None:
    ds = directives(render(backend, make_spec(memory_mb=1001, cpus=2)))
    assert "#$ -l h_vmem=501M" in ds
    ds = directives(render(backend, make_spec(memory_mb=1000, options={"memory_resource": ""})))
    assert not any("vmem" in d for d in ds)
    ds = directives(render(backend, make_spec(cpus=2, options={"pe": ""})))
    assert not any("-pe" in d for d in ds)


def test_template_zero_gpus_left_out(backend: Backend) -> None:
    assert not any("gpu" in d for d in directives(render(backend, make_spec(gpus=0))))


def test_template_prologue_epilogue(backend: Backend) -> None:
    script = render(backend, make_spec(prologue="module load python", epilogue="echo done >&2"))
    body = script.split("cd /home/alice\n", 1)[1]
    assert body.index("module load python") < body.index("jobspawner-singleuser")
    server = body.index("/opt/env/bin/jobspawner-singleuser --debug &\n")
    assert server < body.index("echo done >&2\nexit $rc\n")
    assert "exec " not in body


def test_template_quotes_values(backend: Backend) -> None:
    script = render(backend, make_spec(workdir="/home/alice/my dir", command=["a b", "c"]))
    assert "cd '/home/alice/my dir'" in script and "exec 'a b' c" in script


# --- submit --------------------------------------------------------------------------------


def test_submit_command(backend: Backend) -> None:
    spec = make_spec(
        options={"sge_root": "/opt/sge", "sge_cell": "c1", "qsub": "/opt/sge/bin/qsub"}
    )
    cmd = backend.submit_command(spec, "#!/bin/bash\n")
    assert cmd.argv == ("/opt/sge/bin/qsub", "-terse")
    assert cmd.stdin == "#!/bin/bash\n"
    assert cmd.env == {"SGE_ROOT": "/opt/sge", "SGE_CELL": "c1"}


def test_submit_command_fixes_job_name(backend: Backend) -> None:
    cmd = backend.submit_command(make_spec(job_name="123DemoSGEApp"), "")
    assert cmd.argv == ("qsub", "-terse", "-N", "j123DemoSGEApp")


def test_parse_submit(backend: Backend) -> None:
    spec = make_spec()
    cmd = backend.submit_command(spec, "")
    assert backend.parse_submit(result(cmd, 0, "341683\n"), spec) == "341683"
    assert (
        backend.parse_submit(result(cmd, 0, 'Your job 341683 ("STDIN") has been submitted'), spec)
        == "341683"
    )
    with pytest.raises(CommandError, match="printed no job id"):
        backend.parse_submit(result(cmd, 0, "\n"), spec)
    # the sample: a name starting with a digit, refused
    err = (
        'Unable to run job: denied: "123DemoSGEApp" is not a valid object name (cannot start '
        "with a digit).\nExiting.\n"
    )
    with pytest.raises(CommandError, match="cannot start with a digit") as e:
        backend.parse_submit(result(cmd, 1, "", err), spec)
    assert "refused the job" in str(e.value)


# --- status --------------------------------------------------------------------------------


def test_status_command(backend: Backend) -> None:
    assert backend.status_command(["1", "2"], {}).argv == ("qstat", "-xml", "-u", "*")
    cmd = backend.status_command(["1"], {"status_users": ["alice", "bob"], "sge_root": "/x"})
    assert cmd.argv == ("qstat", "-xml", "-u", "alice,bob") and cmd.env == {"SGE_ROOT": "/x"}


def test_parse_status_filters_ids(backend: Backend) -> None:
    cmd = backend.status_command(["9"], {})
    text = (FIXTURES / "soge-qstat-xml-r-s-qw-Eqw-hqw.xml").read_text()
    found = backend.parse_status(["9", "4", "77"], result(cmd, 0, text), {})
    assert set(found) == {"9", "4"}
    assert found["9"].state is JobState.RUNNING and found["9"].host == "vm"
    assert found["4"].state is JobState.PENDING


def test_parse_status_failed_query_raises(backend: Backend) -> None:
    cmd = backend.status_command(["9"], {})
    err = (
        "error: commlib error: got select error (Connection refused)\n"
        'error: unable to send message to qmaster using port 6444 on host "vm": got send error\n'
    )
    with pytest.raises(CommandError, match="did not answer"):
        backend.parse_status(["9"], result(cmd, 1, "", err), {})
    with pytest.raises(CommandError, match="no readable XML"):
        backend.parse_status(["9"], result(cmd, 0, "garbage"), {})


def test_history_command(backend: Backend) -> None:
    assert backend.history_command(["7"], {}).argv == ("qacct", "-j", "7")
    cmds = backend.history_commands(["7", "8", "x;rm"], {"qacct": "/usr/bin/qacct"})
    assert [c.argv for c in cmds] == [("/usr/bin/qacct", "-j", "7"), ("/usr/bin/qacct", "-j", "8")]
    assert backend.history_command(["7"], {"use_qacct": False}) is None


def test_parse_history(backend: Backend) -> None:
    cmd = backend.history_command(["12"], {})
    text = (FIXTURES / "soge-qacct-exit3.txt").read_text()
    found = backend.parse_history(["12"], result(cmd, 0, text), {})
    assert found["12"].state is JobState.FAILED and found["12"].exit_code == 3
    assert backend.parse_history(["5"], result(cmd, 1, "", "error: job id 5 not found\n"), {}) == {}


def test_cancel_command(backend: Backend) -> None:
    assert backend.cancel_command(["1", "2"], {"qdel": "/x/qdel"}).argv == ("/x/qdel", "1", "2")


# --- words ---------------------------------------------------------------------------------


def test_describe_pe_slots(backend: Backend) -> None:
    status = JobStatus(
        JobState.PENDING,
        native_state="qw",
        reason='cannot run in PE "smp" because it only offers 0 slots',
    )
    text = backend.describe_status(status)
    assert text.startswith("Your job is waiting in the queue: not enough free CPU slots")


def test_describe_hold_and_error(backend: Backend) -> None:
    held = JobStatus(JobState.HELD, native_state="hqw", reason="Job is in hold state")
    assert "qhold" in backend.describe_status(held)
    failed = JobStatus(
        JobState.FAILED,
        native_state="Eqw",
        reason='can\'t open output file "/x": Permission denied',
    )
    text = backend.describe_status(failed)
    assert "could not start your job (state Eqw)" in text and "Permission denied" in text


def test_describe_fallbacks(backend: Backend) -> None:
    running = JobStatus(JobState.RUNNING, native_state="r", host="vm")
    assert "running on vm" in backend.describe_status(running)
    deleting = JobStatus(JobState.RUNNING, native_state="dr", host="vm")
    assert backend.describe_status(deleting) == "Your job is being deleted."
    odd = JobStatus(JobState.PENDING, native_state="qw", reason="something new")
    assert "something new" in backend.describe_status(odd)


# --- resources -----------------------------------------------------------------------------


def test_resources(backend: Backend) -> None:
    cmds = backend.resources_commands({})
    assert [c.argv for c in cmds] == [("qstat", "-g", "c"), ("qconf", "-sq", "*")]
    results = [
        result(cmds[0], 0, (FIXTURES / "soge-qstat-g-c.txt").read_text()),
        result(cmds[1], 0, (FIXTURES / "soge-qconf-sq-star.txt").read_text()),
    ]
    queues = backend.parse_resources(results, {"default_queue": "all.q"})
    assert [(q.name, q.default, q.max_time_s) for q in queues] == [
        ("all.q", True, None),
        ("long.q", False, 43200),
    ]
