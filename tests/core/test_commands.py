"""The command runner: argument lists, timeouts, errors that show everything."""

from __future__ import annotations

import time

import pytest
from jobspawner.contract.commands import Command, CommandError, CommandNotFound, CommandRunner


async def test_runs_argv_without_a_shell_and_passes_stdin():
    result = await CommandRunner().run(Command(["cat"], stdin="$(id) ; `x`"))
    assert result.stdout == "$(id) ; `x`"


def test_a_string_is_refused_as_argv():
    with pytest.raises(TypeError):
        Command("squeue -u alice")  # type: ignore[arg-type]


async def test_error_shows_command_exit_code_stdout_and_stderr():
    cmd = Command(["bash", "-c", "echo out; echo 'sbatch: error: Invalid account' >&2; exit 1"])
    with pytest.raises(CommandError) as e:
        await CommandRunner().run(cmd)
    message = str(e.value)
    assert "`bash -c" in message and "exited with status 1" in message
    assert "stdout: out" in message and "stderr: sbatch: error: Invalid account" in message
    assert e.value.returncode == 1


async def test_timeout_kills_the_command():
    started = time.monotonic()
    with pytest.raises(CommandError) as e:
        await CommandRunner(timeout=0.5).run(Command(["sleep", "30"]))
    assert "timed out after 0.5 s" in str(e.value)
    assert time.monotonic() - started < 5


async def test_missing_program_says_so():
    with pytest.raises(CommandNotFound) as e:
        await CommandRunner().run(Command(["sbatch-not-installed", "--parsable"]))
    assert "sbatch-not-installed" in str(e.value) and "not on PATH" in str(e.value)


async def test_prefix_goes_before_every_command():
    result = await CommandRunner(prefix=["env", "JS_PREFIX=1"]).run(
        Command(["printenv", "JS_PREFIX"])
    )
    assert result.stdout.strip() == "1"


async def test_the_registered_timer_measures_every_run_and_none_is_needed():
    """The contract's runner imports no metrics: the hub's metrics register a timer here."""
    from jobspawner.contract import commands
    from jobspawner.lifecycle import metrics

    seen: list[str] = []

    async def timer(command, run):
        seen.append(command.argv[0])
        return await run

    try:
        commands.measure_commands_with(None)
        assert (await CommandRunner().run(Command(["true"]))).returncode == 0
        assert seen == []
        commands.measure_commands_with(timer)
        assert (await CommandRunner().run(Command(["true"]))).returncode == 0
        assert seen == ["true"]
    finally:
        commands.measure_commands_with(metrics.timed_command)
