"""Errors of the FirecREST backend, as :class:`~jobspawner.CommandError` values so the
spawner reports them like a failed scheduler command."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from jobspawner import Command, CommandError

#: What a notebook user reads when their tokens cannot be renewed.
LOGIN_AGAIN = (
    "Your login has expired and could not be renewed. Please log out of JupyterHub and log "
    "in again, then start your server."
)


class GatewayError(CommandError):
    """A FirecREST (or token endpoint) request failed: method, URL, status and the
    server's own message."""

    def __init__(self, method: str, url: str, status: int | None, problem: str) -> None:
        self.method, self.url, self.status = method, url, status
        self.command = Command([method, url])
        self.returncode = status
        self.stdout = self.stderr = ""
        self.problem = problem
        state = f"HTTP {status}" if status is not None else "no answer"
        RuntimeError.__init__(self, f"FirecREST request {method} {url} failed ({state}): {problem}")


class LoginRequired(GatewayError):
    """The user's access token is missing or expired and cannot be refreshed."""

    def __init__(self, url: str, why: str) -> None:
        super().__init__("POST", url, None, f"{LOGIN_AGAIN} ({why})")


#: FirecREST's words around a failed Slurm command and a failed file command.
_SLURM = re.compile(r"Unexpected Slurm command response\. exit_status:(-?\d+) std_err:(.*)", re.S)
_REMOTE = re.compile(r"Remote process failed with exit status:(-?\d+) and error message:(.*)", re.S)
#: What ``sacct``/``sacctmgr`` say on a Slurm without accounting (FirecREST needs it).
NO_ACCOUNTING = ("accounting storage is disabled", "not running a supported accounting_storage")
ACCOUNTING_HINT = (
    "FirecREST reads jobs from Slurm's accounting (sacct), which this cluster does not run: "
    "its administrators must enable slurmdbd (AccountingStorageType=accounting_storage/"
    "slurmdbd) before jobs can be followed through FirecREST"
)


def explain(status: int | None, body: Any) -> str:
    """What a FirecREST error answer says, in words an admin can act on: the failed
    command's own error output (not FirecREST's wrapping), what a 403/404 means, and what to
    do when the cluster has no Slurm accounting."""
    if not isinstance(body, Mapping):
        return str(body)[:300] or "unexpected answer"
    message = str(body.get("message") or body.get("detail") or "")
    caused = body.get("causedBy")
    causes = [str(c) for c in caused if str(c) != message] if isinstance(caused, list) else []
    words = []
    for text in [message, *causes]:
        slurm, remote = _SLURM.search(text), _REMOTE.search(text)
        if slurm:
            said = " ".join(slurm.group(2).split())
            words.append(f"the Slurm command failed (exit status {slurm.group(1)}): {said}")
        elif remote:
            words.append(" ".join(remote.group(2).split()))
        elif text:
            words.append(text)
    if body.get("errorType") == "validation":
        data = body.get("data")
        fields = data.get("fields") if isinstance(data, Mapping) else None
        names = [str(f.get("name")) for f in fields or [] if isinstance(f, Mapping)]
        words = [f"FirecREST refused the request's fields {', '.join(names)}: " + message]
    text = "; ".join(words) or "unexpected answer"
    if status == 403:
        text = f"permission denied on the cluster: {text}"
    elif status == 404 and _REMOTE.search(message):
        text = f"no such file or folder on the cluster: {text}"
    if any(marker in text for marker in NO_ACCOUNTING):
        text = f"{text} ({ACCOUNTING_HINT})"
    return text
