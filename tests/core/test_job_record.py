"""The job's record: the one persisted per-server state, its versions and its bounds."""

from __future__ import annotations

import json
import logging

from hypothesis import given, settings
from hypothesis import strategies as st
from jobspawner.boundary import bounded_text
from jobspawner.lifecycle.job_record import (
    MAX_TAIL,
    MAX_WORDS,
    STATE_VERSION,
    JobRecord,
    QueuedStart,
)

_text = st.text(max_size=40)
_plain_value = st.one_of(st.text(max_size=30), st.integers(-1000, 1000))
_names = st.text(st.characters(categories=("L", "N")), min_size=1, max_size=12)


@st.composite
def records(draw: st.DrawFn) -> JobRecord:
    job_id = draw(st.one_of(st.just(""), st.text("0123456789.", min_size=1, max_size=12)))
    has_job = bool(job_id)
    unfinished = draw(st.booleans()) and has_job
    queued = draw(
        st.one_of(
            st.none(),
            st.builds(
                lambda j, o, t: QueuedStart(
                    job_id=j,
                    job_output="/home/a/j.log",
                    job_secrets="/home/a/.j.secrets",
                    backend="slurm",
                    job_settings={"backend": "slurm"},
                    profile="gpu",
                    options=o,
                    server_token=t,
                    proof_key="k" * 64,
                    kept_at=5.0,
                ),
                st.text("0123456789", min_size=1, max_size=10),
                st.dictionaries(_names, _plain_value, max_size=3),
                st.text("abcdef0123456789", min_size=1, max_size=64),
            ),
        )
    )
    saved = draw(st.lists(st.text("abc/._", min_size=1, max_size=20), max_size=4, unique=True))
    return JobRecord(
        job_id=job_id,
        job_output=draw(_text) if has_job else "",
        job_secrets=draw(_text) if has_job else "",
        backend=draw(st.sampled_from(["local", "slurm"])) if has_job else "",
        job_settings={"backend": "local", "exec_prefix": ["sudo"]} if has_job else {},
        profile=draw(_names) if has_job else "",
        options=draw(st.dictionaries(_names, _plain_value, max_size=4)) if has_job else {},
        start_unfinished=unfinished,
        request={"profile": draw(_names), "resources": {"cpus": 2}} if unfinished else {},
        server_token=draw(st.text("abcdef0123456789", min_size=1, max_size=64))
        if unfinished
        else "",
        proof_key=draw(st.text("abcdef0123456789", max_size=64)) if unfinished else "",
        queued=queued,
        forward=["127.0.0.1", 4000] if has_job and draw(st.booleans()) else None,
        unconfirmed_cancels=draw(st.lists(st.text("0123456789", min_size=1), max_size=3)),
        last_failure=draw(
            st.one_of(st.just({}), st.builds(lambda m: {"message": m, "time": 1.5}, _text))
        ),
        last_end=draw(
            st.one_of(
                st.just({}),
                st.builds(
                    lambda w, t: {
                        "job_id": "7",
                        "time": 2.0,
                        "words": w,
                        "log_file": "/home/a/x.log",
                        "log_tail": t,
                        "relaunch": "/hub/spawn/alice",
                    },
                    st.text("abc xyz.", min_size=1, max_size=30).map(lambda w: " ".join(w.split())),
                    st.text("abc\nxyz", max_size=30),
                ).filter(lambda r: r["words"]),
            )
        ),
        last_started=draw(
            st.one_of(
                st.just({}),
                st.builds(
                    lambda o: {"job_id": "5", "time": 3.0, "options": o, "resources": {}},
                    st.dictionaries(_names, _plain_value, max_size=4),
                ),
            )
        ),
        walltime_saved=(
            {"job_id": job_id, "time": 4.0, "saved": saved, "failed": []}
            if has_job and draw(st.booleans())
            else {}
        ),
    )


@settings(max_examples=150, deadline=None)
@given(records())
def test_a_record_survives_its_state_unchanged(record):
    state = record.to_state()
    assert json.loads(json.dumps(state)) == state  # what JupyterHub's database holds
    assert state["version"] == STATE_VERSION
    assert JobRecord.from_state(state) == record


