"""A failed start's reason: kept in the job's record, told to the user in plain words.

The record keeps it (bounded, :mod:`jobspawner.lifecycle.job_record`) until the next start, so a
reload
or a hub restart still shows it on the session view: a first line in plain words, then the
job's log lines as preformatted text (:func:`split_failure`), escaped like everything the job
writes. JupyterHub's progress page gets the same words (:func:`failure_html`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import markupsafe

from jobspawner.facade.hub_compat import SpawnException

if TYPE_CHECKING:
    from jobspawner.lifecycle.job_record import JobRecord


def plain_failure(exc: BaseException) -> str:
    """What a user reads first: plain words, then the detail (never exception jargon)."""
    if isinstance(exc, SpawnException):
        detail = exc.log_message
        if exc.status_code == 400 and exc.reason == "user_options":
            return f"Your choice was refused: {detail}"
    else:
        detail = str(exc) or "no reason was given"
    return f"Your server could not start. {detail}"


def split_failure(message: str) -> tuple[str, str]:
    """A failure message as its first line (plain words) and the lines after it (the job's
    log tail, to be shown preformatted), either possibly empty."""
    words, _, detail = message.partition("\n")
    return words.strip(), detail.strip("\n")


def failure_html(message: str) -> str:
    """The failure as HTML for JupyterHub's progress page: the words in a paragraph, the log
    lines once, preformatted; every character escaped (the log is the user's).

    The progress page puts an event's HTML both at its top and in its event log: the lines
    are hidden in the event log's copy, so they show once.
    """
    words, detail = split_failure(message)
    html = markupsafe.Markup("<p class='mb-1'>{}</p>").format(words)
    if detail:
        html += markupsafe.Markup(
            "<pre class='jobspawner-failure-log small bg-body-tertiary p-2 text-start'"
            " style='white-space: pre-wrap; max-height: 24em; overflow: auto'>{}</pre>"
            "<style>#progress-log .jobspawner-failure-log {{ display: none; }}</style>"
        ).format(detail)
    return str(html)


def record_failure(record: JobRecord, exc: BaseException) -> None:
    """Keep a failed start's reason (in the job's record) and give JupyterHub a plain
    message (and an HTML one that keeps the log's lines, :func:`failure_html`)."""
    message = plain_failure(exc)
    record.note_failure(message)  # bounded there (jobspawner.lifecycle.job_record)
    if isinstance(exc, SpawnException) and not hasattr(exc, "jupyterhub_message"):
        exc.jupyterhub_message = message  # JupyterHub shows this instead of str(exc)
        if "\n" in message:
            exc.jupyterhub_html_message = failure_html(message)
