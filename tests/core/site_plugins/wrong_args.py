"""A broken site plugin: a hook that asks for an argument the spec does not have."""

from jobspawner import hookimpl


@hookimpl
def parse_status(job_ids, output_text):
    return {}
