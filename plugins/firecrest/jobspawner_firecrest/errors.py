"""Errors of the FirecREST backend, as :class:`~jobspawner.CommandError` values so the
spawner reports them like a failed scheduler command."""

from __future__ import annotations

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
