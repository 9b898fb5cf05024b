"""Text a user controls (a job's output), cut to fixed sizes before the hub shows or keeps it.

:func:`bound_tail` shapes what a log read returned: its last :data:`MAX_BYTES` bytes, at
most :data:`MAX_LINES` lines, each line cut at :data:`MAX_LINE` characters with a visible
marker, invalid UTF-8 and NUL replaced by U+FFFD. :func:`clip` caps a text the hub stores
(the spawner's state, which JupyterHub writes into its database as JSON) by its size *as
stored*: every character counted as the JSON escape it becomes, so a tail of emoji or
control characters is no bigger in the database than one of plain letters.
"""

from __future__ import annotations

from collections.abc import Callable

#: The most of a log the hub reads: its last 64 KiB.
MAX_BYTES = 64 * 1024
#: The most lines of a log the hub shows.
MAX_LINES = 200
#: Characters of one line kept; the rest is replaced by :func:`line_cut_marker`.
MAX_LINE = 1000

#: Bytes (as stored, :func:`stored_size`) of a log tail the hub keeps: in a failed start's
#: message, in the record of why the last server stopped.
STORED_TAIL = 4 * 1024
#: Bytes (as stored) of a failed start's message kept in the spawner's state (its log
#: tail and the words before it).
STORED_MESSAGE = 6 * 1024

_NUL = "\x00"
_REPLACEMENT = "\ufffd"


def line_cut_marker(cut: int) -> str:
    """What replaces the end of a line longer than :data:`MAX_LINE` characters."""
    return f" [... {cut} more characters cut]"


def clip_marker(cut: int) -> str:
    """What replaces the part of a stored text :func:`clip` left out."""
    return f"[... {cut} characters cut ...]"


def bound_tail(text: str | bytes, lines: int = MAX_LINES) -> str:
    """The last ``lines`` lines (at most :data:`MAX_LINES`) of the last :data:`MAX_BYTES`
    bytes of ``text``, each line at most :data:`MAX_LINE` characters plus a marker.

    Bytes are decoded as UTF-8 with U+FFFD for what is not; NUL becomes U+FFFD too (a
    database text column cannot hold it). A final line break is kept.
    """
    count = max(0, min(int(lines), MAX_LINES))
    if count == 0 or not text:
        return ""
    if isinstance(text, str):
        # a character is at least one byte: this bounds the encoding below
        text = text[-MAX_BYTES:].encode("utf-8", "replace")
    data = bytes(text)
    if len(data) > MAX_BYTES:
        data = data[-MAX_BYTES:]
        # drop the rest of a character cut in two (at most three continuation bytes)
        skip = 0
        while skip < 3 and skip < len(data) and 0x80 <= data[skip] < 0xC0:
            skip += 1
        data = data[skip:]
    decoded = data.decode("utf-8", "replace").replace(_NUL, _REPLACEMENT)
    return _last_lines(decoded, count, _cut_line)


def last_lines(text: str, lines: int) -> str:
    """The last ``lines`` lines of a text :func:`bound_tail` shaped (nothing is cut again)."""
    return _last_lines(text, max(0, int(lines)), lambda row: row)


def _last_lines(text: str, count: int, shape: Callable[[str], str]) -> str:
    if count == 0 or not text:
        return ""
    ends_with_break = text.endswith("\n")
    body = text[:-1] if ends_with_break else text
    rows = [shape(row) for row in body.split("\n")[-count:]]
    return "\n".join(rows) + ("\n" if ends_with_break else "")


def _cut_line(row: str) -> str:
    if len(row) <= MAX_LINE:
        return row
    return row[:MAX_LINE] + line_cut_marker(len(row) - MAX_LINE)


def stored_size(text: str) -> int:
    """Bytes ``text`` takes in JSON written with ``ensure_ascii`` (quotes not counted)."""
    return sum(_char_size(ch) for ch in text)


def _char_size(ch: str) -> int:
    code = ord(ch)
    if code < 0x20:
        return 2 if ch in "\b\f\n\r\t" else 6
    if code < 0x7F:
        return 2 if ch in '"\\' else 1
    return 6 if code <= 0xFFFF else 12  # DEL (0x7F) too: ensure_ascii escapes it


def clip(text: str, limit: int, keep: str = "end") -> str:
    """``text`` when it takes at most ``limit`` bytes as stored (:func:`stored_size`);
    otherwise its end (``keep="end"``, a log's last lines) or its start and end
    (``keep="both"``, a message whose first words say what happened) with
    :func:`clip_marker` in place of the rest, within ``limit`` bytes."""
    if len(text) <= limit and stored_size(text) <= limit:
        return text
    budget = max(0, limit - stored_size(clip_marker(len(text))))
    if keep == "both":
        head = _fit(text, budget // 2, from_end=False)
        # the text is bigger than ``limit``, so its start and end within it cannot overlap
        tail = _fit(text, budget - stored_size(head), from_end=True)
    else:
        head, tail = "", _fit(text, budget, from_end=True)
    return head + clip_marker(len(text) - len(head) - len(tail)) + tail


def _fit(text: str, budget: int, from_end: bool) -> str:
    """The longest start (or end) of ``text`` that takes at most ``budget`` bytes stored."""
    used = taken = 0
    chars = reversed(text) if from_end else iter(text)
    for ch in chars:
        size = _char_size(ch)
        if used + size > budget:
            break
        used += size
        taken += 1
    if taken == 0:
        return ""
    return text[-taken:] if from_end else text[:taken]
