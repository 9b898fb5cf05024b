"""``JobSpawner``: the JupyterHub spawner lifecycle on top of a backend's hooks.

start: render the script, submit, persist the job id at once, follow the job until it runs
and its server reports its port, fail fast when the job dies. stop: cancel and confirm.
poll: one batched status query per round for all spawners (:mod:`jobspawner.lifecycle.poller`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import pwd
import re
import secrets
import shlex
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any, ClassVar

from jupyterhub.spawner import Spawner
from jupyterhub.traitlets import Command as HubCommand
from traitlets import (
    All,
    Bool,
    Dict,
    Enum,
    Float,
    Integer,
    List,
    Unicode,
    Union,
    default,
    observe,
)
from traitlets import (
    Any as AnyTrait,
)

from jobspawner.choices import options_form
from jobspawner.choices import user_options as options_validation
from jobspawner.choices.hub_limits import limits_as_requests, with_hub_limits
from jobspawner.choices.option_choices import OptionChoices
from jobspawner.choices.overridden import overridden
from jobspawner.contract.commands import CommandError
from jobspawner.contract.context import BackendContext
from jobspawner.contract.jobspec import JobSpec
from jobspawner.contract.resources import FIELDS, ResourceError, empty, normalise, overlay
from jobspawner.contract.status import JobStatus
from jobspawner.facade import honoured, hook_tracing, hub_compat, hub_integration
from jobspawner.facade.backend import Backend, BackendError, load_backend
from jobspawner.facade.constraints import validate_constraint
from jobspawner.facade.hub_compat import SpawnException
from jobspawner.facade.templates import TemplateError
from jobspawner.jobside import server_proof
from jobspawner.jobside.port_binding import PortChoice, PortChoiceError
from jobspawner.lifecycle import (
    auth_state_sync,
    failed_start,
    internal_certs,
    interrupted_start,
    last_end,
    metrics,
    server_command,
    server_watch,
    started_options,
    status_rounds,
    walltime,
)
from jobspawner.lifecycle.job_record import JobRecord, QueuedStart
from jobspawner.lifecycle.job_session import JobSession
from jobspawner.lifecycle.poller import StatusPoller
from jobspawner.lifecycle.server_watch import ServerWatch, ServerWatchConfig
from jobspawner.lifecycle.session_host import PreparedJob
from jobspawner.lifecycle.session_settings import SessionSettings
from jobspawner.lifecycle.start_clock import StartClock
from jobspawner.lifecycle.user_env import account_environment
from jobspawner.lifecycle.walltime import WalltimeConfig
from jobspawner.transport import routing
from jobspawner.transport.config import TransportConfig, TransportError

_USERNAME = re.compile(r"\A[A-Za-z0-9_][A-Za-z0-9_.@+-]{0,63}\Z")
_SERVER_NAME = re.compile(r"\A[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}\Z")
_JOBNAME_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


def _req(kind: str, help_text: str) -> Any:
    if kind == "int":
        return Integer(None, allow_none=True, config=True, help=help_text)
    return Unicode("", config=True, help=help_text)


class JobSpawner(ServerWatchConfig, TransportConfig, WalltimeConfig, Spawner):  # type: ignore[misc]
    """Start each single-user server as a batch job through a scheduler backend."""

    # --- backend selection ---------------------------------------------------------------
    backend = Unicode(
        "local",
        config=True,
        help="""Name of the scheduler backend (an entry point in `jobspawner.backends`).

        `local` (built in) runs jobs as local processes; install `jobspawner-slurm`,
        `jobspawner-torque` (torque, pbspro, moab), `jobspawner-lsf`, `jobspawner-condor` or
        `jobspawner-sge` for a scheduler. `jobspawner plugins` lists what is installed.""",
    )
    plugins = List(
        Unicode(),
        config=True,
        help="""Site plugin modules whose hook implementations override or wrap the
        backend's, e.g. `["mysite.jobspawner_hooks"]`.""",
    )
    backend_options = Dict(
        config=True,
        help="""Options for the backend (command paths, scheduler knobs); see the backend's
        documentation.""",
    )

    # --- running commands ----------------------------------------------------------------
    exec_prefix = Union(
        [List(Unicode()), Unicode()],
        default_value=[],
        config=True,
        help="""Prefix for every scheduler command, run as the user. `{username}` is
        replaced, e.g. `sudo -E -u {username}` or `["runuser", "-u", "{username}", "--"]`.
        Empty: commands run as the hub's user.""",
    )
    status_exec_prefix = Union(
        [List(Unicode()), Unicode()],
        default_value=None,
        allow_none=True,
        config=True,
        help="""Prefix for status queries. None (the default): as the hub's own identity, so
        that one query per round covers every user's jobs, except for backends whose status
        query reads the users' files (the `local` backend), which query as each user through
        `exec_prefix`. Where the scheduler hides other users' jobs from the hub's account
        (Slurm `PrivateData=jobs` with a hub that is not root), set it to the same value as
        `exec_prefix` to query as each user (one query per user and round).""",
    )
    command_timeout = Float(
        60.0, config=True, help="Seconds before a scheduler command is killed and reported."
    )
    command_env_keep = List(
        Unicode(),
        config=True,
        help="""Names (or shell patterns such as `MYSITE_*`) of the hub's environment variables
        that scheduler commands keep. Commands never inherit the hub's environment, which
        holds the hub's secrets: they get PATH, the locale (LANG, LC_*), TZ and the schedulers'
        own configuration variables (SLURM_CONF, SGE_ROOT, SGE_CELL, LSF_ENVDIR, CONDOR_CONFIG,
        PBS_CONF_FILE, ...) plus the names listed here. Never list a secret.""",
    )
    allow_root_jobs = Bool(
        False,
        config=True,
        help="""Allow a hub running as root to run scheduler commands, and so jobs, as root
        (an empty `exec_prefix`). Off by default: a root hub with no `exec_prefix` refuses to
        start, because every user's job would run as root and the hub would read job logs
        as root. Set an `exec_prefix` such as `["runuser", "-u", "{username}", "--"]`
        instead; turn this on only for a single-user test machine.""",
    )

    # --- the job script --------------------------------------------------------------------
    batch_script = Unicode(
        "",
        config=True,
        help="""Jinja2 template of the job script, replacing the backend's default. Rendered
        in a sandbox; unknown variables are errors. Quote values with the `quote` filter.""",
    )
    template_vars = Dict(
        config=True, help="Extra variables for the job-script template (site-specific)."
    )
    prologue = Unicode("", config=True, help="Shell lines run in the job before the server.")
    epilogue = Unicode("", config=True, help="Shell lines run in the job after the server.")
    job_account = Unicode(
        "{username}",
        config=True,
        help="""The Unix account jobs run as (`{username}`: the hub's login name). The job's
        `HOME`, `USER`, `LOGNAME`, `SHELL` and `{homedir}` come from this account, so set it
        when `exec_prefix` runs jobs as another account than the login name (a shared demo
        or service account, a mapped name).""",
    )
    workdir = Unicode(
        "{homedir}", config=True, help="Working folder of the job ({homedir}, {username})."
    )
    log_dir = Unicode(
        "{homedir}/.jobspawner/logs",
        config=True,
        help="""Folder of the jobs' output files ({homedir}, {username}); created if missing.
            Each user's own: made private (0700) before every job, and refused (before
            anything is submitted) when it is a link or not the user's, such as a shared
            scratch folder: use a subfolder per user there ('/scratch/logs/{username}').""",
    )
    job_name_template = Unicode(
        "jupyter-{username}{server_suffix}",
        config=True,
        help="Job name ({username}, {server_name}, {server_suffix} = '-<server name>' or '').",
    )
    secret_env = List(
        Unicode(),
        config=True,
        help="""Names (or shell patterns such as `MYSITE_*`, case as written) of the job's
        environment variables (`c.Spawner.environment`, `env_keep`) that are always secrets,
        besides the names jobspawner recognises itself (words such as TOKEN, SECRET,
        PASSWORD, PASS, PAT, AUTH, KEY, APIKEY; see docs/security.md). Secrets go to the job
        in its private secrets file, never into the job script or the output of `jobspawner
        render` and `jobspawner check --script`; only the server (`jobspawner-singleuser`)
        gets them, not the job's shell or `prologue`.""",
    )
    log_tail_lines = Integer(
        30,
        config=True,
        help="""Lines of the job's output shown when a spawn fails, and on the spawn page
        after a running server's job ended (jobspawner.lifecycle.last_end). At most 200, from the
        last 64 KiB of the output, and at most 4 KiB of them are kept (docs/security.md).""",
    )

    # --- resources ------------------------------------------------------------------------
    req_queue = _req("str", "Queue or partition.")
    req_account = _req("str", "Account or project to charge.")
    req_qos = _req("str", "Quality of service (Slurm).")
    req_reservation = _req("str", "Reservation name.")
    req_runtime = _req("str", "Wall-clock limit, e.g. 01:00:00, 1-00:00:00, 90m, 8h.")
    req_memory = _req("str", "Memory, e.g. 4G, 512M.")
    req_cpus = _req("int", "CPU cores.")
    req_gpus = _req("int", "GPUs.")
    req_gpu_type = _req("str", "GPU model (for schedulers that take one).")
    req_nodes = _req("int", "Nodes.")
    req_constraint = _req("str", "Node features/constraint expression.")
    req_cluster = _req("str", "Cluster (Slurm multi-cluster -M).")
    req_scheduler_server = _req("str", "Scheduler server (PBS queue@server).")
    req_disk = _req("str", "Scratch disk, e.g. 10G (HTCondor request_disk).")
    user_options_allowed = List(
        Unicode(),
        config=True,
        help=f"""Resources a user may choose through user options (the spawn form or the REST
        API), from: {", ".join(FIELDS)}. Each value is validated; anything else is refused.""",
    )

    # --- profiles and the spawn form (jobspawner.choices.profiles, .user_options, .options_form) --
    profiles = AnyTrait(
        [],
        config=True,
        help="""Spawn profiles users choose from: a list of dicts (display_name, slug,
        description, default, overrides of any JobSpawner setting including backend and
        backend_options, options with choices or bounded free input, groups/users who see
        it), or a callable ``f(spawner)`` returning such a list (may be a coroutine). See
        docs/profiles.md.""",
    )
    resource_cache_ttl = Float(
        60.0,
        config=True,
        help="""Seconds the spawn form's live view of queues and limits is reused before it
        is refreshed in the background.""",
    )
    options_form_wait = Float(
        1.0,
        config=True,
        help="""The longest the spawn form waits for the scheduler's queue list when none is
        cached; after that it renders without the live view and says so.""",
    )
    trace_hooks = Bool(
        False,
        config=True,
        help="""Log (at debug level) every backend hook call and which implementation answered
        it: the backend, a site plugin or the core's default. For debugging site plugins.""",
    )

    # --- timing ---------------------------------------------------------------------------
    startup_poll_interval = Float(
        1.0, config=True, help="Seconds between status checks while a server starts."
    )
    status_interval = Float(
        15.0,
        config=True,
        help="""Seconds between the hub's own status rounds: one query for every job of the
        backend per round (4 a minute at the default, whatever the number of servers). A job
        that ends while its server runs is handled when a round sees it, without waiting for
        JupyterHub's `poll_interval`; a server that says it is stopping (the job was
        cancelled or reached its time limit) gets rounds every `startup_poll_interval` until
        its job is gone. While spawns wait for their jobs, rounds run every
        `startup_poll_interval` for all of them together. 0 turns the hub's rounds off (then
        each JupyterHub poll and each starting spawn asks for itself).""",
    )
    status_max_age = Float(
        10.0,
        config=True,
        help="""How old (seconds) a status answer may be when JupyterHub polls a running
        server. Every query covers all jobs of the backend, so all spawners polling within
        this window share one scheduler query.""",
    )
    host_source = Enum(
        ["scheduler", "server"],
        "scheduler",
        config=True,
        help="""Where the hub takes the host to connect to: the scheduler's execution host
        (through the `get_host` hook) or the host name the server reports. The job only
        chooses its port; a reported host is used only with "server", and only when it is
        inside `server_hosts_allowed`. Unspecified, link-local (cloud metadata), multicast
        and broadcast addresses are refused from either source.""",
    )
    server_hosts_allowed = List(
        Unicode(),
        config=True,
        help="""With `host_source = "server"`: the hosts a job may report, as networks in
        CIDR form (`10.1.0.0/16`, `fd00:1::/64`) and host-name patterns where `*` is any
        part of one label (`node*.cluster.example.org`). Empty: every reported host is
        refused. A reported name may resolve to a loopback address only when a network
        listed here holds it.""",
    )
    host_map = Dict(
        value_trait=Unicode(),
        key_trait=Unicode(),
        config=True,
        help="""Rename the scheduler's execution host before it is used (batchspawner's
        `state_exechost_exp`): `{regex: replacement}`, each regex matched against the whole
        host name, the first match wins, `\\1` and `\\g<name>` refer to its groups, e.g.
        `{r"(node\\d+)": r"\\1.ib.example.org"}`. A host no entry matches is kept. The result
        passes the same routing checks as any host.""",
    )
    server_check_timeout = Float(
        30.0,
        config=True,
        help="""Seconds the hub waits, after the job reported its port, for a Jupyter server
        to answer on the job's host and that port under this server's URL prefix, proving
        that it is the server this start launched (see `require_server_proof`). Anything
        else there fails the spawn.""",
    )
    require_server_proof = Bool(
        True,
        config=True,
        help="""The hub routes only to the server its own start launched: each start makes a
        new key, hands it to the job in the private secrets file only, and the server must
        answer a new challenge with an HMAC of that key
        (`GET <prefix>api/jobspawner/proof?challenge=...`; `jobspawner-singleuser` does).
        A custom `c.JobSpawner.cmd` must run `jobspawner-singleuser` in the end (a wrapper
        script) or answer the same way (docs/security.md). False accepts any HTTP service
        on the job's host and reported port that answers `GET <prefix>api` with JSON
        holding a version, as before: then a program of the user or of anyone else who can
        listen on that node and port is routed the user's browser traffic (her cookies and
        requests) without a login. Set False only for a custom server command that cannot
        answer the proof, on nodes that only trusted programs can listen on.""",
    )

    port_range = Unicode(
        "",
        config=True,
        help="""Ports the server in the job may bind, e.g. "9000-9100", for compute nodes
        whose firewall opens only those to the hub: the server binds the first free one and
        reports it. Empty: any free port. `c.Spawner.port` (non-zero) pins one port instead
        (then two servers cannot share a node). A job that reports a port outside the range
        (or another than the pinned one) is refused: the hub neither probes nor routes there,
        and the spawn fails naming the port and this setting.""",
    )

    internal_certs_dir = Unicode(
        "{homedir}/.jobspawner/certs",
        config=True,
        help="""With `c.JupyterHub.internal_ssl`: the private folder (written as the user,
        mode 0700) where each server's key, certificate and CA bundle are put for its job, in
        a subfolder per server ({homedir}, {username}). List the compute nodes' names in
        `c.Spawner.ssl_alt_names` (e.g. `["DNS:*.cluster.example.org"]`).""",
    )

    # --- the persisted state: one JobRecord (jobspawner.lifecycle.job_record) ---
    record: JobRecord
    api_token: str  # JupyterHub's trait (typed here: a kept start gives its token back)

    @property
    def job_id(self) -> str:
        """The current job's id ("" when none)."""
        return self.record.job_id

    @job_id.setter
    def job_id(self, value: str) -> None:
        self.record.job_id = value

    @property
    def job_output(self) -> str:
        """The current job's output file."""
        return self.record.job_output

    @job_output.setter
    def job_output(self, value: str) -> None:
        self.record.job_output = value

    @property
    def job_secrets(self) -> str:
        """The current job's secrets file, until removed."""
        return self.record.job_secrets

    @job_secrets.setter
    def job_secrets(self, value: str) -> None:
        self.record.job_secrets = value

    @property
    def unconfirmed_cancels(self) -> list[str]:
        """Jobs whose cancel was not confirmed yet."""
        return self.record.unconfirmed_cancels

    @unconfirmed_cancels.setter
    def unconfirmed_cancels(self, value: list[str]) -> None:
        self.record.unconfirmed_cancels = list(value)

    @property
    def start_unfinished(self) -> bool:
        """The job was submitted and its server has not answered yet."""
        return self.record.start_unfinished

    @start_unfinished.setter
    def start_unfinished(self, value: bool) -> None:
        self.record.start_unfinished = value

    _port_future = AnyTrait(None, allow_none=True)

    _backends: ClassVar[dict[tuple[str, tuple[str, ...]], Backend]] = {}
    _pollers: ClassVar[dict[str, StatusPoller]] = {}
    #: Users' auth states (user name -> auth_state) for backends that use them (FirecREST).
    _auth_states: ClassVar[dict[str, dict[str, Any]]] = {}
    #: Their JupyterHub users, to save renewed credentials (:mod:`.auth_state_sync`).
    _auth_state_users: ClassVar[dict[str, Any]] = {}

    # --- defaults that differ from Spawner's ----------------------------------------------
    # Declared as traits (not @default methods) so that `jupyterhub --generate-config` shows
    # them: it reads each trait's declared default.
    poll_interval = Integer(
        300,
        config=True,
        help="""Seconds between JupyterHub's own polls of each running server (JupyterHub's
        default is 30). The hub's status rounds (`status_interval`) already notice a job
        that ended and run JupyterHub's handling at once, so this per-server timer is only a
        safety net; each poll reads the last round's answer. With `status_interval = 0` set
        it back to 30.""",
    )
    cmd = HubCommand(
        ["jobspawner-singleuser"],
        allow_none=True,
        config=True,
        help="""The server command run in the job. It must be `jobspawner-singleuser` (or a
        wrapper that ends by running it with the same arguments and environment): the
        server reports its port to the hub and proves to the hub's check that it is the
        server this start launched (see `require_server_proof`). `jupyterhub-singleuser`
        cannot, and a spawn with it is refused.""",
    )
    ip = Unicode(
        "0.0.0.0",
        config=True,
        help="""The address the server in the job listens on: all of the compute node's
        addresses, since the hub connects from another host.""",
    )
    env_keep = List(
        ["LANG", "LC_ALL"],
        config=True,
        help="""Variables of the hub's environment passed to the job's server. The hub's
        PATH means nothing on a compute node, so only the locale is kept by default; the job
        always gets the user's own HOME, USER, LOGNAME and SHELL.""",
    )
    keep_queued_on_restart = Bool(
        True,
        config=True,
        help="""When JupyterHub restarts while a server is starting (its job queued, or
        running but its server not up yet), keep the job: the user's next start with the
        same options resumes it, keeping its place in the queue, instead of submitting a new
        one (other options cancel it and submit anew). For this, while a start is
        unfinished, its server's API token and check key are kept in the spawner's state in
        the hub's database. False: the restarted hub cancels such a job and the user starts
        over.""",
    )
    start_timeout = Integer(
        7560,
        config=True,
        help="""JupyterHub's limit (seconds) on the whole of a spawn. jobspawner's own
        limits, `queue_timeout` and `server_start_timeout`, end a spawn first with a message
        that says which one ran out; keep this above their sum (the default is 7200 + 300 +
        60 s).""",
    )
    queue_timeout = Float(
        7200.0,
        config=True,
        help="""Seconds a job may wait for the scheduler to start it (pending, held) before
        the spawn is given up and the job cancelled.""",
    )
    server_start_timeout = Float(
        300.0,
        config=True,
        help="""Seconds, from when the scheduler reports the job running, for its server to
        report its port and answer.""",
    )

    @default("apply_user_options")
    def _default_apply_user_options(self) -> Any:
        return JobSpawner._apply_resource_options

    @default("options_form")
    def _default_options_form(self) -> Any:
        if self.profiles or self.user_options_allowed:
            return options_form.options_form
        return ""

    @default("options_from_form")
    def _default_options_from_form(self) -> Any:
        return options_form.options_from_form

    def options_from_query(self, query_data: Mapping[str, Any]) -> Any:
        """``GET /hub/spawn?opt-NAME=...``: the options under their plain names on every
        supported JupyterHub (:func:`jobspawner.facade.hub_compat.query_options`)."""
        return super().options_from_query(hub_compat.query_options(query_data))

    def __init__(self, **kwargs: Any) -> None:
        self.record = JobRecord()  # before the traits: their observers may read it
        super().__init__(**kwargs)
        self._events: list[dict[str, Any]] = []
        self._new_event = asyncio.Event()
        self._starting = False
        self._cancel_task: asyncio.Future[None] | None = None
        #: the user's choice for the next start (jobspawner.choices.user_options, .options_form)
        self.choices = OptionChoices()
        self.current_watch: ServerWatch | None = None  # jobspawner.lifecycle.server_watch
        self.walltime_end: float | None = None  # the end this server was last told
        #: the clock of the last start's wait (for the metrics: which limit ran out)
        self.spawn_clock: StartClock | None = None
        #: this start's server-check key (jobspawner.jobside.server_proof): in memory only
        self._server_check_key = ""
        # a hub that loaded this class without jobspawner's hub integration is told so
        hub_integration.warn_if_missing(self.log)

    # --- backend and commands ---------------------------------------------------------------
    def load(self) -> Backend:
        """The selected backend (loaded once per process per backend/plugins)."""
        key = (self.backend, tuple(self.plugins))
        backend = self._backends.get(key)
        if backend is None:
            backend = load_backend(self.backend, self.plugins)
            self._backends[key] = backend
        if self.trace_hooks:
            hook_tracing.trace_hooks(backend, self.log)
        return backend

    def command_prefix(self, prefix: list[str] | str | None) -> list[str]:
        """``prefix`` (``exec_prefix`` or ``status_exec_prefix``) as argv, ``{username}``
        replaced; refused for a user name that cannot be passed safely."""
        parts = shlex.split(prefix) if isinstance(prefix, str) else list(prefix or [])
        username = self.user.name
        if parts and not _USERNAME.fullmatch(username):
            raise SpawnException(
                f"User name {username!r} cannot be passed to the exec_prefix safely",
                reason="username",
            )
        return [self._with_username("exec_prefix", p) for p in parts]

    def _with_username(self, setting: str, value: str) -> str:
        """``value`` of ``c.JobSpawner.<setting>`` with ``{username}`` replaced."""
        try:
            return value.format(username=self.user.name)
        except (KeyError, IndexError, ValueError) as e:
            raise SpawnException(
                f"c.JobSpawner.{setting} {value!r} has a placeholder other than {{username}}: {e}",
                reason="config",
            ) from e

    def query_prefix(self) -> list[str]:
        """The prefix the status queries run with (the hub's identity unless the backend
        queries per user or ``status_exec_prefix`` is set)."""
        if self.status_exec_prefix is None:
            if status_rounds.status_per_user(self.load()):
                return self.command_prefix(self.exec_prefix)
            return []  # the hub's identity: one query covers every user's jobs
        return self.command_prefix(self.status_exec_prefix)

    def context(self) -> BackendContext:
        backend = self.load()
        keep = tuple(self.command_env_keep)
        try:  # the transport (local or SSH, jobspawner.transport.config) builds the runners
            runner = self.make_runner(
                self.command_prefix(self.exec_prefix), self.command_timeout, keep, log=self.log
            )
            query_runner = self.make_runner(
                self.query_prefix(), self.command_timeout, keep, status=True, log=self.log
            )
        except TransportError as e:
            raise SpawnException(str(e), reason="config") from e
        return BackendContext(
            backend=backend,
            runner=runner,
            query_runner=query_runner,
            options=self.typed_backend_options(),
            username=self.user.name,
            auth_state=self._auth_states.get(self.user.name),
            auth_states=self._auth_states,
            save_auth_state=auth_state_sync.saver(
                self._auth_state_users, self._auth_states, self.log
            ),
        )

    async def _load_auth_state(self) -> None:
        """Share the user's auth state (OIDC tokens) with the backend context, when the
        authenticator keeps one (``c.Authenticator.enable_auth_state``)."""
        try:
            state = await self.user.get_auth_state()
        except Exception as e:  # an auth state that cannot be read is not a reason to fail
            self.log.warning("%s: could not read the auth state: %s", self._log_name, e)
            return
        if state:
            self._auth_states[self.user.name] = dict(state)
            self._auth_state_users[self.user.name] = self.user

    def typed_backend_options(self) -> dict[str, Any]:
        """``backend_options`` checked against the backend's declarations, typed, with the
        declared defaults (:class:`BackendError` names a wrong key or type)."""
        return self.load().checked_options(self.backend_options)

    def root_jobs_refusal(self) -> str | None:
        """Why this configuration must not run, when a root hub would run jobs as root."""
        if self.transport != "local":  # commands run on a login node (jobspawner.transport.config)
            return None if self.allow_root_jobs else self.ssh_root_refusal(self.exec_prefix)
        if os.geteuid() != 0 or self.allow_root_jobs:
            return None
        if not self.load().implemented("submit_command"):
            return None  # an API backend: no command runs on the hub host
        prefix = self.exec_prefix
        parts = shlex.split(prefix) if isinstance(prefix, str) else list(prefix or [])
        if parts:
            return None
        return (
            "the hub runs as root and c.JobSpawner.exec_prefix is empty, so every job would "
            "run as root and job logs would be read as root. Set c.JobSpawner.exec_prefix "
            '(e.g. ["runuser", "-u", "{username}", "--"] or "sudo -u {username}"), or, on a '
            "single-user test machine only, c.JobSpawner.allow_root_jobs = True."
        )

    # --- requests the backend cannot honour (jobspawner.facade.honoured) ---
    def _honoured_fields(self) -> frozenset[str] | None:
        if self.batch_script:  # the site's own template decides what it honours
            return None
        return self.load().resource_fields(self._spec_options())

    def _site_requests(self) -> dict[str, Any]:
        return {key: getattr(self, f"req_{key}") for key in FIELDS}

    def unhonoured_requests_refusal(self, log: Any) -> str | None:
        """At hub start: why ``req_*`` settings stop the hub (warnings go to ``log``)."""
        return honoured.check_at_start(
            self.load(),
            self.typed_backend_options(),
            self._site_requests(),
            self.user_options_allowed,
            bool(self.batch_script),
            log,
        )

    def unhonoured_reason(self, field: str) -> str | None:
        """Why a user option for ``field`` cannot be honoured by the backend, or None."""
        return honoured.user_refusal(self.load().name, field, self._honoured_fields())

    def refuse_unhonoured_option(self, field: str) -> None:
        """A user option for a field the backend ignores is refused (400)."""
        why = self.unhonoured_reason(field)
        if why:
            raise SpawnException(why, reason="user_options", status_code=400)

    def query_cache_key(self, *extra: Any) -> str:
        """The key of every process-wide cache filled by this spawner's query commands
        (status rounds, the live resource view): the backend configuration and the identity
        the commands run as, which is the query prefix and, over SSH, the login account and
        its key (``ssh_status_username`` / ``ssh_status_key_file``, else the user's own).
        Two users whose queries run as different accounts never share an answer."""
        return json.dumps(
            [
                self.backend,
                self.plugins,
                self.query_prefix(),
                self.backend_options,
                self.command_env_keep,
                self.transport_key(status=True),
                *extra,
            ],
            sort_keys=True,
            default=str,
        )

    def poller(self) -> StatusPoller:
        """The poller shared by every spawner with the same backend and query prefix."""
        memo = self._poller_memo  # JupyterHub's polls ask often: the key is built once
        if memo is not None and self._pollers.get(memo[0]) is memo[1]:
            return memo[1]
        key = self.query_cache_key(self.status_interval, self.startup_poll_interval)
        poller = self._pollers.get(key)
        if poller is None:
            ctx = self.context()
            ctx.runner = ctx.query_runner  # a shared poller acts as nobody in particular
            ctx.username = None
            backend = ctx.backend

            async def query(ids: Any) -> Mapping[str, JobStatus]:
                return await backend.query_status(ctx, ids)

            poller = StatusPoller(
                metrics.timed_query(self.backend, query),
                interval=self.status_interval,
                fast_interval=self.startup_poll_interval,
            )
            metrics.count_jobs(self.backend, poller)
            self._pollers[key] = poller
        self._poller_memo = (key, poller)
        return poller

    _poller_memo: tuple[str, StatusPoller] | None = None

    @observe(All)
    def _forget_poller_memo(self, change: Any) -> None:
        """Any setting that changes drops the remembered poller (its key is built anew). A
        setting changed in place (an item of a dict trait) is not seen: assign the trait."""
        self._poller_memo = None

    # --- user options -----------------------------------------------------------------------
    @staticmethod
    def _apply_resource_options(spawner: JobSpawner, user_options: Mapping[str, Any]) -> Any:
        """Default `apply_user_options`: :func:`jobspawner.choices.user_options.apply_user_options`.

        Profiles, their options and ``user_options_allowed``; a value may come as itself
        or as a list of one value. Every refusal is a 400 naming the field and the limit.
        """
        return options_validation.apply_user_options(spawner, user_options)

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

    def get_env(self) -> dict[str, str]:
        """JupyterHub's server environment plus the user's HOME, USER, LOGNAME, SHELL."""
        env: dict[str, str] = super().get_env()
        env.update(account_environment(self.account()))
        env.update(self.port_choice().environment())
        env.update(walltime.job_env(self))
        return env

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
        if self.name and not _SERVER_NAME.fullmatch(self.name):
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

    def _spec_options(self) -> dict[str, Any]:
        try:
            return self.typed_backend_options()
        except BackendError as e:
            raise SpawnException(str(e), reason="config") from e

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

    # --- progress -------------------------------------------------------------------------
    def emit(self, message: str, progress: int) -> None:
        """A progress message of the start (and a line in the hub's log)."""
        if self._events and self._events[-1]["message"] == message:
            return
        self.log.info("%s: %s", self._log_name, message)
        self._events.append({"progress": progress, "message": message})
        self._new_event.set()

    async def progress(self) -> AsyncIterator[dict[str, Any]]:
        sent = 0
        while True:
            while sent < len(self._events):
                yield self._events[sent]
                sent += 1
            if not self._starting:
                return
            self._new_event.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._new_event.wait(), timeout=1.0)

    # --- the port handshake ---------------------------------------------------------------
    def awaiting_port(self) -> bool:
        future = self._port_future
        return bool(self._starting and future is not None and not future.done())

    def port_reported(self, host: str, port: int) -> None:
        """Called by the handshake handler after it checked token, state and types.

        The port is the job's to choose, within ``port_range`` (or the pinned port) when the
        site set one: a port outside it is refused. The reported host is kept only for
        ``host_source = "server"``, and only inside ``server_hosts_allowed``: otherwise this
        raises :class:`~jobspawner.transport.routing.RouteRefused` (the handler answers 400) and the
        spawn fails with the same reason.
        """
        if not self.awaiting_port():
            return
        try:
            outside = self.port_choice().refusal(port)
            if outside:
                raise routing.RouteRefused(outside)
            if self.host_source == "server":
                routing.check_reported_host(host, self.hosts_allowed())
        except routing.RouteRefused as e:
            self.log.warning("%s: refused a port report: %s", self._log_name, e)
            self._port_future.set_exception(
                SpawnException(f"The job's port report was refused: {e}.", reason="route")
            )
            raise
        self._port_future.set_result((host, port))

    def hosts_allowed(self) -> routing.HostAllowList:
        """``server_hosts_allowed`` parsed; a bad entry is a config error naming it."""
        return self.job_session().hosts_allowed()

    @property
    def _user_resources(self) -> dict[str, Any]:
        """The user's resource values (``choices.resources``), under the name a site's own
        ``apply_user_options`` may set them by."""
        return self.choices.resources

    @_user_resources.setter
    def _user_resources(self, value: dict[str, Any]) -> None:
        self.choices.resources = value

    # --- what helpers read of JupyterHub's side -------------------------------------------
    @property
    def log_name(self) -> str:
        """This server's name in the hub's log (``alice`` or ``alice:name``)."""
        return str(self._log_name)

    @property
    def starting(self) -> bool:
        """A start of this server runs in this hub process."""
        return self._starting

    @property
    def stop_pending(self) -> bool:
        """JupyterHub is stopping this server (a stop asked through the hub)."""
        return bool(self._stop_pending)

    @property
    def polled(self) -> bool:
        """JupyterHub polls this server (it runs, as far as JupyterHub knows)."""
        return self._poll_callback is not None

    # --- the job session (jobspawner.lifecycle.job_session) ---
    def session_settings(self, starting: bool = False) -> SessionSettings:
        """The settings the session reads, now (``starting``: with what the start asks for,
        its profile's overrides applied)."""
        if not starting:
            return SessionSettings.of(self)
        keep = self.keep_queued_on_restart or self.record.queued is not None
        return SessionSettings.of(
            self,
            request=self._request() if keep else None,
            job_settings=options_validation.job_settings(self),
        )

    def job_session(self, settings: SessionSettings | None = None) -> JobSession:
        """This server's jobs as the hub acts on them (start, poll, cancel and confirm),
        reading ``settings`` (by default the settings now)."""
        return JobSession(
            self.record,
            self.context,
            self.poller,
            self,
            self.log,
            self._log_name,
            settings or self.session_settings(),
        )

    def persist(self, record: JobRecord) -> None:
        """The session's report: write the record (this spawner's) to the database now."""
        self._persist_state()

    # --- lifecycle ------------------------------------------------------------------------
    def _persist_state(self) -> None:
        """Write the state to the hub database now (not only after start returns)."""
        orm_spawner = self.orm_spawner
        if orm_spawner is None:
            return
        from sqlalchemy import exc, inspect

        try:
            session = inspect(orm_spawner).session
        except exc.NoInspectionAvailable:  # not a database object (tools, tests)
            return
        if session is None:
            return
        orm_spawner.state = self.get_state()
        session.commit()

    async def start(self) -> str:
        self._events = []
        self._starting = True
        self.record.last_failure = {}
        last_end.forget(self)
        walltime.forget(self)
        self.stop_server_watch()
        try:
            await self._load_auth_state()
            return await self._start()
        except Exception as e:
            failed_start.record_failure(self.record, e)  # kept in the record, shown in plain words
            metrics.spawn_failed(self, e)
            self._persist_state()
            raise
        finally:
            self._starting = False
            self._new_event.set()

    async def _start(self) -> str:
        """Check the configuration, then run the start in a session (:mod:`.job_start`)
        that reads the settings as they are now, the profile's overrides applied."""
        began = time.monotonic()
        try:
            self.load()
            ctx = self.context()
        except BackendError as e:
            self.log.error("jobspawner backend error: %s", e)
            raise SpawnException(str(e), reason="backend") from e
        refusal = self.root_jobs_refusal()
        if refusal:
            self.log.error("jobspawner refuses to spawn: %s", refusal)
            raise SpawnException(
                "The hub is not configured to start servers safely; ask an administrator.",
                reason="config",
            )
        self._refuse_foreign_server()
        session = self.job_session(self.session_settings(starting=True))
        fresh_token = str(self.api_token or "")
        start = await session.begin_start(self, ctx)
        self.watch_job(hurry=True)
        try:
            url = await start.wait_until_ready(began)
        except BaseException:
            self.transport_close()
            if start.adopted:  # the kept token goes; JupyterHub's stop deletes this start's own
                self.revoke_token(str(self.api_token or ""))
                self.api_token = fresh_token
            # end the spawn now (JupyterHub gives a cancelled spawn one second before it
            # calls stop); the cancel and its confirmation go on in a task stop() waits for
            self._cancel_task = asyncio.ensure_future(session.cancel_after_failed_start(ctx))
            raise
        finally:
            self.spawn_clock = start.clock  # kept for the metrics (which limit ran out)
        self.record.finish_start()
        started_options.remember(self, started_options.readable(self.resources()))
        self._persist_state()
        self._start_server_watch(url)
        metrics.spawn_ready(self)
        return url

    # --- what a start asks of JupyterHub's side (jobspawner.lifecycle.session_host.StartHost) ---
    def prepare_job(self) -> PreparedJob:
        """This start's job: its spec, its script (logged, the token redacted), its key."""
        spec = self.build_spec()
        script = self.render(spec)
        self._log_script(script)
        return PreparedJob(spec, script, self._server_check_key)

    def expect_port(self) -> asyncio.Future[tuple[str, int]]:
        """A new future for the port report (:meth:`port_reported` resolves it)."""
        self._port_future = asyncio.get_running_loop().create_future()
        future: asyncio.Future[tuple[str, int]] = self._port_future
        return future

    def server_token(self) -> str:
        """The API token this start gives its server."""
        return str(self.api_token or "")

    def use_kept_token(self, token: str) -> None:
        """The kept job's server holds ``token`` (see
        :mod:`jobspawner.lifecycle.interrupted_start`)."""
        self.api_token = token

    def token_known(self, token: str) -> bool:
        """Whether ``token`` is still this user's token in JupyterHub's database."""
        return interrupted_start.token_known(self.orm_spawner, token)

    def revoke_token(self, token: str) -> None:
        """Delete a kept start's server token from JupyterHub's database."""
        if interrupted_start.revoke_token(self.orm_spawner, token, self.log, self._log_name):
            self.log.info("%s: deleted the server token of a kept start", self._log_name)

    def kept_job_access(self, queued: QueuedStart) -> tuple[BackendContext, StatusPoller]:
        """The backend, identity and poller a kept job was submitted with."""
        known = {
            k: v for k, v in queued.job_settings.items() if k in options_validation.JOB_SETTINGS
        }
        with overridden(self, known):
            return self.context(), self.poller()

    def server_prefix(self) -> str:
        """This server's URL prefix (``/user/alice/`` or ``/user/alice/name/``)."""
        server = self.server
        if server is not None:
            return str(server.base_url)
        from jupyterhub.utils import url_path_join

        return str(url_path_join(self.user.url, f"{self.name}/" if self.name else ""))

    def check_ssl_context(self) -> Any:
        """The TLS context the hub uses to reach servers (internal_ssl), else None."""
        if not self.internal_ssl:
            return None
        from jupyterhub.utils import make_ssl_context

        settings = getattr(self.user, "settings", None) or {}
        return make_ssl_context(
            settings.get("internal_ssl_key"),
            settings.get("internal_ssl_cert"),
            cafile=settings.get("internal_ssl_ca"),
        )

    def _request(self) -> dict[str, Any]:
        """What this start asks for, normalised (:func:`.interrupted_start.request_of`)."""
        return interrupted_start.request_of(
            self.record.profile, self.resources(), self.choices.variables
        )

    def _refuse_foreign_server(self) -> None:
        """Fail at once when c.Spawner.cmd cannot report its port (jupyterhub-singleuser)."""
        refusal = server_command.refusal(self.cmd)
        if refusal:
            self.log.error("jobspawner refuses to spawn %s: %s", self._log_name, refusal)
            raise SpawnException(
                "The hub's server command is misconfigured, so no server can start; ask an "
                "administrator (the hub's log says what to change).",
                reason="config",
            )

    def _log_script(self, script: str) -> None:
        """The job script at debug level, the API token (should it be there) redacted."""
        token = str(self.api_token or "")
        shown = script.replace(token, "<redacted>") if token else script
        self.log.debug("%s: job script:\n%s", self._log_name, shown)

    # --- poll -------------------------------------------------------------------------------
    async def poll(self) -> int | None:
        """None while the job exists (pending, held, running, suspended, or unknown because
        the scheduler did not answer); an exit status once it has ended."""
        if self._cancel_task is not None and not self._cancel_task.done():
            return None  # a cancel is being confirmed: let JupyterHub call stop() to wait
        if not self.job_id:
            return 0
        if self.start_unfinished and not self._starting:
            return await self._end_interrupted_start()
        await self._load_auth_state()
        return await self.job_session().poll(self)

    async def _end_interrupted_start(self) -> int:
        """End a start that a hub restart interrupted: keep its job for the user's next
        start (``keep_queued_on_restart``) or cancel it, and tell the user
        (:mod:`jobspawner.lifecycle.interrupted_start`); JupyterHub then stops the server."""
        session = self.job_session()
        message = session.keep_interrupted_start(self)
        if message is None:
            await self._load_auth_state()
            message = await session.cancel_interrupted_start(self)
        self._spawn_future = interrupted_start.failed_spawn(message)
        return 1

    # --- why the last server stopped, told to the user (jobspawner.lifecycle.last_end) ---
    async def note_job_end(self, status: JobStatus, words: str | None = None) -> None:
        """Keep why a running server's job ended, for the spawn page and the session view."""
        try:
            await last_end.note_end(self, status, words)
        except Exception as e:  # telling the user must never stop JupyterHub's handling
            self.log.warning("%s: could not record why job %s ended: %s", self._log_name,
                             self.job_id, e)  # fmt: skip

    async def get_options_form(self) -> Any:
        """The spawn form, with why the last server stopped at its top (while recorded)."""
        return last_end.form_with_notice(self, await super().get_options_form())

    # --- internal_ssl (jobspawner.lifecycle.internal_certs) ---
    def _internal_certs_folder(self) -> str:
        try:
            return internal_certs.job_folder(
                self.internal_certs_dir, self._homedir(), self.user.name, self.name
            )
        except (ValueError, KeyError, IndexError) as e:
            raise SpawnException(str(e), reason="config") from e

    async def move_certs(self, paths: dict[str, str]) -> dict[str, str]:
        """Put the server's certificates where its job, running as the user, reads them."""
        folder = self._internal_certs_folder()
        await self._load_auth_state()
        try:
            return await internal_certs.move_to_job(self.context(), paths, folder)
        except (CommandError, OSError) as e:
            self.log.error(
                "%s: could not write the certificates to %s: %s", self._log_name, folder, e
            )
            raise SpawnException(
                f"The server's certificates could not be written to {folder}: {e}",
                reason="internal_ssl",
            ) from e

    async def _remove_internal_certs(self) -> None:
        if not self.internal_ssl:
            return
        try:
            await internal_certs.remove_from_job(self.context(), self._internal_certs_folder())
        except (CommandError, SpawnException) as e:
            self.log.warning("%s: could not remove the certificates: %s", self._log_name, e)

    async def stop(self, now: bool = False) -> None:
        self.stop_server_watch()
        await self._load_auth_state()
        task, self._cancel_task = self._cancel_task, None
        if task is not None:
            await task  # the cancel started when the start failed or was cancelled
        self.transport_close()
        await self._remove_internal_certs()
        if self.job_id:
            await self.job_session().cancel(self.job_id)
        elif self.unconfirmed_cancels:
            raise RuntimeError(
                f"{self._log_name}: the cancel of job(s) {', '.join(self.unconfirmed_cancels)} "
                "is not confirmed; it is retried at the next start"
            )

    # --- the server watch (jobspawner.lifecycle.server_watch) ---
    def _start_server_watch(self, url: str) -> None:
        """Hold an idle connection to the server just verified at ``url``'s address."""
        address = server_watch.routed_address(url)
        if address is not None:
            server_watch.start_watch(self, *address)

    def stop_server_watch(self) -> None:
        """End the server watch, if any."""
        server_watch.stop_watch(self)

    async def server_watch_poll(self) -> int | None:
        """None, or an exit status when the watch says the server is lost."""
        return await server_watch.poll_running(self)

    # --- shared status rounds (jobspawner.lifecycle.status_rounds) ---
    def watch_job(self, hurry: bool = False) -> None:
        """Put the current job in the shared rounds; hear when a round sees it ended."""
        poller = self.poller()
        schedule = status_rounds.run_soon(self.poll_and_notify)
        poller.watch(self.job_id, status_rounds.notify_listener(self, schedule))
        if hurry:
            poller.hurry(self.job_id)

    def job_end_hinted(self) -> None:
        """The job's server said it is stopping: follow its job closely for a while."""
        if self.job_id:
            self.poller().hurry(self.job_id, seconds=20.0)

    async def rename(self, old_name: str, new_name: str) -> None:
        """JupyterHub 6 renames only stopped servers; the state (a cancel still to confirm)
        stays with the renamed server, and its next job is named after the new name.

        Refused while a job is still recorded (a cancel being confirmed, or a job left by a
        crash): that job's server answers under the old name's URL only. A job kept from a
        start a hub restart interrupted would too: it is cancelled (as for other options).
        """
        if self.record.queued is not None:
            await self._load_auth_state()
            await self.job_session().drop_kept_start(self, self.record.queued, cancel=True)
        busy = self._cancel_task is not None and not self._cancel_task.done()
        if self.job_id or busy:
            job = self.job_id or "of its last start"
            raise SpawnException(
                f"The server {old_name!r} cannot be renamed yet: its job {job} has not been "
                "confirmed ended. Stop the server, wait a moment, and try again.",
                reason="rename",
                status_code=409,
            )
        if not _SERVER_NAME.fullmatch(new_name):
            raise SpawnException(
                f"Invalid server name {new_name!r}", reason="server_name", status_code=400
            )
        self.log.info("%s: renamed %r -> %r", self._log_name, old_name, new_name)

    async def delete_forever(self) -> None:
        """A deleted server's job kept from an interrupted start is cancelled (no orphan)."""
        if self.record.queued is not None:
            await self._load_auth_state()
            await self.job_session().drop_kept_start(self, self.record.queued, cancel=True)

    # --- state: the record (jobspawner.lifecycle.job_record) ---
    def get_state(self) -> dict[str, Any]:
        state: dict[str, Any] = super().get_state()
        record = self.record
        if record.job_id:  # what the job was submitted with, to poll and cancel it later
            record.backend = self.backend
            record.job_settings = options_validation.job_settings(self)
            record.forward = self.ssh_forward_state
        state.update(record.to_state())
        return state

    def load_state(self, state: dict[str, Any]) -> None:
        super().load_state(state)
        self.record = record = JobRecord.from_state(state, self.log, self._log_name)
        self.ssh_forward_state = record.forward
        options_validation.restore_settings(self, record)  # before the job is polled
        if record.job_id:
            # after a hub restart every spawner's first poll then shares one query
            try:
                self.watch_job()
            except Exception as e:  # loading state must never fail on this
                self.log.debug("could not watch job %s: %s", record.job_id, e)
        self.job_session().watch_kept_start(self)
        if record.backend and record.backend != self.backend and record.job_id:
            self.log.warning(
                "%s: job %s was submitted with backend %r, now %r",
                self._log_name,
                record.job_id,
                record.backend,
                self.backend,
            )

    def clear_state(self) -> None:
        super().clear_state()
        self.record.forget_job()
        self.ssh_forward_state = None
        # unconfirmed cancels survive: they are retried at the next start; so does why the
        # last server stopped (jobspawner.lifecycle.last_end), for the user's next visit
