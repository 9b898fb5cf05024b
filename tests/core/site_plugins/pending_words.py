"""A site plugin that words the pending state its own way (hook-tracing tests)."""

from __future__ import annotations

from jobspawner import JobState, JobStatus, hookimpl


@hookimpl
def describe_status(status: JobStatus) -> str | None:
    return "waiting for the site's queue" if status.state is JobState.PENDING else None
