"""Slurm host lists (``node[01-03,07]``, ``a1,b[2-3]``): the first host, and expansion."""

from __future__ import annotations

import re

_NONE = {"", "n/a", "(null)", "None", "none"}
_RANGE = re.compile(r"^(\d+)(?:-(\d+))?$")


def split_top_level(text: str) -> list[str]:
    """Split a host list on the commas that are not inside brackets."""
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for ch in text:
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth = max(depth - 1, 0)
        if ch == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return [p.strip() for p in parts if p.strip()]


def _expand_one(item: str, limit: int) -> list[str]:
    """Expand one host expression (possibly several bracket groups: ``r[1-2]n[01-02]``)."""
    m = re.search(r"\[([^\]]*)\]", item)
    if m is None:
        return [item]
    head, tail = item[: m.start()], item[m.end() :]
    out: list[str] = []
    for piece in m.group(1).split(","):
        r = _RANGE.match(piece.strip())
        if r is None:  # not a numeric range: keep the text as is
            numbers = [piece.strip()]
        else:
            lo, hi = r.group(1), r.group(2) or r.group(1)
            width = len(lo)
            numbers = [str(n).zfill(width) for n in range(int(lo), int(hi) + 1)]
        for number in numbers:
            for rest in _expand_one(tail, limit):
                out.append(f"{head}{number}{rest}")
                if len(out) >= limit:
                    return out
    return out


def expand(hostlist: str, limit: int = 100_000) -> list[str]:
    """All host names of a (compressed) Slurm host list, in order; ``[]`` for none/``n/a``."""
    text = (hostlist or "").strip()
    if text in _NONE or text.startswith("("):  # "(Resources)": a %R reason, not hosts
        return []
    hosts: list[str] = []
    for item in split_top_level(text):
        hosts.extend(_expand_one(item, limit - len(hosts)))
        if len(hosts) >= limit:
            break
    return hosts


def first_host(hostlist: str | None) -> str | None:
    """The first host of a Slurm host list (``node[01-03,07]`` -> ``node01``), or None."""
    hosts = expand(hostlist or "", limit=1)
    return hosts[0] if hosts else None
