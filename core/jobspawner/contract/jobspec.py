"""The description of one job that the spawner hands to the backend hooks."""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from secrets import token_hex
from typing import Any

#: Environment variables that are secrets: they go to the job through :attr:`JobSpec.secrets`
#: (a private file), never into the job script, which schedulers keep and copy. A name is
#: cut into words at every character that is not a letter or digit (``DB_PASS``: ``DB``,
#: ``PASS``), case ignored, and is a secret when one word (or that word less a plural ``S``)
#: ends with a :data:`SECRET_WORD_ENDINGS` entry (``JUPYTERHUB_API_TOKEN``, ``DBPASSWORD``,
#: ``MY_APIKEY``) or is a :data:`SECRET_WORDS` entry (``GITHUB_PAT``, ``X_AUTH``,
#: ``TLS_KEY_PEM``, ``MYSQL_PWD``). Whole words only for the short ones, so ``PATH``,
#: ``KEYBOARD_LAYOUT``, ``PASSAGE_DIR``, ``AUTHOR``, the shell's ``PWD`` or JupyterHub's
#: ``..._OAUTH_...`` settings stay in the script.
#: ``c.JobSpawner.secret_env`` adds names and shell patterns of the site's.
SECRET_WORD_ENDINGS = (
    "TOKEN",
    "SECRET",
    "PASSWORD",
    "PASSWD",
    "PASSPHRASE",
    "CREDENTIAL",
    "APIKEY",
    "ACCESSKEY",
    "PRIVATEKEY",
    "SECRETKEY",
)
SECRET_WORDS = frozenset({"PASS", "PAT", "AUTH", "KEY", "PWD"})
#: Whole names that are never secrets although a word says so (the shell's folders).
NOT_SECRET = frozenset({"PWD", "OLDPWD"})
_WORDS = re.compile(r"[^A-Za-z0-9]+")
#: The job's environment variable naming its secrets file (read by ``jobspawner-singleuser``).
SECRETS_FILE_ENV = "JOBSPAWNER_SECRETS_FILE"


def _secret_word(word: str) -> bool:
    for candidate in (word, word[:-1] if word.endswith("S") else ""):
        if candidate in SECRET_WORDS or candidate.endswith(SECRET_WORD_ENDINGS):
            return True
    return False


def is_secret(name: str, patterns: Sequence[str] = ()) -> bool:
    """Whether an environment variable's value must stay out of the job script.

    ``patterns`` are names or shell patterns (``MYSITE_*``) that are secrets whatever
    their words (``c.JobSpawner.secret_env``), matched with case as written.
    """
    if any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns):
        return True
    if name.upper() in NOT_SECRET:
        return False
    return any(_secret_word(word) for word in _WORDS.split(name.upper()) if word)


def secrets_file_for(output_file: str) -> str:
    """Where a new job's secrets file goes: hidden, in the folder of its output file (made
    private to the user), under a random name nothing else reveals before it exists (not
    derived from the output file's name, which the job's scheduler shows)."""
    folder = os.path.dirname(output_file)
    return os.path.join(folder, f".jobspawner-{token_hex(16)}.secrets")


def legacy_secrets_file(output_file: str) -> str:
    """The secrets file of a job submitted by an earlier version (derived from its output
    file's name); only for removing what such a job left behind."""
    folder, name = os.path.split(output_file)
    return os.path.join(folder, f".{name}.secrets")


@dataclass(frozen=True)
class JobSpec:
    """Everything a backend needs to render, submit and name a job.

    ``variables`` holds every template variable (resources such as ``runtime``, ``memory``,
    ``cpus``, ``queue``; the server ``command``; ``prologue``/``epilogue``; ``env``...). The
    typed fields repeat the ones backends commonly need outside the template.
    ``options`` are the site's backend options (``c.JobSpawner.backend_options``), e.g. the
    path of a scheduler command or whether to use ``srun``.

    ``secrets`` are the environment variables that must not be written into the script (the
    server's API token): the core writes them as the user into ``secrets_file`` (mode 0600)
    before submitting, and ``jobspawner-singleuser`` reads and deletes that file. ``env``
    holds the rest, plus ``JOBSPAWNER_SECRETS_FILE``.
    """

    username: str
    server_name: str
    job_name: str
    output_file: str
    workdir: str
    command: tuple[str, ...]
    env: Mapping[str, str] = field(default_factory=dict)
    variables: Mapping[str, Any] = field(default_factory=dict)
    options: Mapping[str, Any] = field(default_factory=dict)
    secrets: Mapping[str, str] = field(default_factory=dict, repr=False)
    secrets_file: str = ""

    @classmethod
    def create(
        cls,
        *,
        username: str,
        job_name: str,
        output_file: str,
        workdir: str,
        command: Sequence[str],
        server_name: str = "",
        homedir: str | None = None,
        env: Mapping[str, str] | None = None,
        resources: Mapping[str, Any] | None = None,
        resource_variables: Mapping[str, Any] | None = None,
        prologue: str = "",
        epilogue: str = "",
        options: Mapping[str, Any] | None = None,
        site_variables: Mapping[str, Any] | None = None,
        variables: Mapping[str, Any] | None = None,
        secret_env: Sequence[str] = (),
        extra_secrets: Mapping[str, str] | None = None,
    ) -> JobSpec:
        """A spec with every template variable, built the one way the spawner builds it.

        ``resources`` are raw requests (``{"runtime": "2h", "memory": "4G"}``), validated and
        normalised by :func:`jobspawner.contract.resources.normalise` (unset ones become ``None``);
        ``resource_variables`` are that function's output, for a caller that has normalised
        them already (the spawner: ``JobSpawner.resources()``), used instead of
        ``resources``; ``site_variables`` come first (``c.JobSpawner.template_vars``); ``variables``
        override anything at the end (tests, tools). Secret variables of ``env`` (see
        :func:`is_secret`; ``secret_env`` adds names and shell patterns) are moved to
        ``secrets``; ``extra_secrets`` (the server-check key) go there too and nowhere else.
        """
        from jobspawner.contract.resources import normalise

        if resource_variables is not None and resources:
            raise ValueError("JobSpec.create: give resources or resource_variables, not both")
        all_env = {k: str(v) for k, v in (env or {}).items()}
        secrets = {k: v for k, v in all_env.items() if is_secret(k, secret_env)}
        secrets.update(extra_secrets or {})
        env = {k: v for k, v in all_env.items() if k not in secrets}
        secrets_file = secrets_file_for(output_file) if secrets else ""
        if secrets_file:
            env[SECRETS_FILE_ENV] = secrets_file
        options = dict(options or {})
        merged: dict[str, Any] = {
            **(site_variables or {}),
            **(normalise(resources or {}) if resource_variables is None else resource_variables),
            "job_name": job_name,
            "username": username,
            "server_name": server_name,
            "homedir": homedir or f"/home/{username}",
            "output_file": output_file,
            "workdir": workdir,
            "command": list(command),
            "env": env,
            "prologue": prologue,
            "epilogue": epilogue,
            "opts": options,
            **(variables or {}),
        }
        return cls(
            username=username,
            server_name=server_name,
            job_name=job_name,
            output_file=output_file,
            workdir=workdir,
            command=tuple(command),
            env=env,
            variables=merged,
            options=options,
            secrets=secrets,
            secrets_file=secrets_file,
        )

    def option(self, name: str, default: Any = None) -> Any:
        """A backend option, or ``default`` when the site did not set it."""
        return self.options.get(name, default)
