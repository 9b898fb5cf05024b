"""The Slurm parsers on recorded outputs (samples from other projects and real 22.05 captures)."""

from __future__ import annotations

from datetime import datetime

import pytest
from jobspawner import CancelOutcome, Command, CommandError, CommandResult, JobState
from jobspawner.facade.backend import load_backend
from jobspawner_slurm import commands, parsers
from jobspawner_slurm.hostlist import expand, first_host
from jobspawner_slurm.states import COMPACT, STATES, normalise
from slurm.fixtures.recorded import RECORDED

CMD = Command(["slurm-command"])


def recorded(name: str) -> CommandResult:
    stdout, stderr, code, _source = RECORDED[name]
    return CommandResult(CMD, code, stdout, stderr)


def result(stdout: str = "", stderr: str = "", code: int = 0) -> CommandResult:
    return CommandResult(CMD, code, stdout, stderr)


@pytest.fixture(scope="module")
def backend():
    return load_backend("slurm")


# --- host lists ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hostlist", "first"),
    [
        ("node[01-03,07]", "node01"),
        ("nid0[0099,0156-0157,0162-0163]", "nid00099"),
        ("nid00[192,246,264-265]", "nid00192"),
        ("dev[9-12]", "dev9"),
        ("rosa10", "rosa10"),
        ("a1,b[2-3]", "a1"),
        ("r[1-2]n[01-02]", "r1n01"),
        ("n/a", None),
        ("", None),
        ("(Resources)", None),
        (None, None),
    ],
)
def test_first_host(hostlist, first):
    assert first_host(hostlist) == first


def test_expand_keeps_zero_padding_and_order():
    assert expand("node[08-10,01],gpu1") == ["node08", "node09", "node10", "node01", "gpu1"]
    assert expand("r[1-2]n[1-2]") == ["r1n1", "r1n2", "r2n1", "r2n2"]
    assert len(expand("n[1-1000000]", limit=5)) == 5


# --- states ----------------------------------------------------------------------------------


def test_every_compact_code_and_long_name_is_mapped():
    for code, name in COMPACT.items():
        assert name in STATES, name
        assert normalise(code) is STATES[name]
    for name, state in STATES.items():
        assert normalise(name) is state


@pytest.mark.parametrize(
    ("native", "reason", "state"),
    [
        ("PENDING", "Priority", JobState.PENDING),
        ("PD", "JobHeldUser", JobState.HELD),
        ("PENDING", "JobHeldAdmin", JobState.HELD),
        ("PENDING", "launch failed requeued held", JobState.HELD),
        ("SUSPENDED", None, JobState.SUSPENDED),
        ("ST", None, JobState.SUSPENDED),
        ("CANCELLED by 1000", None, JobState.CANCELLED),
        ("CANCELLED+", None, JobState.CANCELLED),
        ("TIMEOUT", None, JobState.FAILED),
        ("OUT_OF_MEMORY", None, JobState.FAILED),
        ("NODE_FAIL", None, JobState.FAILED),
        ("PREEMPTED", None, JobState.CANCELLED),
        ("COMPLETING", None, JobState.RUNNING),
        ("CG", None, JobState.RUNNING),
        ("CONFIGURING", None, JobState.PENDING),
        ("SOMETHING_NEW", None, JobState.UNKNOWN),
    ],
)
def test_normalise(native, reason, state):
    assert normalise(native, reason) is state


def test_held_and_suspended_are_not_finished():
    assert not normalise("PD", "JobHeldUser").finished
    assert not normalise("S").finished
    assert not normalise("STOPPED").finished


# --- values ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("2-00:00:00", 172800),
        ("2:00:00", 7200),
        ("30:00", 1800),
        ("5", 300),
        ("1-12", 129600),
        ("1-00:30", 88200),
        ("48:00:00", 172800),
        ("UNLIMITED", None),
        ("INFINITE", None),
        ("n/a", None),
        ("NONE", None),
    ],
)
def test_parse_duration(text, seconds):
    assert parsers.parse_duration(text) == seconds


@pytest.mark.parametrize(
    ("raw", "code", "sig"),
    [("0", 0, 0), ("768", 3, 0), ("1792", 7, 0), ("9", 0, 9), ("15", 0, 15), ("1:0", 1, 0)],
)
def test_decode_wait_status(raw, code, sig):
    assert parsers.decode_wait_status(raw) == (code, sig)
    assert parsers.decode_wait_status("x") == (None, None)


