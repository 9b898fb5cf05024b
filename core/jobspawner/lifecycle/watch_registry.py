"""Every server watch of this hub process (:mod:`jobspawner.lifecycle.server_watch`): the
file-descriptor
budget the watches may use, and the guard against a fault on the hub's side (most watched
servers unreachable at once: nobody is stopped for it)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jobspawner.lifecycle.server_watch import ServerWatch

_log = logging.getLogger("jobspawner.lifecycle.server_watch")

#: Fewest watches for the hub-side fault guard to apply.
GUARD_MIN_WATCHES = 4


@dataclass
class Registry:
    """Every watch of this hub process: the fd budget and the hub-side fault guard."""

    reserve: int | None = None  # fds kept for everything else (None: from the limit)
    limit: int | None = None  # the fd limit (None: RLIMIT_NOFILE, raised at first use)
    watches: set[ServerWatch] = field(default_factory=set)
    down: set[ServerWatch] = field(default_factory=set)  # the unreachable among them
    _over_budget_logged: bool = False
    _fault_logged: bool = False

    @property
    def fault_told(self) -> bool:
        """The guard told the admin of a hub-side fault that has not been told over yet."""
        return self._fault_logged

    def budget(self) -> int:
        """How many watches may hold a connection at once."""
        if self.limit is None:
            self.limit = raise_fd_limit()
        reserve = self.reserve if self.reserve is not None else max(256, self.limit // 4)
        return max(0, self.limit - reserve)

    def admit(self, watch: ServerWatch) -> bool:
        """Count ``watch`` in, unless the fd budget is spent (then log once)."""
        if watch in self.watches:
            return True
        if len(self.watches) >= self.budget():
            if not self._over_budget_logged:
                self._over_budget_logged = True
                _log.error(
                    "jobspawner watches %d servers, as many as the hub's file-descriptor "
                    "limit (%s) allows with a reserve for everything else; more servers "
                    "are not watched and a silent death of theirs is noticed only by the "
                    "status rounds. Raise the hub's open-files limit (LimitNOFILE= in its "
                    "systemd unit, or ulimit -n).",
                    len(self.watches),
                    self.limit,
                )
            return False
        self.watches.add(watch)
        return True

    def leave(self, watch: ServerWatch) -> None:
        self.watches.discard(watch)
        self.down.discard(watch)
        if len(self.watches) < self.budget():
            self._over_budget_logged = False

    def hub_fault(self) -> bool:
        """True while at least GUARD_MIN_WATCHES servers are watched and more than half of
        them are unreachable: the fault is on the hub's side (logged once per episode)."""
        total, down = len(self.watches), len(self.down)
        fault = total >= GUARD_MIN_WATCHES and down * 2 > total
        if fault and not self._fault_logged:
            self._fault_logged = True
            _log.error(
                "%d of the %d notebook servers jobspawner watches became unreachable from "
                "the hub at the same time: the fault is most likely on the hub's side (its "
                "network, a firewall rule, a routing change or a broken SSH forward), so no "
                "server is stopped for being unreachable until most answer again. Check the "
                "hub host's network and firewall towards the compute nodes.",
                down,
                total,
            )
        elif not fault and self._fault_logged:
            self._fault_logged = False
            _log.warning("jobspawner: the watched servers are reachable again")
        return fault


def raise_fd_limit() -> int:
    """Raise the soft RLIMIT_NOFILE to the hard limit (capped at 2**20); return the soft."""
    try:
        import resource
    except ImportError:  # not POSIX: assume a small limit
        return 1024
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    cap = 1 << 20
    target = cap if hard == resource.RLIM_INFINITY else min(hard, cap)
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError) as e:
            _log.debug("could not raise the open-files limit: %s", e)
    return cap if soft == resource.RLIM_INFINITY else int(soft)


REGISTRY = Registry()
