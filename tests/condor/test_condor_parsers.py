"""The pure hooks and parsers of the condor backend, on recorded HTCondor output."""

from __future__ import annotations

import pytest
from condor.condorkit import fixture
from jobspawner import Command, CommandError, CommandResult, JobSpec, JobState, JobStatus
from jobspawner.boundary import user_files
from jobspawner.facade.backend import load_backend
from jobspawner.facade.templates import TemplateError
from jobspawner_condor import hooks, parsers


def result(stdout: str = "", returncode: int = 0, stderr: str = "") -> CommandResult:
    return CommandResult(Command(["condor_x"]), returncode, stdout, stderr)


IDS = [f"{c}.0" for c in range(101, 110)]


# --- condor_submit ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "job_id"),
    [
        ("submit-normal.txt", "6.0"),
        ("submit-with-log-line.txt", "2267.0"),
        ("submit-terse.txt", "15.0"),
    ],
)
def test_parse_submit_on_real_outputs(name: str, job_id: str) -> None:
    assert hooks.parse_submit(result(fixture(name))) == job_id


def test_parse_submit_verbose_form() -> None:
    out = '\n** Proc 42.0:\nArgs = ""\nClusterId = 42\nProcId = 0\n'
    assert hooks.parse_submit(result(out)) == "42.0"


def test_parse_submit_failure_carries_the_error() -> None:
    err = "\nERROR: Executable file /home/alice/x.sh does not exist\n"
    with pytest.raises(CommandError) as info:
        hooks.parse_submit(result("", 1, err))
    assert "does not exist" in str(info.value)
    assert "exited with status 1" in str(info.value)


def test_parse_submit_without_id_explains_what_was_expected() -> None:
    with pytest.raises(CommandError, match="job id"):
        hooks.parse_submit(result("Submitting job(s)\n"))


# --- condor_q / condor_history -json ------------------------------------------------------------


def test_empty_json_output_means_no_job_matched() -> None:
    assert hooks.parse_status(IDS, result("")) == {}
    assert hooks.parse_history(IDS, result("")) == {}


def test_failed_query_raises() -> None:
    err = "Error: Couldn't contact the condor_collector on vm.\n"
    with pytest.raises(CommandError):
        hooks.parse_status(IDS, result("", 1, err))
    with pytest.raises(CommandError):
        hooks.parse_status(IDS, result("-- Failed to fetch ads from: <127.0.0.1:9618>\n"))
    with pytest.raises(CommandError):
        hooks.parse_status(IDS, result('[\n{\n  "ClusterId": 1,\n'))


def test_all_seven_job_states() -> None:
    found = hooks.parse_status(IDS, result(fixture("q-json-all-states.json")))
    s = {k: (v.state, v.native_state) for k, v in found.items()}
    assert s == {
        "101.0": (JobState.PENDING, "1"),
        "102.0": (JobState.RUNNING, "2"),
        "103.0": (JobState.CANCELLED, "3"),
        "104.0": (JobState.DONE, "4"),
        "105.0": (JobState.HELD, "5"),
        "106.0": (JobState.RUNNING, "6"),
        "107.0": (JobState.SUSPENDED, "7"),
        "108.0": (JobState.FAILED, "4"),
        "109.0": (JobState.FAILED, "4"),
    }
    assert not JobState.HELD.finished and JobState.HELD.active


def test_details_of_each_state() -> None:
    found = hooks.parse_status(IDS, result(fixture("q-json-all-states.json")))
    assert found["101.0"].reason == "no match found"
    assert found["101.0"].host is None
    assert found["101.0"].extra["request_memory_mb"] == "65536"
    # the host is the machine part of the (dynamic) slot name
    assert found["102.0"].host == "a-001.chtc.wisc.edu"
    assert found["107.0"].host == "aci-001.chtc.wisc.edu"
    assert found["103.0"].reason == "via condor_rm (by user bob)"
    assert found["104.0"].exit_code == 0
    assert found["104.0"].host == "a-002.chtc.wisc.edu"
    assert found["105.0"].reason.startswith("Error from slot1_3@a-001.chtc.wisc.edu: Failed")
    assert found["105.0"].extra["hold_reason_code"] == "7"
    assert found["108.0"].exit_code == 3
    assert found["109.0"].exit_code is None
    assert found["109.0"].reason == "killed by signal 9"


