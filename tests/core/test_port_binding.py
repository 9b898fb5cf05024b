"""The server's port choice (c.Spawner.port, c.JobSpawner.port_range) and its binding."""

from __future__ import annotations

import socket

import pytest
from hypothesis import given
from hypothesis import strategies as st
from jobspawner.jobside.port_binding import PortChoice, PortChoiceError, bind


def _free_run(length: int) -> int:
    """The first of ``length`` consecutive ports free on 127.0.0.1 (at the time asked)."""
    for first in range(42000, 60000, length + 1):
        try:
            held = []
            for port in range(first, first + length):
                s = socket.socket()
                held.append(s)
                s.bind(("127.0.0.1", port))
            return first
        except OSError:
            continue
        finally:
            for s in held:
                s.close()
    raise AssertionError("no free run of ports")


def _port(sockets: list[socket.socket]) -> int:
    try:
        return int(sockets[0].getsockname()[1])
    finally:
        for s in sockets:
            s.close()


def test_any_port_by_default():
    choice = PortChoice.from_settings(0, "")
    assert choice.environment() == {}
    assert _port(bind(choice, "127.0.0.1")) > 0


def test_a_pinned_port_is_bound_and_wins_over_a_range():
    port = _free_run(1)
    choice = PortChoice.from_settings(port, "9000-9100")
    assert choice.environment() == {"JOBSPAWNER_PORT": str(port)}
    assert _port(bind(choice, "127.0.0.1")) == port


def test_a_range_binds_its_first_free_port_and_fails_clearly_when_full():
    first = _free_run(3)
    choice = PortChoice.from_settings(0, f"{first}-{first + 2}")
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", first))
    blocker.listen()
    try:
        second = bind(choice, "127.0.0.1")
        third = bind(choice, "127.0.0.1")
        try:
            assert second[0].getsockname()[1] == first + 1
            assert third[0].getsockname()[1] == first + 2
            with pytest.raises(PortChoiceError, match=f"a free port in {first}-{first + 2}"):
                bind(choice, "127.0.0.1")
        finally:
            for s in second + third:
                s.close()
    finally:
        blocker.close()


def test_a_taken_pinned_port_says_so():
    port = _free_run(1)
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", port))
        blocker.listen()
        with pytest.raises(PortChoiceError, match=f"cannot bind port {port}"):
            bind(PortChoice.from_settings(port, ""), "127.0.0.1")


@pytest.mark.parametrize(
    "text",
    ["9000", "9100-9000", "0-10", "9000-70000", "9000-9100\n", " 9000-9100", "a-b", "9000_9100"],
)
def test_bad_ranges_are_config_errors(text):
    with pytest.raises(PortChoiceError, match="port_range"):
        PortChoice.from_settings(0, text)


@pytest.mark.parametrize("port", [-1, 65536])
def test_bad_pinned_ports_are_config_errors(port):
    with pytest.raises(PortChoiceError, match=r"c\.Spawner\.port"):
        PortChoice.from_settings(port, "")


def test_the_job_refuses_a_malformed_variable():
    with pytest.raises(PortChoiceError):
        PortChoice.from_environment({"JOBSPAWNER_PORT": "80\n"})


@given(st.integers(1, 65535), st.integers(0, 65535))
def test_the_choice_reaches_the_job_unchanged(first, width):
    last = min(65535, first + width)
    choice = PortChoice.from_settings(0, f"{first}-{last}")
    assert PortChoice.from_environment(choice.environment()) == choice
    assert (choice.first, choice.last) == (first, last)


def test_a_report_outside_the_choice_is_refused_with_the_setting_named():
    assert PortChoice.from_settings(0, "").refusal(8999) is None  # any port: the job's choice
    ranged = PortChoice.from_settings(0, "9000-9100")
    assert ranged.refusal(9000) is None and ranged.refusal(9100) is None
    assert ranged.refusal(8999) == (
        "the job reported port 8999, but this hub accepts only a free port in 9000-9100 "
        "(c.JobSpawner.port_range)"
    )
    assert PortChoice.from_settings(9050, "").refusal(9051) == (
        "the job reported port 9051, but this hub accepts only port 9050 (c.Spawner.port)"
    )
