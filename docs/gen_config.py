"""Regenerate docs/configuration.md from JobSpawner's traits: python docs/gen_config.py"""

from __future__ import annotations

import inspect
import sys
from pathlib import Path

from jobspawner.spawner import JobSpawner
from jupyterhub.spawner import Spawner


def render() -> str:
    own = {
        name: trait
        for name, trait in JobSpawner.class_traits(config=True).items()
        if name not in Spawner.class_traits(config=True)
        or name in {"cmd", "ip", "env_keep", "start_timeout"}
    }
    lines = [
        "# Configuration reference",
        "",
        "Generated from the traits' help by `python docs/gen_config.py`; a test fails when",
        "a trait is missing here. Every `Spawner` option of JupyterHub applies too",
        "(`start_timeout`, `http_timeout`, `poll_interval`, `default_url`, `args`, ...).",
        "",
    ]
    for name in sorted(own):
        trait = own[name]
        default = trait.default_value_repr()
        if name == "apply_user_options":
            default = repr(getattr(JobSpawner, f"_default_{name}")(None))
        help_text = inspect.cleandoc(trait.help or "").strip()
        lines += [
            f"## `c.JobSpawner.{name}`",
            "",
            f"{type(trait).__name__}, default `{default}`",
            "",
            help_text,
            "",
        ]
    return "\n".join(lines)


if __name__ == "__main__":
    Path(__file__).with_name("configuration.md").write_text(render())
    sys.exit(0)