def test_only_asked_ids_are_returned() -> None:
    found = hooks.parse_status(["102.0", "999.0"], result(fixture("q-json-all-states.json")))
    assert list(found) == ["102.0"]


def test_odd_ads_are_skipped() -> None:
    out = '[\n{\n  "ClusterId": 5\n}\n,\n{\n  "ClusterId": 6,\n  "ProcId": 0,\n  "JobStatus": 99\n}\n,\n{\n  "ClusterId": 7,\n  "ProcId": 0,\n  "JobStatus": "2",\n  "RemoteHost": "\\/Expr(x)\\/"\n}\n]\n'  # noqa: E501
    found = hooks.parse_status(["5.0", "6.0", "7.0"], result(out))
    assert list(found) == ["7.0"]
    assert found["7.0"].state is JobState.RUNNING and found["7.0"].host is None


@pytest.mark.parametrize(
    ("slot", "host"),
    [
        ("slot1_2@a-001.chtc.wisc.edu", "a-001.chtc.wisc.edu"),
        ("slot1@INFO.wisc.edu", "INFO.wisc.edu"),
        ("vm", "vm"),
        ("", None),
        (None, None),
    ],
)
def test_host_of_slot_names(slot: str | None, host: str | None) -> None:
    assert parsers.host_of(slot) == host


def test_slot_names_of_the_real_analyze_output_parse() -> None:
    names = [
        line.split()[0]
        for line in fixture("q-analyze-slots.txt").splitlines()
        if line.startswith("slot")
    ]
    assert len(names) == 9
    assert all(parsers.host_of(n) and "@" not in parsers.host_of(n) for n in names)


# --- commands ------------------------------------------------------------------------------


def test_status_command_is_one_call_for_all_jobs() -> None:
    cmd = hooks.status_command(["1.0", "2.0", "3.0"], {"condor_q": "/opt/condor/bin/condor_q"})
    assert cmd.argv[0] == "/opt/condor/bin/condor_q"
    assert "-json" in cmd.argv and "-allusers" in cmd.argv
    assert cmd.argv[-3:] == ("1.0", "2.0", "3.0")
    attrs = cmd.argv[cmd.argv.index("-attributes") + 1].split(",")
    assert {"JobStatus", "HoldReason", "RemoteHost", "LastRejMatchReason"} <= set(attrs)


def test_history_command_is_bounded() -> None:
    cmd = hooks.history_command(["7.0", "8.1"], {"history_scanlimit": 5000})
    argv = list(cmd.argv)
    assert argv[argv.index("-limit") + 1] == "2"
    assert argv[argv.index("-scanlimit") + 1] == "5000"
    assert argv[argv.index("-constraint") + 1] == (
        "(ClusterId == 7 && ProcId == 0) || (ClusterId == 8 && ProcId == 1)"
    )


def test_condor_rm_answers() -> None:
    out = "Job 7.0 marked for removal\n"
    err = (
        "\nJob 8.0 not found\nJob 9.0 already marked for removal\n"
        "Permission denied to remove job 10.0\nNo result found for job 11.0\n"
    )
    assert parsers.removed_by_rm(result(out, 1, err)) == {"7.0", "8.0", "9.0"}
    constraint = "All jobs in cluster 42 have been marked for removal\n"
    assert parsers.removed_by_rm(result(constraint)) == set()


def test_cancel_command() -> None:
    assert hooks.cancel_command(["7.0", "8.0"], {}).argv == ("condor_rm", "7.0", "8.0")


# --- describing -----------------------------------------------------------------------------