# --- sbatch ----------------------------------------------------------------------------------


def test_parse_sbatch_parsable_forms(backend):
    assert parsers.parse_sbatch(recorded("sbatch_parsable")) == "12345"
    assert parsers.parse_sbatch(recorded("real_sbatch_parsable")) == "26"
    assert parsers.parse_sbatch(result("630114;mpp2\n")) == "630114;mpp2"
    # a site's job_submit plugin may print a message before the id
    assert parsers.parse_sbatch(result("Your job uses the default QOS\n77\n")) == "77"
    # the cluster the script asked for is kept even if sbatch does not repeat it
    assert parsers.parse_sbatch(result("88\n"), cluster="mpp2") == "88;mpp2"


def test_parse_sbatch_plain_forms():
    assert parsers.parse_sbatch(recorded("sbatch_submitted")) == "123"
    assert parsers.parse_sbatch(recorded("sbatch_submitted_on_cluster")) == "630114;mpp2"


def test_parse_sbatch_errors_say_what_happened():
    with pytest.raises(CommandError, match="Invalid account"):
        parsers.parse_sbatch(recorded("sbatch_invalid_account"))
    with pytest.raises(CommandError, match="no job id"):
        parsers.parse_sbatch(result("something else\n"))
    with pytest.raises(CommandError):
        parsers.parse_sbatch(result(""))


# --- squeue ----------------------------------------------------------------------------------


def test_squeue_command_batches_and_duplicates_a_lone_id():
    many = commands.squeue_command(["5", "6", "7"], {})
    assert many.argv[:3] == ("squeue", "--noheader", "--states=all")
    assert "--jobs=5,6,7" in many.argv
    assert many.env["SLURM_TIME_FORMAT"] == "standard"
    one = commands.squeue_command(["5"], {"squeue": "/opt/slurm/bin/squeue"})
    assert one.argv[0] == "/opt/slurm/bin/squeue"
    assert "--jobs=5,5" in one.argv


def test_squeue_command_clusters():
    cmd = commands.squeue_command(["5;a", "6;b"], {})
    assert "--clusters=a,b" in cmd.argv and "--jobs=5,6" in cmd.argv
    assert "--clusters=all" in commands.squeue_command(["5;a", "6"], {}).argv
    assert not any(a.startswith("--clusters") for a in commands.squeue_command(["5"], {}).argv)


def test_real_squeue_every_state():
    """Recorded with the format of the time: the first eight columns (EndTime and Cluster
    were asked for later), so it is parsed with those."""
    ids = [str(i) for i in range(14, 26)] + ["99999"]
    fields = commands.SQUEUE_FIELDS[: commands.SQUEUE_FIELDS.index("endtime")]
    found = parsers.parse_squeue(ids, recorded("real_squeue_many_states"), fields)
    assert "99999" not in found  # unknown ids are left out (vanished/history)
    s = found["14"]
    assert (s.state, s.host, s.native_state) == (JobState.RUNNING, "vm", "RUNNING")
    assert s.extra["partition"] == "debug"
    assert found["15"].state is JobState.SUSPENDED
    pending = found["16"]
    assert pending.state is JobState.PENDING and pending.reason == "Resources"
    assert pending.expected_start == datetime(2026, 11, 22, 18, 59, 55)
    assert pending.host is None
    assert (found["17"].state, found["17"].reason) == (JobState.HELD, "JobHeldUser")
    assert (found["24"].state, found["24"].reason) == (JobState.HELD, "JobHeldAdmin")
    assert (found["18"].state, found["18"].reason) == (JobState.PENDING, "PartitionDown")
    assert found["18"].extra["partition"] == "closed"
    assert found["19"].reason == "BeginTime" and found["19"].expected_start is not None
    assert found["20"].reason == "Dependency" and found["20"].expected_start is None
    done = found["21"]
    assert (done.state, done.exit_code) == (JobState.DONE, 0)
    failed = found["22"]
    assert (failed.state, failed.exit_code, failed.reason) == (
        JobState.FAILED,
        7,
        "NonZeroExitCode",
    )
    killed = found["23"]
    assert (killed.state, killed.exit_code, killed.extra["signal"]) == (JobState.FAILED, 137, "9")
    assert found["25"].state is JobState.CANCELLED


def test_squeue_single_unknown_id_is_not_a_failure(backend):
    for name in ("squeue_single_unknown", "real_squeue_single_unknown"):
        assert backend.parse_status(["123"], recorded(name), {}) == {}


