"""A site plugin for the routing tests: replaces or withholds the scheduler's host."""

from jobspawner import hookimpl

#: ``host``: the host to give instead of the scheduler's; ``withheld``: how many more
#: running statuses get no host (the scheduler has not said where the job runs yet)
STATE: dict = {"host": None, "withheld": 0}


@hookimpl(wrapper=True)
def get_host(status):
    host = yield
    if not host:
        return None
    if STATE["withheld"] > 0:
        STATE["withheld"] -= 1
        return None
    return STATE["host"] or host