def test_describe_idle_says_why() -> None:
    found = hooks.parse_status(IDS, result(fixture("q-json-all-states.json")))
    text = hooks.describe_status(found["101.0"])
    assert "no machine in the pool can take it" in text
    assert "4 CPUs, 65536 MiB of memory" in text
    fresh = JobStatus(JobState.PENDING, native_state="1")
    assert "waiting for the negotiator" in hooks.describe_status(fresh)
    other = JobStatus(JobState.PENDING, native_state="1", reason="insufficient priority")
    assert "higher priority" in hooks.describe_status(other)
    odd = JobStatus(JobState.PENDING, native_state="1", reason="something new")
    assert "something new" in hooks.describe_status(odd)


def test_describe_held_shows_hold_reason() -> None:
    found = hooks.parse_status(IDS, result(fixture("q-json-all-states.json")))
    text = hooks.describe_status(found["105.0"])
    assert text.startswith("Your job is on hold: Error from slot1_3@a-001.chtc.wisc.edu: Failed")
    assert "Permission denied (errno 13). Its output file could not be opened;" in text
    assert text.endswith("stop this server to remove it.")


def test_describe_removed_by_policy() -> None:
    status = JobStatus(
        JobState.CANCELLED,
        native_state="3",
        reason="The job attribute PeriodicRemove expression 'x' evaluated to TRUE",
    )
    assert "run-time policy" in hooks.describe_status(status)


def test_describe_falls_back_to_generic() -> None:
    running = JobStatus(JobState.RUNNING, native_state="2", host="node1")
    assert "running on node1" in hooks.describe_status(running)


# --- resources -------------------------------------------------------------------------------


def test_resources_from_slots() -> None:
    queues = hooks.parse_resources([result(fixture("status-json-slots.json"))], {})
    pool, *machines = queues
    assert pool.name == "pool" and pool.default and pool.nodes == 2
    assert pool.total_cpus == 34 and pool.idle_cpus == 25
    assert [m.name for m in machines] == ["INFO.wisc.edu", "a-001.chtc.wisc.edu"]
    big = machines[1]
    assert (big.cpus_per_node, big.memory_per_node_mb, big.gpus_per_node) == (32, 128000, 2)
    assert big.idle_cpus == 24 and big.node_states == {"Unclaimed": 1, "Claimed": 1}
    assert machines[0].idle_cpus == 1 and machines[0].gpus_per_node is None
    assert hooks.parse_resources([result("")], {}) == []


# --- rendering -----------------------------------------------------------------------------


def spec(**variables: object) -> JobSpec:
    """A spec built like the spawner's (JobSpec.create); ``variables`` override any."""
    options = variables.pop("options", {})
    return JobSpec.create(
        username="alice",
        server_name="gpu",
        job_name="jupyter-alice-gpu",
        output_file="/home/alice/.jobspawner/logs/jupyter-alice-gpu.1.log",
        workdir="/home/alice",
        command=["/opt/env/bin/jobspawner-singleuser", "--debug"],
        env={"JUPYTERHUB_API_TOKEN": "s3cret", "JUPYTERHUB_SERVER_NAME": "gpu"},
        options=options,  # type: ignore[arg-type]
        variables=variables,
    )


def test_minimal_description_leaves_unset_lines_out() -> None:
    text = hooks.render_description(spec())
    keys = [line.split("=")[0].strip() for line in text.splitlines() if "=" in line]
    assert keys == [
        "universe",
        "executable",
        "initialdir",
        "output",
        "error",
        "log",
        "batch_name",
        "+JobspawnerUser",
        "+JobspawnerServerName",
        "should_transfer_files",
    ]
    assert "executable = /home/alice/.jobspawner/logs/jupyter-alice-gpu.1.condor.sh" in text
    assert "log = /home/alice/.jobspawner/logs/jupyter-alice-gpu.1.condor.log" in text
    assert text.rstrip().endswith("\nqueue")
    assert "s3cret" not in text  # the token stays in the 0700 script, out of the ClassAd


