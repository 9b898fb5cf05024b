"""LSF pending/suspending reasons in words a notebook user understands."""

from __future__ import annotations

import re

#: (pattern in LSF's reason text, plain sentence). First match wins; the texts are those of
#: LSF's ``PEND_*`` reason table as bjobs prints them.
_REASONS: tuple[tuple[str, str], ...] = (
    (r"New job is waiting for scheduling", "LSF has not scheduled it yet"),
    (r"Not enough job slot", "all job slots are busy; it starts when others finish"),
    (r"Not enough processors", "not enough free cores; it starts when others finish"),
    (r"queue has reached its job slot limit", "the queue is full; it starts when jobs finish"),
    (
        r"queue has not enough job slots",
        "the queue has not enough free slots for the cores you asked for",
    ),
    (
        r"per-user job slot limit|his/her job slot limit|user has reached",
        "you have reached the number of jobs you may run at once; stop another server "
        "or job to free a slot",
    ),
    (r"inactivated by the administrator", "the queue has been paused by the administrators"),
    (r"inactivated by its time windows?", "the queue is closed at this time of day"),
    (r"run window", "the job would not finish before the queue's run window closes"),
    (r"dependency condition", "it waits for another job to finish"),
    (r"suspended by the user while pending|PSUSP|suspended while pending", "it is on hold"),
    (
        r"Job's requirements for (?:reserving )?resource|rusage|resource requirement",
        "the memory or resources you asked for are not free on any host right now",
    ),
    (r"spanning requirement", "no host can take all the cores you asked for on one machine"),
    (r"Not specified in job submission", "no host matches what you asked for"),
    (r"Closed by LSF administrator|closed", "the hosts are closed by the administrators"),
    (r"host is being powered up|power", "a host is being powered on for it"),
    (r"License", "it waits for a software license"),
    (r"fairshare|priority", "other users' jobs have priority at the moment"),
    (r"lost contact", "LSF has lost contact with the host of your job"),
)


def describe_reason(reason: str | None) -> str | None:
    """A plain-words version of an LSF reason (several reasons are joined with ``;``);
    the original text when it is not one we know, ``None`` for no reason."""
    if not reason:
        return None
    out: list[str] = []
    for part in (p.strip() for p in reason.split(";")):
        if not part:
            continue
        for pattern, words in _REASONS:
            if re.search(pattern, part, re.IGNORECASE):
                text = f"{words} (LSF: {part})"
                break
        else:
            text = part
        if text not in out:
            out.append(text)
    return "; ".join(out) or None