def test_squeue_empty_output_means_not_listed(backend):
    assert backend.parse_status(["1", "2"], result(""), {}) == {}


@pytest.mark.parametrize(
    "stderr",
    [
        "slurm_load_jobs error: Unable to contact slurm controller (connect failure)\n",
        "slurm_load_jobs error: Socket timed out on send/recv operation\n",
        "squeue: error: some new failure\n",
    ],
)
def test_squeue_failures_raise(backend, stderr):
    with pytest.raises(CommandError, match="could not list"):
        backend.parse_status(["1", "2"], result("", stderr, 1), {})


def test_squeue_odd_lines_are_skipped(backend):
    text = "garbage\n\n7|RUNNING|None|0|vm|vm|2026-01-01T00:00:00|debug|||\n|||\n8|PEND\n"
    found = backend.parse_status(["7", "8"], result(text), {})
    assert list(found) == ["7"]


def test_squeue_multi_cluster_sections(backend):
    text = (
        "CLUSTER: a\n5|RUNNING|None|0|n1|n1|2026-01-01T00:00:00|p|||\n"
        "CLUSTER: b\n5|PENDING|Priority|0|n/a||N/A|p|||\n"
    )
    found = backend.parse_status(["5;a", "5;b"], result(text), {})
    assert found["5;a"].state is JobState.RUNNING and found["5;a"].host == "n1"
    assert found["5;b"].state is JobState.PENDING


def test_squeue_rows_name_their_cluster_as_real_multi_cluster_squeue_prints_them(backend):
    """``squeue --noheader --clusters=all`` on the two test clusters (Slurm 22.05.8): no
    "CLUSTER:" lines, both jobs numbered 3; only the Cluster column tells them apart.
    (Recorded before EndTime was asked for: its column is left empty here.)"""
    text = (
        "3|RUNNING|None|0|vm|vm|2026-12-07T06:31:04|debug||jobspawner|\n"
        "3|PENDING|Priority|0|n/a||N/A|debug||jobspawner2|\n"
    )
    assert "--Format=" + commands.SQUEUE_FORMAT in " ".join(
        backend.status_command(["3", "3;jobspawner2"], {}).argv
    )
    assert "Cluster:|" in commands.SQUEUE_FORMAT.split(",")
    found = backend.parse_status(["3", "3;jobspawner2"], result(text), {})
    assert found["3"].state is JobState.RUNNING
    assert found["3;jobspawner2"].state is JobState.PENDING


def test_squeue_unchanged_lines_are_parsed_once_and_changed_lines_anew(backend, monkeypatch):
    """A status round of many jobs re-reads mostly the same lines: each distinct line is
    parsed once, and a job whose line changed (it ended) gets its new status."""
    parsers._squeue_line.cache_clear()
    parsed: list[str] = []
    real = parsers.squeue_status

    def counting(row):
        parsed.append(row["jobid"])
        return real(row)

    monkeypatch.setattr(parsers, "squeue_status", counting)
    lines = {
        "41": "41|RUNNING|None|0|n1|n1|2026-01-01T00:00:00|p|||",
        "42": "42|PENDING|Priority|0|n/a||N/A|p|||",
    }
    first = backend.parse_status(["41", "42"], result("\n".join(lines.values())), {})
    again = backend.parse_status(["41", "42"], result("\n".join(lines.values())), {})
    assert sorted(parsed) == ["41", "42"]  # the second round parsed nothing
    assert again == first and first["41"].host == "n1" and first["42"].state is JobState.PENDING
    lines["41"] = "41|FAILED|NonZeroExitCode|256|n1|n1|2026-01-01T00:00:00|p|||"
    ended = backend.parse_status(["41", "42"], result("\n".join(lines.values())), {})
    assert sorted(parsed) == ["41", "41", "42"]  # only the changed line
    assert (ended["41"].state, ended["41"].exit_code) == (JobState.FAILED, 1)
    assert ended["42"] == first["42"]


