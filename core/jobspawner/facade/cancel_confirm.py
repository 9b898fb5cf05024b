"""Cancelling jobs through an API and confirming they ended (for REST backends).

The command-line backends get this from the core's ``cancel`` hook. A backend that talks to a
REST API implements ``cancel`` itself and hands :func:`confirm_cancel` how to send a cancel
and how to ask for statuses: the request is sent again every few checks (a running job may
take seconds to go), an unknown answer is never taken as "gone", and what is still there
after the last check is returned with the last error seen, for the backend's own error.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence

from jobspawner.contract.status import JobState, JobStatus

#: How many times the status is checked, the pause between checks, and how often the
#: cancel is sent again.
CANCEL_CHECKS = 30
CANCEL_CHECK_INTERVAL = 0.3
CANCEL_RESEND_EVERY = 5

#: Sends the cancel for these jobs; returns the jobs not known gone yet and the last error
#: (raise to fail at once, e.g. when the cancel is refused).
SendCancel = Callable[[list[str]], Awaitable[tuple[list[str], str]]]
#: Asks the scheduler about these jobs.
AskStatus = Callable[[list[str]], Awaitable[Mapping[str, JobStatus]]]


async def confirm_cancel(
    job_ids: Sequence[str], send: SendCancel, ask: AskStatus
) -> tuple[list[str], str]:
    """Cancel ``job_ids`` and wait until each has ended; return what is left and why."""
    remaining = list(dict.fromkeys(job_ids))
    last_error = ""
    for attempt in range(CANCEL_CHECKS):
        if attempt % CANCEL_RESEND_EVERY == 0:
            remaining, error = await send(remaining)
            last_error = error or last_error
            if not remaining:
                return [], ""
        await asyncio.sleep(CANCEL_CHECK_INTERVAL if attempt else 0.1)
        statuses = await ask(remaining)
        if any(s.state is JobState.UNKNOWN for s in statuses.values()):
            last_error = next((s.reason or "" for s in statuses.values() if s.reason), last_error)
            continue
        remaining = [i for i in remaining if not statuses[i].state.finished]
        if not remaining:
            return [], ""
    return remaining, last_error


def not_ended_words(remaining: Sequence[str], last_error: str) -> str:
    """The words for jobs :func:`confirm_cancel` left: which ones, and the last error seen."""
    return f"job(s) {', '.join(remaining)} still not ended after repeated cancels and checks" + (
        f" (last error: {last_error})" if last_error else ""
    )
