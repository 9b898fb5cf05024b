"""A broken site plugin: a hook name with a typo."""

from jobspawner import hookimpl


@hookimpl
def submit_comand(spec, script):
    return None
