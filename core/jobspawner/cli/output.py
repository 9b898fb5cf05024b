"""Plain-text tables and findings for the admin commands (``--json`` bypasses these)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Finding:
    """One result of ``jobspawner check``: ``level`` is ``ok``, ``warn`` or ``fail``."""

    level: str
    topic: str
    message: str
    fix: str = ""

    def as_dict(self) -> dict[str, str]:
        return {"level": self.level, "topic": self.topic, "message": self.message, "fix": self.fix}


_MARK = {"ok": "ok  ", "warn": "WARN", "fail": "FAIL", "info": "    "}


def format_findings(findings: Sequence[Finding]) -> str:
    """One block per finding: ``[FAIL] topic: message`` then an indented ``fix:`` line."""
    lines = []
    for f in findings:
        lines.append(f"[{_MARK.get(f.level, f.level)}] {f.topic}: {f.message}")
        if f.fix:
            lines.append(f"       fix: {f.fix}")
    return "\n".join(lines)


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A left-aligned text table; ``None`` shows as ``-``."""
    cells = [[("-" if v is None else str(v)) for v in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        for i, value in enumerate(row):
            widths[i] = max(widths[i], len(value))
    out = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=False)).rstrip()]
    out.append("  ".join("-" * w for w in widths))
    out.extend(
        "  ".join(v.ljust(w) for v, w in zip(row, widths, strict=False)).rstrip() for row in cells
    )
    return "\n".join(out)