def test_full_description() -> None:
    text = hooks.render_description(
        spec(
            cpus=4,
            memory_mb=8192,
            gpus=1,
            gpu_type="A100",
            disk_mb=2048,
            runtime_s=3600,
            account="group_physics",
            constraint="HasAVX2",
            options={
                "requirements": 'OpSys == "LINUX"',
                "getenv": "false",
                "environment": {"SITE": "a b"},
                "arguments": ["x y"],
                "submit_lines": ['+ProjectName = "jupyter"'],
                "should_transfer_files": "if_needed",
            },
        )
    )
    for line in [
        "request_cpus = 4",
        "request_memory = 8192",
        "request_gpus = 1",
        'require_gpus = DeviceName == "A100"',
        "request_disk = 2048M",
        "+MaxRuntime = 3600",
        "periodic_remove = (JobStatus == 2) && ((time() - EnteredCurrentStatus) > 3600)",
        "accounting_group = group_physics",
        'requirements = (OpSys == "LINUX") && (HasAVX2)',
        "getenv = false",
        "environment = \"SITE='a b'\"",
        "arguments = \"'x y'\"",
        "should_transfer_files = IF_NEEDED",
        "stream_output = True",
        '+ProjectName = "jupyter"',
    ]:
        assert line in text.splitlines(), line


def test_site_description_override_and_line_break_refused() -> None:
    site = "executable = {{ condor.executable }}\nrequest_memory = {{ memory_mb or 1024 }}\nqueue\n"
    text = hooks.render_description(spec(options={"submit_description": site}))
    assert text.splitlines()[1] == "request_memory = 1024"
    with pytest.raises(TemplateError):
        hooks.render_description(spec(options={"submit_lines": ["a = 1\nqueue 100"]}))


def test_job_script() -> None:
    s = spec(prologue="module load python", epilogue="echo done")
    text = hooks.SCRIPT_TEMPLATE
    from jobspawner.facade.templates import render

    script = render(text, s.variables)
    assert script.startswith("#!/bin/bash\n")
    assert "cd /home/alice\n" in script
    assert "s3cret" not in script and "export JOBSPAWNER_SECRETS_FILE=" in script
    assert "module load python\n/opt/env/bin/jobspawner-singleuser --debug &" in script
    assert script.index("--debug &") < script.index("echo done")
    plain = render(text, spec().variables)
    assert "exec /opt/env/bin/jobspawner-singleuser --debug" in plain


def test_backend_loads_with_its_hooks() -> None:
    backend = load_backend("condor")
    for hook in (
        "prepare_commands",
        "status_command",
        "parse_history",
        "describe_status",
        "parse_resources",
    ):
        assert backend.implemented(hook), hook
    for action in ("submit", "query_status", "cancel"):  # pure hooks only: the core acts
        assert not backend.implemented(action), action
    prepare = backend.prepare_commands(spec(), "#!/bin/bash\necho $1\n")
    # the output file, the script, the secrets: each created the one way (user_files)
    assert all(user_files.is_create(c) for c in prepare) and len(prepare) == 3
    paths = [user_files.created_path(c) for c in prepare]
    assert paths[0] == spec().output_file
    assert paths[1].endswith(".condor.sh") and prepare[1].argv[-1] == "700"
    assert prepare[1].stdin == "#!/bin/bash\necho $1\n"
    assert paths[2].endswith(".secrets") and prepare[2].argv[-1] == "600"
    command = backend.submit_command(spec(), "#!/bin/bash\n")
    assert command.argv == ("condor_submit", "-terse", "-")
    assert command.stdin and command.stdin.startswith("# jobspawner HTCondor submit description")
    write = hooks.write_script_command(spec(), "#!/bin/bash\necho $1\n")
    assert user_files.is_create(write)
    assert user_files.created_path(write).endswith(".condor.sh")
    assert write.stdin == "#!/bin/bash\necho $1\n"
