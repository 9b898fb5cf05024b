"""jobspawner's part in JupyterHub's start: the start-up checks and the registration of its
handlers and pages (:func:`install`, called by :mod:`jobspawner.web.hub_entry`).

JupyterHub has no extension point for a spawner at start: it imports the spawner class
while it builds its list of configurable classes, before its config is loaded. Its
``init_handlers`` runs after the config is loaded and before the hub listens; :func:`install`
wraps it so that there the configured backend is checked (:func:`check_backend_at_start`:
a wrong setting stops the hub with the reason, instead of failing the first spawn) and the
port report, the stop notice, the session view and the walltime handlers are added to the
lists JupyterHub builds its handlers from. It also installs the *Sessions* link on every hub
page (:func:`jobspawner.web.nav_link.install`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tornado.log import app_log, gen_log

from jobspawner.choices import refusal_log
from jobspawner.choices.profiles import static_profiles_refusal
from jobspawner.facade import hub_compat
from jobspawner.facade.backend import Backend, BackendError, load_backend
from jobspawner.facade.hub_integration import wrap_once
from jobspawner.lifecycle import end_report, handshake, metrics, walltime
from jobspawner.spawner import JobSpawner
from jobspawner.web import nav_link, session_view


def check_backend_at_start(app: Any) -> None:
    """Load the configured backend (and site plugins) for a starting hub; stop it otherwise.

    A wrong backend name, a broken backend package or a misspelled hook in a site plugin
    stops the hub at start with the reason, instead of failing the first spawn.
    """
    spawner_class = app.spawner_class
    if not (isinstance(spawner_class, type) and issubclass(spawner_class, JobSpawner)):
        return
    unsupported = hub_compat.unsupported_reason(hub_compat.hub_version())
    if unsupported:
        app.log.critical("jobspawner cannot start: %s", unsupported)
        app.exit(1)
        return
    probe = spawner_class(config=app.config)
    key = (probe.backend, tuple(probe.plugins))
    try:
        # loaded afresh, and kept for the spawners (JobSpawner.load)
        backend = JobSpawner._backends[key] = load_backend(probe.backend, probe.plugins)
        check_options_at_start(backend, probe.backend_options, app.log)
    except BackendError as e:
        app.log.critical("jobspawner cannot start: %s", e)
        app.exit(1)
        return
    refusal = (
        probe.transport_config_error()
        or probe.root_jobs_refusal()
        or probe.unhonoured_requests_refusal(app.log)
        or static_profiles_refusal(probe.profiles, sorted(probe.traits(config=True)))
    )
    if refusal:
        app.log.critical("jobspawner cannot start: %s", refusal)
        app.exit(1)
        return
    metrics.declare(probe)  # every spawn series exists from the start, at 0


def check_options_at_start(backend: Backend, options: Mapping[str, Any], log: Any) -> None:
    """Refuse (BackendError) backend options the backend does not declare or cannot take;
    warn when the backend declares none, so nothing can be checked."""
    if not backend.declares_options():
        log.warning(
            'The jobspawner backend "%s" declares no options; c.JobSpawner.backend_options '
            "is passed on unchecked.",
            backend.name,
        )
    backend.checked_options(options)


def register_handlers() -> None:
    """Add every handler and page of jobspawner to JupyterHub's lists (idempotent)."""
    handshake.register()  # the port report
    end_report.register()  # the server's stop notice
    session_view.register()  # the session page and its API
    walltime.register()  # the server's end, for its page


def _at_init_handlers(app: Any) -> None:
    """What JupyterHub's ``init_handlers`` does first (``app``: the starting hub)."""
    check_backend_at_start(app)
    refusal_log.install(app.log, app_log, gen_log)  # a refused option: one WARNING line
    register_handlers()


def install() -> None:
    """Hook into JupyterHub's start (idempotent): its ``init_handlers`` first checks the
    backend and registers the handlers; its templates get the *Sessions* link."""
    from jupyterhub.app import JupyterHub

    wrap_once(JupyterHub, "init_handlers", _at_init_handlers)
    nav_link.install()  # the session view's link on every hub page
