"""Tell a scheduler that did not answer from one that refused the job.

A submit command that fails because the scheduler's controller is down or unreachable is not
a refusal of the job: the admin must look at the scheduler, not at the request. Backends call
:func:`submit_problem` to word their :class:`~jobspawner.contract.commands.CommandError`.
"""

from __future__ import annotations

import re

from jobspawner.contract.commands import CommandResult

#: What scheduler clients print when they cannot reach their controller (lower case).
UNREACHABLE_MARKERS = (
    "unable to contact slurm controller",
    "socket timed out",
    "zero bytes were transmitted",
    "communication connection failure",
    "connection refused",
    "connection timed out",
    "unable to contact qmaster",
    "can't connect to service",
    "commlib error",
    "cannot connect to server",
    "lsf is down",
    "cannot connect to lsf",
    "failed to connect to",
    "can't find address of",
    "no route to host",
)
_MARKERS = re.compile("|".join(re.escape(m) for m in UNREACHABLE_MARKERS))

UNREACHABLE = "could not reach the scheduler (its controller did not answer)"
REFUSED = "refused the job"


def unreachable(result: CommandResult) -> bool:
    """Whether a failed command's output says the scheduler could not be reached."""
    return bool(_MARKERS.search(f"{result.stderr}\n{result.stdout}".lower()))


def submit_problem(result: CommandResult) -> str:
    """The ``problem`` of a failed submit's error: unreachable, or refused."""
    return UNREACHABLE if unreachable(result) else REFUSED
