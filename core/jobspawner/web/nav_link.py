"""A *Sessions* link to the session view in the navigation bar of every hub page.

JupyterHub renders its pages from templates that all extend ``page.html``, whose navigation
bar has the block ``nav_bar_left_items`` (the same in JupyterHub 5.x and 6.x). jobspawner
ships a ``page.html`` that extends JupyterHub's own (``templates/page.html``) and adds the
link to that block, and puts its folder into ``c.JupyterHub.template_paths`` just before
JupyterHub's default folder: after any folder the site configured. So a site's own
``page.html`` still wins (it can add the link itself, see docs/profiles.md), and a hub whose
spawner is not JobSpawner is left alone.
"""

from __future__ import annotations

import os
from importlib import resources
from typing import Any

from jobspawner.facade.hub_integration import wrap_once
from jobspawner.lifecycle.job_server import JobServer

#: The folder of jobspawner's page.html.
TEMPLATES = str(resources.files("jobspawner") / "web" / "hub")


def add_template_path(app: Any) -> None:
    """Put :data:`TEMPLATES` into ``app.template_paths`` before JupyterHub's default folder
    (for a hub whose spawner is JobSpawner; idempotent)."""
    spawner_class = app.spawner_class
    if not (isinstance(spawner_class, type) and issubclass(spawner_class, JobServer)):
        return
    paths = [str(p) for p in app.template_paths]
    if TEMPLATES in paths:
        return
    default = os.path.join(app.data_files_path, "templates")
    where = paths.index(default) if default in paths else len(paths)
    app.template_paths = [*paths[:where], TEMPLATES, *paths[where:]]


def install() -> None:
    """Hook into JupyterHub's ``init_tornado_settings``, where its templates are set up
    (after its config is loaded; idempotent)."""
    from jupyterhub.app import JupyterHub

    wrap_once(JupyterHub, "init_tornado_settings", add_template_path)