def test_a_state_of_the_release_before_the_record_loads_with_every_key():
    state = {  # version 1, as jobspawner wrote it before the record existed
        "version": 1,
        "job_id": "1234",
        "job_output": "/home/alice/.jobspawner/logs/j.log",
        "job_secrets": "/home/alice/.jobspawner/logs/j.secrets",
        "backend": "slurm",
        "profile": "gpu",
        "options": {"runtime": "01:00:00"},
        "job_settings": {"backend": "slurm", "exec_prefix": []},
        "unconfirmed_cancels": ["99"],
        "start_unfinished": True,
        "ssh_forward": ["127.0.0.1", 40000],
        "last_failure": {"message": "no", "time": 1.0},
        "last_end": {"job_id": "12", "time": 2.0, "words": "it ended", "log_file": "/l"},
        "last_started": {"job_id": "11", "time": 3.0, "options": {"cpus": 2}},
        "walltime_saved": {"job_id": "1234", "saved": ["a.ipynb"], "failed": []},
    }
    record = JobRecord.from_state(state)
    assert (record.job_id, record.job_output, record.job_secrets) == (
        "1234",
        state["job_output"],
        state["job_secrets"],
    )
    assert record.backend == "slurm" and record.job_settings == state["job_settings"]
    assert record.profile == "gpu" and record.options == {"runtime": "01:00:00"}
    assert record.start_unfinished and record.forward == ["127.0.0.1", 40000]
    assert record.unconfirmed_cancels == ["99"]
    assert record.last_failure == {"message": "no", "time": 1.0}
    assert record.last_end["words"] == "it ended" and record.last_end["relaunch"] == ""
    assert record.last_started["options"] == {"cpus": 2}
    assert record.walltime_saved["saved"] == ["a.ipynb"]
    # written back, every key is there again (plus the new version)
    again = record.to_state()
    assert again["version"] == STATE_VERSION
    for key in state:
        if key != "version":
            assert key in again, key


def test_a_state_without_a_version_loads_its_job():
    assert JobRecord.from_state({"job_id": "42"}).job_id == "42"
    assert JobRecord.from_state({}) == JobRecord()


def test_oversize_fields_are_capped_when_loaded_and_when_stored():
    huge = "x" * 50_000 + "\x1b[31mred\x1b[0m"
    record = JobRecord.from_state(
        {
            "version": 1,
            "job_id": "1",
            "last_failure": {"message": "first words " + huge, "time": 1},
            "last_end": {"job_id": "1", "words": huge, "log_tail": huge, "relaunch": "//evil"},
            "last_started": {"options": {"a": "y" * 5000, "b": [1, 2], "c": "ok"}},
            "walltime_saved": {"job_id": "1", "saved": ["p"] * 500},
        }
    )
    message = record.last_failure["message"]
    assert bounded_text.stored_size(message) <= bounded_text.STORED_MESSAGE
    assert message.startswith("first words")  # its first words and its end kept
    assert bounded_text.stored_size(record.last_end["words"]) <= MAX_WORDS
    assert bounded_text.stored_size(record.last_end["log_tail"]) <= MAX_TAIL
    assert "\x1b" not in record.last_end["log_tail"]
    assert record.last_end["relaunch"] == ""  # not a path on this hub
    assert record.last_started["options"] == {"c": "ok"}
    assert len(record.walltime_saved["saved"]) == 1  # duplicates dropped, at most 50 kept
    fresh = JobRecord()
    fresh.note_failure("start " + huge)
    assert bounded_text.stored_size(fresh.last_failure["message"]) <= bounded_text.STORED_MESSAGE


def test_malformed_entries_are_dropped_not_fatal():
    record = JobRecord.from_state(
        {
            "job_id": "3",
            "options": {"x": object()},
            "job_settings": "nope",
            "unconfirmed_cancels": "7",
            "last_failure": {"message": 12},
            "last_end": ["no"],
            "walltime_saved": {"job_id": "3", "saved": "nope"},
            "start_unfinished": "yes",
        }
    )
    assert record.job_id == "3" and record.options == {} and record.job_settings == {}
    assert record.unconfirmed_cancels == [] and record.last_failure == {}
    assert record.last_end == {} and record.walltime_saved == {}
    assert record.start_unfinished is False  # only a true boolean counts


