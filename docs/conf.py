"""Sphinx configuration of the jobspawner docs: `./run docs` builds docs/_build/html."""

from __future__ import annotations

project = "jobspawner"
author = "jobspawner developers"
extensions = ["myst_parser"]
source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "README.md"]
myst_heading_anchors = 3
html_theme = "alabaster"
html_title = "jobspawner"
# links to the repository's files (README, source) are not pages of this site
suppress_warnings = ["myst.xref_missing", "myst.header"]
