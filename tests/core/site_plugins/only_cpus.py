"""A site plugin whose own job script honours CPUs only (honoured-requests tests)."""

from __future__ import annotations

from jobspawner import hookimpl


@hookimpl(tryfirst=True)
def resource_fields() -> frozenset[str]:
    return frozenset({"cpus"})
