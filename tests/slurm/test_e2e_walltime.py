"""End to end in Chromium, through a real hub, on real Slurm: JupyterLab counts down the job's
time left, warns before the walltime, saves a notebook left unsaved, and the hub's spawn page
then says the job reached its time limit and what was saved, and starting again with the same
options opens the same notebook (jobspawner.lifecycle.walltime).

One short job: it asks for 5 minutes, and once its JupyterLab counts those down the time limit
is cut to Slurm's minimum, 1 minute (``scontrol update TimeLimit``), so the countdown, the
warning and the save follow the changed end within the minute. Before that, the warning
signal Slurm sends the batch shell (``--signal=B:USR1@...``, sent here with ``scancel``)
saves an edit at once.
"""

from __future__ import annotations

import re
import subprocess
import time

import pytest
from browser.test_spawn_page import browser, signed_in  # noqa: F401 - the fixture
from harness.hub import running_hub
from harness.waiting import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.scheduler("slurm"), pytest.mark.root]

CONFIG = """
c.JobSpawner.req_queue = "long"
c.JobSpawner.req_runtime = "5m"
c.JobSpawner.default_url = "/lab"
c.JobSpawner.status_interval = 2
c.JobSpawner.walltime_warnings = [55]
c.JobSpawner.walltime_save_before = 25
c.JobSpawner.user_options_allowed = ["runtime"]
"""
NOTEBOOK = {
    "type": "notebook",
    "content": {
        "cells": [{"cell_type": "code", "source": "", "metadata": {}, "outputs": [],
                   "execution_count": None}],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                    "language": "python"}},
        "nbformat": 4, "nbformat_minor": 5,
    },
}  # fmt: skip


def test_jupyterlab_counts_down_warns_and_saves_before_the_walltime(
    tmp_path,
    clean_queue,
    browser,  # noqa: F811
):
    began = time.monotonic()
    with running_hub(tmp_path, backend="slurm", config=CONFIG) as hub:
        hub.start_server("alice", options={"runtime": "5m"}, timeout=90)
        job_id = hub.spawner_state("alice")["job_id"]
        r = hub_request(hub, "PUT", "api/contents/walltime.ipynb", json=NOTEBOOK)
        assert r.status_code in (200, 201), r.text

        page = signed_in(browser, hub, "alice")
        page.goto(f"{hub.url}/user/alice/lab/tree/walltime.ipynb")
        item = page.locator(".jobspawner-walltime")
        item.wait_for(timeout=60_000)
        assert wait_for(lambda: re.fullmatch(r"Job: [45] min left", item.inner_text()), 30)
        # an edit left unsaved, then the scheduler's warning signal: saved at once
        cell = page.locator(".jp-Notebook .jp-Cell .cm-content").first
        cell.click()
        page.keyboard.type("signalled = 1")
        assert wait_for(lambda: page.locator(".jp-mod-dirty").count() > 0, 10)
        subprocess.run(["scancel", "--batch", "--signal=USR1", job_id], check=True)
        assert wait_for(lambda: "signalled = 1" in saved_text(hub), 20)
        # another edit left unsaved
        cell.click()
        page.keyboard.press("End")
        page.keyboard.type("; kept = 'typed before the walltime'")
        assert wait_for(lambda: page.locator(".jp-mod-dirty").count() > 0, 10)

        # the limit cut to 1 minute: the end the scheduler reports moves, and JupyterLab follows
        subprocess.run(["scontrol", "update", f"JobId={job_id}", "TimeLimit=1"], check=True)
        assert wait_for(lambda: re.fullmatch(r"Job: \d+ s left", item.inner_text()), 30)
        page.get_by_text("reaches its time limit in").first.wait_for(timeout=30_000)
        # saved before the end, by JupyterLab, without the user asking
        assert wait_for(lambda: "typed before the walltime" in saved_text(hub), 40)

        # the scheduler ends the job; the hub tells her on the spawn page
        assert wait_for(lambda: "last_end" in hub.spawner_state("alice"), 90)
        page.goto(f"{hub.url}/hub/spawn/alice")
        notice = page.locator("#jobspawner-last-end").inner_text()
        assert f"its batch job {job_id} reached its time limit." in notice, notice
        assert "were saved before it ended: walltime.ipynb." in notice, notice
        # start again with the same options: JupyterLab opens the same notebook
        page.get_by_role("link", name="Start again with the same options").click()
        page.wait_for_url(re.compile(r".*/user/alice/lab.*"), timeout=90_000)
        tab = page.locator(".lm-TabBar-tabLabel", has_text="walltime.ipynb")
        tab.first.wait_for(timeout=60_000)
        assert hub.spawner_state("alice")["options"] == {"runtime": "5m"}
        hub.stop_server("alice")
    print(f"walltime e2e took {time.monotonic() - began:.0f} s")


def hub_request(hub, method: str, path: str, **kwargs):
    import requests

    token = hub.user_token("alice")
    url = f"{hub.url}/user/alice/{path}"
    return requests.request(
        method, url, headers={"Authorization": f"token {token}"}, timeout=30, **kwargs
    )


def saved_text(hub) -> str:
    r = hub_request(hub, "GET", "api/contents/walltime.ipynb")
    return r.text if r.status_code == 200 else ""
