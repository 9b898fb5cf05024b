"""The FirecREST backend's options, declared once (types, defaults, help).

FirecREST runs ``sbatch`` on the cluster, so the Slurm template's options apply as well.
"""

from __future__ import annotations

from jobspawner import Option, hookimpl
from jobspawner_slurm.shared import TEMPLATE_OPTIONS, resource_fields

OPTIONS = [
    Option("url", str, None, "FirecREST's base URL (required)."),
    Option("system", str, None, "The system (cluster) name in FirecREST (required)."),
    Option("token_url", str, None, "The OIDC provider's token endpoint, for refreshing "
           "users' access tokens."),
    Option("client_id", str, None, "The hub's OAuth client id (token refresh)."),
    Option("client_secret", str, None, "The hub's OAuth client secret (token refresh)."),
    Option("service_account", dict, None, "`{\"client_id\": ..., \"client_secret\": ...}`: "
           "poll every user's jobs with one request (client credentials)."),
    Option("refresh_margin", float, 60.0, "Renew a token this long before it expires."),
    Option("uenv", str, None, "A user-environment image (`#SBATCH --uenv`), full-match "
           "checked."),
    Option("uenv_view", str, None, "The uenv view (`#SBATCH --view`), full-match checked."),
    Option("request_timeout", float, 30.0, "Seconds allowed to one request."),
    Option("verify", object, True, "TLS verification: true, false, or a CA bundle path."),
    *TEMPLATE_OPTIONS,
]  # fmt: skip


@hookimpl
def backend_options() -> list[Option]:
    return OPTIONS


__all__ = ["OPTIONS", "backend_options", "resource_fields"]  # resource_fields: the Slurm script's
