"""What the choices room asks of the one it works for (the spawner), as small protocols.

JupyterHub hands its spawner to ``apply_user_options(spawner, options)`` and
``options_form(spawner)``; the room's modules are typed against these protocols instead of
the spawner class, each naming only what its module reads, calls or sets, so nothing in
``jobspawner.choices`` imports ``jobspawner.spawner`` or ``jobspawner.lifecycle`` (import
contracts). ``JobSpawner`` satisfies each one: mypy checks it where a typed mixin of the
spawner passes itself (``spawner_job.JobBuilding``), but not for the class itself, whose
base (JupyterHub's ``Spawner``) is untyped; ``tests/core/test_options_host.py`` checks every
member on a real spawner.

- :class:`RefusalHost` (:mod:`.refusal_log`): the hub's log and whose server it is;
- :class:`LiveViewHost` (:mod:`.live_view`): the backend's context and the key of the cache of
  its queues;
- :class:`OptionsHost` (:mod:`.user_options`): the settings a choice depends on, the user, the
  backend, the current choice (:class:`.OptionChoices`) and the job's record
  (:class:`ChoiceRecord`: the room stands below the lifecycle, which owns the record);
- :class:`RelaunchHost` and :class:`FormHost` (:mod:`.options_form`): the hub's URL and the
  server's name, the form's wait.

Settings by name: a profile's overrides, the settings a job was submitted with and the
``req_<field>`` defaults are read and set as the host's attributes of those names (the
spawner's traits: :func:`.overridden.overridden`, :func:`.user_options.set_overrides`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from jobspawner.choices.option_choices import OptionChoices
from jobspawner.contract.context import BackendContext
from jobspawner.facade.backend import Backend


class HubUser(Protocol):
    """The user whose server it is (JupyterHub's ``User``; ``groups`` is read if present)."""

    @property
    def name(self) -> str:
        """Her JupyterHub name."""


class ChoiceRecord(Protocol):
    """What the room reads and writes of the job's record (the lifecycle's ``JobRecord``)."""

    #: The chosen profile's slug ("" without profiles) and the validated options.
    profile: str
    options: dict[str, Any]

    @property
    def job_id(self) -> str:
        """The current job's id ("" when none)."""

    @property
    def job_settings(self) -> Mapping[str, Any]:
        """The settings the job was submitted with (``user_options.JOB_SETTINGS``)."""

    def repeat_options(self) -> dict[str, Any]:
        """The options the user's next start repeats (plain values): a kept job's, else
        those of the last start that came up."""


class RefusalHost(Protocol):
    """What a refusal is logged with."""

    @property
    def log(self) -> logging.Logger | logging.LoggerAdapter[logging.Logger]:
        """The hub's log."""

    @property
    def log_name(self) -> str:
        """The server's name in that log (``alice`` or ``alice:name``)."""


class LiveViewHost(Protocol):
    """What the live view of the queues is fetched and cached with."""

    @property
    def log(self) -> logging.Logger | logging.LoggerAdapter[logging.Logger]:
        """The hub's log (a backend that does not load is said there)."""

    @property
    def resource_cache_ttl(self) -> float:
        """Seconds the queues' answer is kept (``c.JobSpawner.resource_cache_ttl``)."""

    def query_cache_key(self, *extra: Any) -> str:
        """The key of a cache filled by the query commands: the backend configuration and
        the identity the commands run as."""

    def context(self) -> BackendContext:
        """The backend's context for the current settings."""


class OptionsHost(RefusalHost, LiveViewHost, Protocol):
    """What the validation of user options reads, checks and sets (besides the settings it
    sets by name)."""

    @property
    def user(self) -> HubUser:
        """The user whose server it is."""

    @property
    def choices(self) -> OptionChoices:
        """The user's choice for the next start (in memory)."""

    @property
    def record(self) -> ChoiceRecord:
        """The job's record: the chosen profile and options are kept there."""

    @property
    def profiles(self) -> Any:
        """``c.JobSpawner.profiles``: a list, or a callable of the host returning one."""

    @property
    def user_options_allowed(self) -> Sequence[str]:
        """The resources a user may choose freely, without profiles."""

    @property
    def backend(self) -> str:
        """The backend's name (``c.JobSpawner.backend``)."""

    @property
    def backend_options(self) -> Mapping[str, Any]:
        """``c.JobSpawner.backend_options`` (the constraint's grammar may depend on them)."""

    @property
    def req_queue(self) -> Any:
        """``c.JobSpawner.req_queue``: the queue when the user chooses none."""

    def load(self) -> Backend:
        """The backend of the current settings."""

    def traits(self, **metadata: Any) -> Mapping[str, Any]:
        """The host's settings (``config=True``: those a profile may override)."""

    def unhonoured_reason(self, field: str) -> str | None:
        """Why the backend cannot honour a request for ``field``, or None."""

    def refuse_unhonoured_option(self, field: str) -> None:
        """Raise the 400 of a user option for a field the backend cannot honour."""


class RelaunchHost(Protocol):
    """What a "start again with the same options" link is made of."""

    @property
    def hub(self) -> object:
        """JupyterHub's ``Hub`` (its ``base_url``)."""

    @property
    def user(self) -> HubUser:
        """The user whose server it is."""

    @property
    def name(self) -> str:
        """The server's name ("" for the default server)."""


class FormHost(OptionsHost, RelaunchHost, Protocol):
    """What the spawn form reads, besides what the validation does."""

    @property
    def options_form_wait(self) -> float:
        """Seconds the form waits for the live view (``c.JobSpawner.options_form_wait``)."""
