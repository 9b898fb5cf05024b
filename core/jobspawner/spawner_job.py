"""How a :class:`jobspawner.spawner.JobSpawner` builds its job: the account and folders it
runs in, its name, the resources (the site's settings overlaid by the user's validated
choices), the :class:`~jobspawner.contract.jobspec.JobSpec` and the rendered script. A mixin
of ``JobSpawner`` over its backend access; the job's environment (``get_env``, which extends
JupyterHub's) stays on the spawner.
"""

from __future__ import annotations

import os
import pwd
import re
import secrets
import time
from collections.abc import Callable
from typing import Any

from jobspawner.choices import user_options as options_validation
from jobspawner.choices.hub_limits import limits_as_requests, with_hub_limits
from jobspawner.choices.option_choices import OptionChoices
from jobspawner.contract.jobspec import JobSpec
from jobspawner.contract.resources import FIELDS, ResourceError, empty, normalise, overlay
from jobspawner.facade.constraints import validate_constraint
from jobspawner.facade.hub_compat import SpawnException
from jobspawner.facade.templates import TemplateError
from jobspawner.jobside import server_proof
from jobspawner.jobside.port_binding import PortChoice, PortChoiceError
from jobspawner.lifecycle.job_record import JobRecord
from jobspawner.spawner_backend import BackendAccess

#: A server name jobspawner accepts in job names and paths (JupyterHub 6 allows a subset).
SERVER_NAME = re.compile(r"\A[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}\Z")
_JOBNAME_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


class JobBuilding(BackendAccess):
    """The job of one start, built from the settings and the user's choices (a mixin of
    ``JobSpawner``, which gives it JupyterHub's server name, command and limits)."""

    # JupyterHub's (Spawner)
    name: str
    cmd: list[str]
    port: int
    mem_limit: Any
    cpu_limit: Any
    cpu_guarantee: Any
    get_args: Callable[[], list[str]]
    get_env: Callable[[], dict[str, str]]
    # the spawner's own (JobSpawner.__init__)
    record: JobRecord
    choices: OptionChoices
    _server_check_key: str

    # --- building the job -------------------------------------------------------------------
    def account(self) -> str:
        """The Unix account the job runs as (``c.JobSpawner.job_account``)."""
        return self._with_username("job_account", self.job_account)

    def _homedir(self) -> str:
        account = self.account()
        try:
            return pwd.getpwnam(account).pw_dir
        except KeyError:
            return f"/home/{account}"

    def job_name(self) -> str:
        suffix = f"-{self.name}" if self.name else ""
        name = self.job_name_template.format(
            username=self.user.name, server_name=self.name, server_suffix=suffix
        )
        return _JOBNAME_UNSAFE.sub("_", name)[:128]

    def _config_requests(self) -> dict[str, Any]:
        """The ``req_*`` settings; JupyterHub's mem_limit/cpu_limit/cpu_guarantee fill in
        memory and cpus where no ``req_*`` is set."""
        values = {key: getattr(self, f"req_{key}") for key in FIELDS}
        limits = limits_as_requests(self.mem_limit, self.cpu_limit, self.cpu_guarantee)
        return with_hub_limits(values, limits)

    def port_choice(self) -> PortChoice:
        """The ports the job's server may bind (``c.Spawner.port``, ``port_range``)."""
        try:
            return PortChoice.from_settings(int(self.port or 0), self.port_range)
        except PortChoiceError as e:
            raise SpawnException(str(e), reason="config") from e

    def resources(self) -> dict[str, Any]:
        """Validated resources, the template variables the job script gets: config traits,
        overridden by the user's chosen options (normalised once, by their validation:
        :func:`jobspawner.choices.user_options.chosen_resources`)."""
        try:
            site = normalise(self._config_requests())
            chosen, checked = options_validation.chosen_resources(self)
            keys = [k for k, v in self.choices.resources.items() if not empty(v)]
            out = overlay(site, chosen, keys)
            if chosen["constraint"] is None or not checked:  # the site's, or unchecked
                validate_constraint(
                    self.load(),
                    "req_constraint" if chosen["constraint"] is None else "constraint",
                    out["constraint"],
                    self.backend_options,
                )
        except ResourceError as e:
            code = 500 if e.field.startswith("req_") else 400
            raise SpawnException(
                f"Invalid resource request: {e}", reason="resources", status_code=code
            ) from e
        return out

    def build_spec(self) -> JobSpec:
        if self.name and not SERVER_NAME.fullmatch(self.name):
            raise SpawnException(f"Invalid server name {self.name!r}", reason="server_name")
        homedir = self._homedir()
        fmt = {"homedir": homedir, "username": self.user.name}
        job_name = self.job_name()
        stamp = time.strftime("%Y%m%d-%H%M%S")
        output_file = os.path.join(
            self.log_dir.format(**fmt), f"{job_name}.{stamp}.{secrets.token_hex(3)}.log"
        )
        resources = self.resources()  # config and user choices, errors naming the field
        # a new key for each start's server check, to the job in the secrets file only
        self._server_check_key = server_proof.new_key() if self.require_server_proof else ""
        key = {server_proof.KEY_NAME: self._server_check_key} if self._server_check_key else {}
        return JobSpec.create(
            username=self.user.name,
            server_name=self.name,
            job_name=job_name,
            homedir=homedir,
            output_file=output_file,
            workdir=self.workdir.format(**fmt),
            command=[*self.cmd, *self.get_args()],
            env=self.get_env(),
            resource_variables=resources,
            prologue=self.prologue,
            epilogue=self.epilogue,
            options=self._spec_options(),
            site_variables=self._template_variables(),
            secret_env=self.secret_env,
            extra_secrets=key,
        )

    def _template_variables(self) -> dict[str, Any]:
        """The site's variables plus the profile and the user's validated, typed choices."""
        return {
            **self.template_vars,
            "profile": self.record.profile,
            "choices": dict(self.choices.variables),
        }

    def render(self, spec: JobSpec) -> str:
        backend = self.load()
        template = self.batch_script or backend.script_template(spec)
        if not template:
            raise SpawnException(
                f'The backend "{backend.name}" has no default job script: set '
                "c.JobSpawner.batch_script",
                reason="config",
            )
        try:
            return backend.render_script(spec, template)
        except TemplateError as e:
            source = "c.JobSpawner.batch_script" if self.batch_script else "the backend template"
            self.log.error("Job script template error in %s: %s", source, e)
            raise SpawnException(
                f"The job script could not be rendered ({source}): {e}", reason="template"
            ) from e
