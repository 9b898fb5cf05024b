"""How a job ended, in words: the one place every end-of-job message is made.

A job's end reaches a person four ways, each in its own sentence but from these parts:

* :func:`ended_while_starting`: the failed start's error (``Job 480 ended before the
  notebook server started (failed, exit code 1: NodeFail).``), from ``JobSpawner.start``;
* :func:`end_words` and :func:`ended_message`: a running server's job ended (the log line of
  the shared status rounds, and the "your last server stopped" notice of
  :mod:`jobspawner.lifecycle.last_end` on the spawn page and the session view);
* :func:`ended_sentence`: the status sentence of an ended job in the progress stream and
  the session view (the core's ``describe_status``, :func:`jobspawner.describe_generic`).

:func:`exit_code_words` is what every one of them says of an exit code, with its common
meaning (137: killed) from :mod:`jobspawner.contract.exit_words`, for all four at once.
"""

from __future__ import annotations

from jobspawner.contract.exit_words import exit_code_text
from jobspawner.contract.status import VANISHED_REASON, JobState, JobStatus


def exit_code_words(code: int) -> str:
    """What a message says of a job's exit code: ``exit code 1``, or with its common meaning
    from the one table (:mod:`jobspawner.contract.exit_words`): ``exit code 137 (killed: ...)``."""
    return exit_code_text(code)


def ended_while_starting(job_id: str, status: JobStatus) -> str:
    """The first line of a failed start's error: the job ended before its server reported."""
    if status.reason == VANISHED_REASON:
        outcome = "the scheduler no longer lists it, so how it ended is unknown"
    else:
        code = f", {exit_code_words(status.exit_code)}" if status.exit_code is not None else ""
        outcome = f"{status.state.value}{code}{': ' + status.reason if status.reason else ''}"
    return f"Job {job_id} ended before the notebook server started ({outcome})."


def end_words(job_id: str, status: JobStatus) -> str:
    """How a running server's job ended: ``its batch job 480 was cancelled (...).``"""
    if status.reason == VANISHED_REASON:
        how = "ended (the scheduler no longer lists it)"
    elif status.state is JobState.CANCELLED:
        how = "was cancelled (by an administrator, or at its time limit)"
    elif status.state is JobState.FAILED:
        how = "failed" + (f" with {exit_code_words(status.exit_code)}" if status.exit_code else "")
    else:
        how = "finished"
    said = status.reason if status.reason != VANISHED_REASON else None
    detail = f" Scheduler's words: {said}." if said else ""
    return f"its batch job {job_id} {how}.{detail}"


def ended_message(job_id: str, status: JobStatus) -> str:
    """Plain words for a user whose server's job ended while it ran."""
    return f"Your server stopped: {end_words(job_id, status)}"


def ended_sentence(status: JobStatus, reason: str | None) -> str:
    """The status sentence of an ended job; ``reason`` is the (translated) scheduler's
    reason, or None."""
    code = f" with {exit_code_words(status.exit_code)}" if status.exit_code is not None else ""
    return f"Your job has ended ({status.state.value}{code}){': ' + reason if reason else ''}."