def test_a_state_of_a_newer_release_is_refused_with_a_clear_log_line(caplog):
    state = {"version": STATE_VERSION + 1, "job_id": "555", "unconfirmed_cancels": ["9"]}
    log = logging.getLogger("test.job_record")
    with caplog.at_level(logging.ERROR, logger="test.job_record"):
        record = JobRecord.from_state(state, log, "alice")
    assert record == JobRecord()
    (line,) = [r.getMessage() for r in caplog.records]
    assert "alice" in line and f"version {STATE_VERSION + 1}" in line
    assert "job 555 is not followed" in line and "cancel that job" in line


def test_forgetting_the_job_keeps_what_the_user_is_told_later():
    record = JobRecord(
        job_id="1",
        job_output="o",
        job_secrets="s",
        start_unfinished=True,
        forward=["h", 1],
        unconfirmed_cancels=["2"],
        last_failure={"message": "m", "time": 1.0},
    )
    record.forget_job()
    assert (record.job_id, record.job_output, record.job_secrets) == ("", "", "")
    assert record.forward is None and not record.start_unfinished
    assert record.unconfirmed_cancels == ["2"] and record.last_failure["message"] == "m"


def test_a_start_is_kept_and_adopted_with_what_its_job_holds():
    record = JobRecord(
        job_id="8",
        job_output="/o",
        job_secrets="/s",
        backend="slurm",
        job_settings={"backend": "slurm"},
        profile="p",
        options={"cpus": 2},
        start_unfinished=True,
        server_token="tok",
        proof_key="key",
    )
    assert record.to_state()["server_token"] == "tok"  # a restarted hub can adopt it
    kept = record.keep_start(when=9.0)
    assert record.job_id == "" and not record.start_unfinished and record.server_token == ""
    assert (kept.job_id, kept.server_token, kept.proof_key, kept.options) == (
        "8",
        "tok",
        "key",
        {"cpus": 2},
    )
    state = record.to_state()
    assert "job_id" not in state and state["queued_start"]["job_id"] == "8"
    again = JobRecord.from_state(state)
    assert again.queued == kept
    again.adopt(kept)
    assert again.queued is None and again.job_id == "8" and again.start_unfinished
    assert (again.server_token, again.proof_key, again.job_secrets) == ("tok", "key", "/s")
    again.finish_start()  # the server answered: its credentials are not kept any more
    assert "server_token" not in again.to_state() and "proof_key" not in again.to_state()
    assert again.to_state()["job_id"] == "8"


def test_the_next_start_repeats_a_kept_jobs_options_else_the_last_started():
    record = JobRecord()
    assert record.repeat_options() == {} and record.started_options() == {}
    record.last_started = {"job_id": "1", "options": {"profile": "a", "cpus": 2}}
    assert record.repeat_options() == record.started_options() == {"profile": "a", "cpus": 2}
    record.options = {"cpus": [4], "x": [1, 2]}
    record.keep_start(when=1.0)
    assert record.repeat_options() == {"cpus": 4}  # the kept job's, as plain values
    assert record.started_options() == {"profile": "a", "cpus": 2}


def test_credentials_are_kept_only_while_the_start_is_unfinished():
    record = JobRecord(job_id="1", server_token="tok", proof_key="key")
    assert "server_token" not in record.to_state()  # the start is over
    loaded = JobRecord.from_state({"job_id": "1", "server_token": "tok", "proof_key": "k"})
    assert loaded.server_token == "" and loaded.proof_key == ""


def test_a_malformed_kept_start_is_dropped():
    for bad in (
        {"job_id": "1"},
        {"server_token": "t"},
        "x",
        {"job_id": "1\n", "server_token": "t"},
    ):
        assert JobRecord.from_state({"queued_start": bad}).queued is None, bad
    huge = JobRecord.from_state({"queued_start": {"job_id": "1", "server_token": "t" * 5000}})
    assert huge.queued is None
