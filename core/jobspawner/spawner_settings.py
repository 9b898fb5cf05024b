"""The settings of :class:`jobspawner.spawner.JobSpawner` that are its own (``c.JobSpawner.*``):
the backend and its commands, the job script, the resources, the profiles and the form, the
timing and routing of a start. A mixin of ``JobSpawner``, as the server watch's, the
transport's and the walltime notices' settings are in their rooms; the defaults that differ
from JupyterHub's ``Spawner`` stay on the class itself. Declarations only: what reads them
lives in the rooms that use them.
"""

from __future__ import annotations

from typing import Any

from traitlets import Any as AnyTrait
from traitlets import Bool, Dict, Enum, Float, HasTraits, Integer, List, Unicode, Union

from jobspawner.contract.resources import FIELDS


def _req(kind: str, help_text: str) -> Any:
    if kind == "int":
        return Integer(None, allow_none=True, config=True, help=help_text)
    return Unicode("", config=True, help=help_text)


class JobSpawnerSettings(HasTraits):
    """``c.JobSpawner`` settings of jobspawner's own (a mixin of ``JobSpawner``)."""

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

    # --- a start interrupted by a hub restart, and the limits of a start ------------------
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
