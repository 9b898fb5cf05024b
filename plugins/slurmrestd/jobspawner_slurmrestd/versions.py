"""Which slurmrestd OpenAPI versions this backend reads, and what to say about the others.

The backend reads the JSON of the ``openapi/v0.0.36``-``v0.0.38`` plugins (Slurm 22.05
offers all three; the tests run the real 22.05 slurmrestd). From ``v0.0.39`` on, the API
comes from Slurm's ``data_parser`` plugins, with other shapes for the fields used here: a
job's ``job_state`` is a list of flags, times and exit codes are objects
(``{"set", "infinite", "number"}``, ``{"status", "return_code"}``) and the job's
``environment`` at submission is a list of ``NAME=value`` strings. Rather than read those
wrongly (a state never recognised, a job that seems never to start), a site configured
with such a version gets an error that names it and the supported ones; a site whose
slurmrestd does not load the configured version gets the versions it does offer, read from
its own OpenAPI description (``GET /openapi/v3``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

#: The OpenAPI versions whose answers this backend reads.
SUPPORTED = ("v0.0.36", "v0.0.37", "v0.0.38")
#: What the option looks like (``v0.0.38``).
VERSION = re.compile(r"v[0-9]+\.[0-9]+\.[0-9]+")
_PATH_VERSION = re.compile(r"/slurm/(v[0-9]+\.[0-9]+\.[0-9]+)/")


def _key(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version[1:].split("."))


def unsupported(version: object) -> str | None:
    """Why the ``api_version`` option cannot be used (for the admin), or None."""
    listed = ", ".join(SUPPORTED)
    if not isinstance(version, str) or not VERSION.fullmatch(version):
        return (
            f"backend option `api_version` {version!r} is not an OpenAPI version such as "
            f"v0.0.38 (supported: {listed})"
        )
    if version in SUPPORTED:
        return None
    newer = _key(version) > _key(SUPPORTED[-1])
    why = (
        "its answers come from Slurm's data_parser plugins (v0.0.39 and later: job states "
        "as lists, times and exit codes as objects, the environment as a list), which this "
        "backend does not read yet"
        if newer
        else "this backend does not read that older API"
    )
    return (
        f"slurmrestd OpenAPI version {version} (backend option `api_version`) is not "
        f"supported: {why}. Supported: {listed}. Load one of them in slurmrestd "
        "(`slurmrestd -s openapi/v0.0.38`) where your Slurm still ships it and set "
        "api_version to it, or use the `slurm` backend (over SSH to a login node)."
    )


def offered(description: Mapping[str, Any]) -> list[str]:
    """The ``/slurm/vX.Y.Z/`` API versions an OpenAPI description lists, oldest first."""
    paths = description.get("paths")
    found = {m.group(1) for p in (paths or {}) if (m := _PATH_VERSION.match(str(p)))}
    return sorted(found, key=_key)


def not_served(version: str, versions: list[str]) -> str:
    """What to tell the admin when slurmrestd does not serve ``version``."""
    usable = [v for v in versions if v in SUPPORTED]
    if not versions:
        return (
            f"slurmrestd does not serve OpenAPI version {version} (its /openapi/v3 "
            f"description could not be read); supported: {', '.join(SUPPORTED)}"
        )
    advice = (
        f"set backend option `api_version` to {usable[-1]}"
        if usable
        else f"load one of {', '.join(SUPPORTED)} in slurmrestd (`-s openapi/v0.0.38`) or use "
        "the `slurm` backend over SSH"
    )
    return (
        f"slurmrestd does not serve OpenAPI version {version}: it offers "
        f"{', '.join(versions)}; this backend reads {', '.join(SUPPORTED)}; {advice}"
    )
