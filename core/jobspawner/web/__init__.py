"""jobspawner inside JupyterHub: its integration into the hub's start and its pages.

* :mod:`.hub_entry` is the spawner as the hub names it (the ``jupyterhub.spawners`` entry
  point ``jobspawner``, and ``jobspawner.JobSpawner``): importing it installs
  :mod:`.hub_start`, the start-up checks and the registration of every handler and page.
* The templates of the pages (``*.html``) and, in ``hub/``, the ``page.html`` that adds the
  *Sessions* link to every hub page (:mod:`jobspawner.web.nav_link`).

The spawner and its lifecycle never import this package (an import contract in
pyproject.toml): importing :mod:`jobspawner.spawner` changes nothing in JupyterHub.
"""
