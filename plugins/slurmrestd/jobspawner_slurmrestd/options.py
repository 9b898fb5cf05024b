"""The slurmrestd backend's options, declared once (types, defaults, help).

The job script is the Slurm backend's, so its template options are declared here too (the
command paths of the Slurm command-line backend are not: nothing runs ``sbatch`` here).
"""

from __future__ import annotations

from jobspawner import Option, hookimpl
from jobspawner_slurm.shared import TEMPLATE_OPTIONS, resource_fields

OPTIONS = [
    Option("url", str, None, "slurmrestd's base URL, e.g. `http://slurm-rest.example.org:6820` "
           "(required)."),
    Option("api_version", str, "v0.0.38", "The openapi plugin slurmrestd serves: v0.0.36, "
           "v0.0.37 or v0.0.38 (Slurm 22.05 offers all three); a newer one is refused with "
           "a clear error."),
    Option("token_source", object, "scontrol", "Where per-user JWTs come from: `scontrol` "
           "(`scontrol token`, run by a root hub) or a site command (see the backend's page)."),
    Option("token_lifespan", int, 3600, "Seconds a fetched token lives."),
    Option("token_refresh_margin", float, 120.0, "Fetch a new token this long before the "
           "old one expires."),
    Option("scontrol", str, "scontrol", "Path of `scontrol` (for `scontrol token`)."),
    Option("query_user", str, None, "The Slurm user status queries run as (default: the "
           "hub's own user); it must see every user's jobs."),
    Option("environment", dict, None, "The job's environment at submission (slurmrestd "
           "requires one; default: a plain PATH)."),
    Option("accounting", bool, True, "Ask Slurm's accounting (slurmrestd's `slurmdb` "
           "endpoints, plugin `openapi/dbv0.0.38`) how a job ended once it left the queue; "
           "without it such a job's end reads as unknown."),
    Option("request_timeout", float, 30.0, "Seconds allowed to one HTTP request."),
    Option("validate_cert", bool, True, "Check slurmrestd's TLS certificate."),
    Option("ca_certs", str, None, "CA bundle for slurmrestd's certificate."),
    *TEMPLATE_OPTIONS,
]  # fmt: skip


@hookimpl
def backend_options() -> list[Option]:
    return OPTIONS


__all__ = ["OPTIONS", "backend_options", "resource_fields"]  # resource_fields: the Slurm script's
