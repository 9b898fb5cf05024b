"""``c.JobSpawner.host_map``: rename the scheduler's execution host before routing.

Many sites reach compute nodes under another name than the scheduler's (``node12`` ->
``node12.ib.example.org``, ``cn-(\\d+)`` -> ``10.2.0.\\1``). Each entry maps a regular
expression, matched against the whole host name, to a replacement (``\\1`` and ``\\g<name>``
refer to groups); the first entry that matches wins, a host no entry matches is kept. The
result then goes through the same routing checks as any host (never a link-local, multicast
or unspecified address).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass


class HostMapError(ValueError):
    """An entry of ``host_map`` is not a valid regular expression or replacement."""


@dataclass(frozen=True)
class HostMap:
    """Compiled ``host_map`` rules, in the order the admin wrote them."""

    rules: tuple[tuple[re.Pattern[str], str], ...] = ()

    @classmethod
    def parse(cls, mapping: Mapping[str, str]) -> HostMap:
        """Compile and check every entry; errors name the entry and say why."""
        rules = []
        for pattern, replacement in mapping.items():
            where = f"c.JobSpawner.host_map[{pattern!r}]"
            if not isinstance(replacement, str) or not replacement:
                raise HostMapError(f"{where}: the replacement must be a non-empty string")
            if "\n" in pattern or "\n" in replacement:
                raise HostMapError(f"{where}: a line break is not allowed")
            try:
                compiled = re.compile(pattern)
            except re.error as e:
                raise HostMapError(f"{where}: not a regular expression ({e})") from e
            try:
                _check_groups(compiled, replacement)
            except re.error as e:
                raise HostMapError(
                    f"{where}: the replacement {replacement!r} is invalid ({e})"
                ) from e
            rules.append((compiled, replacement))
        return cls(tuple(rules))

    def apply(self, host: str) -> str:
        """``host`` renamed by the first rule that matches all of it, else unchanged."""
        for pattern, replacement in self.rules:
            match = pattern.fullmatch(host)
            if match is not None:
                return match.expand(replacement)
        return host


_GROUP_REF = re.compile(r"\\(\d+)|\\g<(\w+)>")


def _check_groups(pattern: re.Pattern[str], replacement: str) -> None:
    """Every group the replacement refers to exists in the pattern."""
    for m in _GROUP_REF.finditer(replacement):
        number, name = m.group(1), m.group(2)
        if number is not None and int(number) > pattern.groups:
            raise re.error(f"invalid group reference {number}")
        if name is not None and not name.isdigit() and name not in pattern.groupindex:
            raise re.error(f"unknown group name {name!r}")
        if name is not None and name.isdigit() and int(name) > pattern.groups:
            raise re.error(f"invalid group reference {name}")
