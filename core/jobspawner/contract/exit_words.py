"""Exit codes in words: the one table every surface that reports a job's end reads.

A job's exit code above 128 usually means its process was ended by signal ``code - 128``
(the shell's convention, which the schedulers pass on), and a few codes below have a meaning
common to the tools a job runs (``timeout`` returns 124, the shell 126 and 127). Where a code
has such a meaning, :func:`exit_code_text` adds it in plain words: ``exit code 137 (killed:
signal 9, e.g. out of memory)``, ``exit code 138 (ended by signal 10)``. Any other code is
shown as it is: it is the program's own.
The progress page, the session view, the notice of why the last server stopped and every
backend's ``describe_status`` use it.
"""

from __future__ import annotations

#: Exit code -> what it commonly means, in words a user reads.
EXIT_WORDS: dict[int, str] = {
    124: "timed out: a timeout command stopped it",
    126: "the command could not be executed",
    127: "the command was not found",
    129: "hung up: signal 1",
    130: "interrupted: signal 2",
    134: "aborted: signal 6, e.g. a failed check in a library",
    135: "bus error: signal 7",
    136: "arithmetic error: signal 8",
    137: "killed: signal 9, e.g. out of memory or at its time limit",
    139: "crashed: signal 11, a segmentation fault",
    143: "terminated: signal 15, e.g. cancelled or at its time limit",
    152: "stopped at its CPU time limit: signal 24",
    153: "stopped at its file size limit: signal 25",
}


#: Exit statuses 129 .. 128 + this are read as "ended by signal N" when not in the table.
LAST_SIGNAL = 64


def meaning(code: int | None) -> str | None:
    """What ``code`` commonly means, or None when it has no common meaning (the program's
    own code)."""
    if code is None:
        return None
    if code in EXIT_WORDS:
        return EXIT_WORDS[code]
    if 128 < code <= 128 + LAST_SIGNAL:
        return f"ended by signal {code - 128}"
    return None


def exit_code_text(code: int) -> str:
    """``exit code 137 (killed: signal 9, e.g. out of memory ...)``, or ``exit code 3``."""
    words = meaning(code)
    return f"exit code {code} ({words})" if words else f"exit code {code}"
