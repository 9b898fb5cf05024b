"""``jobspawner render`` and ``check --script`` print the script a real spawn submits.

Before: the CLI rendered without the server's URL prefix and with the config's run time where
a spawn used the default profile's, so an admin checked another script than the one run."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap

import pytest
from harness.hub import running_hub

CONFIG = """
c.Application.log_level = "DEBUG"
c.JobSpawner.req_runtime = "8h"
c.JobSpawner.profiles = [
    {"slug": "short", "display_name": "Short", "default": True,
     "overrides": {"req_runtime": "1h"}},
    {"slug": "long", "display_name": "Long", "overrides": {"req_runtime": "4h"}},
]
"""


def spawned_script(log: str, user: str) -> str:
    match = re.search(rf"{user}: job script:\n(.*?)(?=\n\[[A-Z] \d{{4}}-)", log, re.S)
    assert match, "the hub logged no job script"
    # the hub's log formatter indents the lines after a message's first
    return textwrap.dedent(match.group(1)).rstrip() + "\n"


def comparable(script: str) -> str:
    """Without what differs between any two renderings: the token (redacted in both), and
    names made fresh for each job (the secrets file's)."""
    return re.sub(r"\.[^/\s'\"]*\.secrets", ".<secrets>", script)


@pytest.mark.e2e
def test_render_prints_what_a_spawn_with_the_default_profile_submits(tmp_path):
    with running_hub(tmp_path, config=CONFIG) as hub:
        hub.start_server("alice")
        submitted = spawned_script(hub.log_text(), "alice")
        hub.stop_server("alice")
        config = str(tmp_path / "hub" / "jupyterhub_config.py")
        rendered = subprocess.run(
            [sys.executable, "-m", "jobspawner.cli", "render", "-f", config, "--user", "alice"],
            capture_output=True, text=True, timeout=120, check=True,
        ).stdout  # fmt: skip
        checked = subprocess.run(
            [sys.executable, "-m", "jobspawner.cli", "check", "-f", config, "--user", "alice",
             "--script"],
            capture_output=True, text=True, timeout=120,
        ).stdout  # fmt: skip
    assert "JUPYTERHUB_SERVICE_PREFIX=/user/alice/" in submitted
    assert "01:00:00" in submitted or "3600" in submitted  # the default profile's hour
    assert comparable(rendered) == comparable(submitted)
    body = checked.split("--- job script (secrets redacted) ---\n", 1)[1]
    body = body.split("--- end of job script ---", 1)[0]
    assert comparable(body).strip() == comparable(submitted).strip()