def test_aiida_sample_compact_codes_and_node_lists():
    fields = (
        "jobid",
        "state",
        "reason",
        "batchhost",
        "user",
        "nnodes",
        "ncpus",
        "nodelist",
        "partition",
        "timelimit",
        "timeused",
        "starttime",
        "name",
    )
    ids = ["862540", "863100", "863546", "863313", "862538", "861352", "863553"]
    found = parsers.parse_squeue(ids, recorded("squeue_aiida_seven_jobs"), fields, "^^^")
    assert set(found) == set(ids)
    assert found["862540"].state is JobState.PENDING and found["862540"].reason == "Dependency"
    assert found["863100"].expected_start == datetime(2013, 5, 23, 14, 44, 44)
    assert found["863313"].state is JobState.HELD
    assert found["862538"].host == "rosa10"
    assert found["862538"].extra["nodelist"].startswith("nid0[0099")
    assert found["863553"].host == "rosa1"


def test_node_list_used_when_there_is_no_batch_host():
    found = parsers.parse_squeue(
        ["1"], result("1|R|node[07-09]\n"), ("jobid", "state", "nodelist"), "|"
    )
    assert found["1"].host == "node07"


def test_batchspawner_and_manpage_forms():
    found = parsers.parse_squeue(
        ["12345"],
        result(recorded("squeue_state_host_running").stdout.replace(" ", "|")),
        ("state", "batchhost"),
    )
    assert found == {}  # no job id column: nothing can be attributed
    man = recorded("squeue_manpage_three_jobs").stdout
    rows = [line.split() for line in man.splitlines()[1:]]
    text = "\n".join(f"{r[0]}|{r[4]}|{r[7]}" for r in rows)
    found = parsers.parse_squeue(
        ["12345", "12346", "12348"], result(text), ("jobid", "state", "nodelist")
    )
    assert found["12345"].host == "dev9" and found["12345"].state is JobState.RUNNING
    assert found["12346"].state is JobState.PENDING and found["12346"].host is None


# --- sacct -----------------------------------------------------------------------------------

GC3PIE_SACCT = (
    "jobid",
    "exitcode",
    "state",
    "ncpus",
    "elapsed",
    "totalcpu",
    "submit",
    "start",
    "end",
    "maxrss",
    "maxvmsize",
)


def sacct(name: str, ids=("123",)):
    return parsers.parse_sacct(list(ids), recorded(name), GC3PIE_SACCT)


def test_sacct_completed():
    s = sacct("sacct_completed_one_cpu")["123"]
    assert (s.state, s.exit_code, s.native_state) == (JobState.DONE, 0, "COMPLETED")
    assert s.extra["end"] == "2016-02-16T14:32:53"
    assert sacct("sacct_completed_ten_steps")["123"].state is JobState.DONE
    assert sacct("sacct_relative_timestamps")["123"].state is JobState.DONE


def test_sacct_failed_timeout_node_fail_cancelled():
    f = sacct("sacct_failed_early")["123"]
    assert (f.state, f.exit_code) == (JobState.FAILED, 1)
    t = sacct("sacct_timeout")["123"]
    assert (t.state, t.native_state) == (JobState.FAILED, "TIMEOUT")
    n = sacct("sacct_node_fail")["123"]
    assert (n.state, n.native_state, n.exit_code) == (JobState.FAILED, "NODE_FAIL", 1)
    c = sacct("sacct_cancelled_by_user")["123"]
    assert (c.state, c.reason) == (JobState.CANCELLED, "cancelled by uid 1000")
    assert c.extra["cancelled_by_uid"] == "1000"


def test_sacct_lagging_allocation_uses_its_finished_batch_step():
    s = sacct("sacct_running_batch_step_completed")["123"]
    assert s.state is JobState.DONE


def test_sacct_still_running_without_a_finished_step_is_left_out():
    text = "9|0:0|RUNNING|1|00:00:08|00:00.168|x|x|Unknown|||\n"
    assert parsers.parse_sacct(["9"], result(text), GC3PIE_SACCT) == {}


def test_sacct_unknown_job_and_no_accounting():
    assert sacct("sacct_unknown_job") == {}
    assert sacct("sacct_accounting_disabled_old") == {}
    assert sacct("real_sacct_accounting_disabled") == {}


def test_sacct_other_failures_raise():
    with pytest.raises(CommandError):
        parsers.parse_sacct(
            ["1"], result("", "sacct: error: Problem talking to the database", 1), GC3PIE_SACCT
        )


