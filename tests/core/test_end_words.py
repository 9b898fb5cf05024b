"""Every end-of-job message is made in jobspawner.facade.end_words: the failed start's error, the
log line and the user's notice when a running server's job ends, the status sentence. What
they say of an exit code comes from one function (where a code's meaning, 137: killed, goes)."""

from __future__ import annotations

from jobspawner import describe_generic
from jobspawner.contract.status import JobState, JobStatus
from jobspawner.facade import end_words
from jobspawner.lifecycle import last_end, status_rounds

KILLED = JobStatus(JobState.FAILED, exit_code=137, reason="OOM")
# the exit-code table's words (jobspawner.contract.exit_words), written out: a change to them shows
# here
KILLED_WORDS = "exit code 137 (killed: signal 9, e.g. out of memory or at its time limit)"


def messages() -> list[str]:
    """The four ways a job's end reaches a person, for the same job."""
    return [
        end_words.ended_while_starting("7", KILLED),
        status_rounds.ended_message("7", KILLED),
        last_end.end_words("7", KILLED),
        describe_generic(KILLED),
    ]


def test_the_words_are_unchanged():
    assert messages() == [
        f"Job 7 ended before the notebook server started (failed, {KILLED_WORDS}: OOM).",
        f"Your server stopped: its batch job 7 failed with {KILLED_WORDS}. Scheduler's words: OOM.",
        f"its batch job 7 failed with {KILLED_WORDS}. Scheduler's words: OOM.",
        f"Your job has ended (failed with {KILLED_WORDS}): OOM.",
    ]


def test_one_function_says_what_an_exit_code_means(monkeypatch):
    monkeypatch.setattr(end_words, "exit_code_words", lambda code: f"exit code {code} (killed)")
    for message in messages():
        assert "exit code 137 (killed)" in message, message
