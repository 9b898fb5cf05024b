"""The spawner as JupyterHub names it: importing this module installs jobspawner's hub
integration (:func:`jobspawner.web.hub_start.install`) and gives :class:`JobSpawner`.

``c.JupyterHub.spawner_class = "jobspawner"`` (the ``jupyterhub.spawners`` entry point) and
``"jobspawner.JobSpawner"`` (the package's lazy name, which imports this module) both come
here, and so does a site's subclass of ``from jobspawner import JobSpawner``. JupyterHub also
loads every ``jupyterhub.spawners`` entry point when it builds its list of configurable
classes, before it reads its config: in a hub where jobspawner is installed the integration
is in place whatever ``spawner_class`` names (``"jobspawner.spawner.JobSpawner"`` too). A
JobSpawner made in a hub without it says so
(:func:`jobspawner.facade.hub_integration.warn_if_missing`).
"""

from __future__ import annotations

from jobspawner.spawner import JobSpawner
from jobspawner.web.hub_start import install

install()

__all__ = ["JobSpawner"]
