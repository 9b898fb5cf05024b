"""The error a failed slurmrestd request raises: it names the method, URL, HTTP status and
Slurm's own error text, so an admin reading the hub log knows what failed and why."""

from __future__ import annotations

from jobspawner import Command, CommandError


class RestError(CommandError):
    """A request to slurmrestd failed (refused, unreachable, timed out, or Slurm said no).

    A :class:`~jobspawner.CommandError`, so the spawner reports it like a failed scheduler
    command. ``status`` is the HTTP status (``None`` when no answer came), ``errors`` Slurm's
    error texts (``"Invalid job id specified"``...).
    """

    def __init__(
        self,
        method: str,
        url: str,
        status: int | None,
        problem: str,
        errors: tuple[str, ...] = (),
    ) -> None:
        self.method = method
        self.url = url
        self.status = status
        self.errors = errors
        self.command = Command([method, url])
        self.returncode = status
        self.stdout = ""
        self.stderr = "; ".join(errors)
        self.problem = problem
        RuntimeError.__init__(self, self._message())

    def _message(self) -> str:
        status = f"HTTP {self.status}" if self.status is not None else "no answer"
        text = f"slurmrestd request {self.method} {self.url} failed ({status}): {self.problem}"
        if self.errors:
            text += f"; Slurm said: {'; '.join(self.errors)}"
        return text

    def says(self, text: str) -> bool:
        """Whether one of Slurm's error texts contains ``text`` (case-insensitive)."""
        return any(text.lower() in e.lower() for e in self.errors)


class TokenError(RuntimeError):
    """No JWT could be obtained for a user; the message says from where and how to fix it."""