def test_sacct_hook_format(backend):
    cmd = backend.history_command(["4", "5"], {})
    assert cmd.argv[0] == "sacct" and "--parsable2" in cmd.argv and "--jobs=4,5" in cmd.argv
    assert backend.history_command(["4"], {"sacct": ""}) is None
    text = "4|TIMEOUT|0:1|vm|2026-01-01T00:00:00|2026-01-01T01:00:00|jobspawner\n"
    text += "5|OUT_OF_MEMORY|0:125|vm|2026-01-01T00:00:00|2026-01-01T00:10:00|jobspawner\n"
    found = backend.parse_history(["4", "5"], result(text), {})
    assert found["4"].native_state == "TIMEOUT" and found["4"].host == "vm"
    assert found["5"].state is JobState.FAILED


# --- cancel ----------------------------------------------------------------------------------


def test_scancel_command(backend):
    assert backend.cancel_command(["1", "2"], {}).argv == ("scancel", "1", "2")
    assert backend.cancel_command(["1;c"], {"scancel": "/x/scancel"}).argv == (
        "/x/scancel",
        "--clusters=c",
        "1",
    )
    assert commands.group_by_cluster(["1;a", "2", "3;a"]) == {"a": ["1;a", "3;a"], None: ["2"]}


@pytest.mark.parametrize(
    ("name", "outcome"),
    [
        ("scancel_permission_denied_old", CancelOutcome.REFUSED),  # exit 0 on that Slurm
        ("real_scancel_permission_denied", CancelOutcome.REFUSED),  # exit 210 on 22.05
        ("scancel_unknown_job", CancelOutcome.GONE),
    ],
)
def test_scancel_answers_per_job(backend, name, outcome):
    job_id = "14" if name.startswith("real_") else "123"
    assert backend.parse_cancel([job_id, "999"], recorded(name), {}) == {job_id: outcome}
    assert backend.parse_cancel([f"{job_id};mpp2"], recorded(name), {}) == {
        f"{job_id};mpp2": outcome
    }
    assert backend.parse_cancel([job_id], result(), {}) == {}  # silent: confirm by status


class FakeRunner:
    """Answers squeue with "CANCELLED" for every id asked and records every command."""

    def __init__(self) -> None:
        self.ran: list[Command] = []

    async def run(self, command: Command, check: bool = True) -> CommandResult:
        self.ran.append(command)
        if command.argv[0] == "squeue":
            ids = next(a for a in command.argv if a.startswith("--jobs="))[7:].split(",")
            clusters = [a[11:] for a in command.argv if a.startswith("--clusters=")]
            lines = []
            for cluster in clusters[0].split(",") if clusters else [None]:
                if cluster:
                    lines.append(f"CLUSTER: {cluster}")
                lines += [f"{i}|CANCELLED|None|15|n1|n1|N/A|p|" for i in dict.fromkeys(ids)]
            return CommandResult(command, 0, "\n".join(lines) + "\n", "")
        return CommandResult(command, 0, "", "")


async def test_cancel_on_several_clusters_runs_one_scancel_per_cluster(backend):
    from jobspawner.contract.context import BackendContext

    runner = FakeRunner()
    ctx = BackendContext(backend=backend, runner=runner, query_runner=runner)  # type: ignore[arg-type]
    await backend.cancel(ctx, ["1;a", "2;b", "3;a"])
    scancels = sorted(c.argv for c in runner.ran if c.argv[0] == "scancel")
    assert scancels == [("scancel", "--clusters=a", "1", "3"), ("scancel", "--clusters=b", "2")]
    runner.ran.clear()
    await backend.cancel(ctx, ["7", "8"])  # one cluster: the core's own cancel
    assert [c.argv for c in runner.ran if c.argv[0] == "scancel"] == [("scancel", "7", "8")]


def test_a_running_jobs_end_at_its_time_limit_is_read_and_no_other():
    """EndTime (squeue --Format) is the start plus the current limit for a running job (the
    hub tells its server, jobspawner.lifecycle.walltime); a pending job's EndTime is a guess."""
    text = (
        "31|RUNNING|None|0|vm|vm|2026-12-07T06:00:00|debug|2026-12-07T06:03:00||\n"
        "32|PENDING|Resources|0|n/a||2026-12-07T07:00:00|debug|2026-12-07T08:00:00||\n"
        "33|RUNNING|None|0|vm|vm|2026-12-07T06:00:00|debug|Unknown||\n"
    )
    found = parsers.parse_squeue(["31", "32", "33"], result(text), commands.SQUEUE_FIELDS)
    assert found["31"].end_time == datetime(2026, 12, 7, 6, 3)
    assert found["32"].end_time is None and found["33"].end_time is None
    assert "EndTime:|" in commands.SQUEUE_FORMAT.split(",")
