"""Small pure helpers shared by the Torque, PBS Pro and Moab parsers."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from jobspawner import clock_seconds, size_mib

_CTIME_FORMATS = ("%a %b %d %H:%M:%S %Y",)


def first_host(exec_host: str | None) -> str | None:
    """The first host of an ``exec_host``/``exec_vnode``/``MasterHost`` value, plain.

    ``node1/0*2+node2/0*2`` -> ``node1``; ``node1/0-3`` -> ``node1``;
    ``(node1:ncpus=2)+(node2:ncpus=2)`` -> ``node1``; ``node1.dom:15002/0`` -> ``node1.dom``.
    """
    if not exec_host:
        return None
    first = exec_host.strip().split("+", 1)[0].strip().lstrip("(")
    first = first.split("/", 1)[0].split(":", 1)[0].rstrip(")")
    if "@" in first:  # queue@host or user@host forms
        first = first.rsplit("@", 1)[1]
    first = first.strip()
    return first or None


def sequence_number(job_id: str) -> str:
    """``123.server.domain`` -> ``123``; ``123[4].server`` -> ``123[4]``."""
    return job_id.strip().split(".", 1)[0]


def match_ids(requested: Sequence[str], found: Iterable[str]) -> dict[str, str]:
    """Map ids printed by the scheduler to the ids we asked about.

    Exact matches first; otherwise the sequence numbers (the server suffix may be printed
    differently: ``123.head`` vs ``123.head.cluster.org``).
    """
    wanted = {i: i for i in requested}
    by_seq: dict[str, str] = {}
    for i in requested:
        by_seq.setdefault(sequence_number(i), i)
    out: dict[str, str] = {}
    for f in found:
        if f in wanted:
            out[f] = f
        elif sequence_number(f) in by_seq:
            out.setdefault(f, by_seq[sequence_number(f)])
    return out


def duration_s(value: object) -> int | None:
    """``HH:MM:SS``, ``D:HH:MM:SS``, ``MM:SS`` or plain seconds -> seconds."""
    if value is None:
        return None
    return clock_seconds(str(value).strip(), bare="seconds", colon_days=True, fraction=True)


def size_mb(value: object) -> int | None:
    """PBS sizes (``4gb``, ``4194304kb``, ``512mb``, ``1024``=bytes, ``8w``=words) -> MiB."""
    if value is None:
        return None
    text = str(value).strip()
    words = text[-1:] in ("w", "W")
    if text[-1:] in ("b", "B", "w", "W"):
        text = text[:-1]
    mib = size_mib(text, bare="B")
    if mib is None:
        return None
    return int(mib * 8) if words else int(mib)


def to_int(value: object) -> int | None:
    """An int from an int or a numeric string (PBS Pro sometimes quotes ``Exit_status``)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def parse_time(value: object) -> datetime | None:
    """Epoch seconds (Torque XML, Moab) or ``ctime`` text (PBS Pro) -> datetime."""
    if value is None:
        return None
    text = str(value).strip()
    if text.isdigit():
        seconds = int(text)
        return datetime.fromtimestamp(seconds) if seconds > 0 else None
    for fmt in _CTIME_FORMATS:
        try:
            return datetime.strptime(" ".join(text.split()), fmt)
        except ValueError:
            continue
    return None


def exit_reason(code: int | None) -> str | None:
    """Words for PBS exit statuses that are not the script's own (negative, or signals)."""
    if code is None or 0 <= code < 256:
        return None
    if code > 256:
        return f"killed by signal {code - 256}"
    return _EXEC_CODES.get(code, f"the job could not be run by the execution host (status {code})")


#: Negative exit statuses set by the PBS execution daemon (JOB_EXEC_* in both code bases).
_EXEC_CODES = {
    -1: "the job could not be started on the execution host",
    -2: "the job could not be started on the execution host (after staging files)",
    -3: "the job was requeued to run again",
    -4: "the job's initialisation was aborted",
    -29: "the job exceeded its walltime limit and was killed",
}
