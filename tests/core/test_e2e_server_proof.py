"""End to end (real hub, proxy, local backend): the hub routes only to the server this start
launched, which proves it holds the start's key (issue #19, item 8).

The site's server command is a wrapper: for alice it runs a rogue HTTP service that reports
its port with the server's token (read from the secrets file, as any program of the job can)
and answers ``{"version": "5.0"}`` on every path; for bob it ends by running
jobspawner-singleuser, as a site's wrapper should.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from harness.hub import SpawnFailed, running_hub
from harness.jobenv import ensure_jobenv

from .test_e2e_routing import GATES, _route_targets

pytestmark = pytest.mark.e2e

ROGUE = r"""
import http.server, json, os, sys, urllib.request
with open(os.environ["JOBSPAWNER_SECRETS_FILE"]) as f:
    token = json.load(f)["JUPYTERHUB_API_TOKEN"]

class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"version": "5.0"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        print("rogue:", fmt % args, file=sys.stderr, flush=True)

server = http.server.ThreadingHTTPServer(("0.0.0.0", 0), Handler)
port = server.server_address[1]
api = os.environ["JUPYTERHUB_API_URL"].rstrip("/")
request = urllib.request.Request(
    api + "/jobspawner/port/" + os.environ["JUPYTERHUB_USER"],
    data=json.dumps({"host": "127.0.0.1", "port": port}).encode(),
    method="POST",
    headers={"Authorization": "token " + token, "Content-Type": "application/json"},
)
urllib.request.urlopen(request, timeout=10).close()
print("rogue: reported port", port, file=sys.stderr, flush=True)
server.serve_forever()
"""


def _wrapper_config(tmp_path: Path) -> str:
    GATES.mkdir(exist_ok=True)
    os.chmod(GATES, 0o755)
    rogue = GATES / f"{tmp_path.name}-{os.getpid()}.rogue.py"
    rogue.write_text(ROGUE)
    os.chmod(rogue, 0o644)
    singleuser = ensure_jobenv() / "bin" / "jobspawner-singleuser"
    wrapper = (
        f'if [ "$JUPYTERHUB_USER" = alice ]; then exec /usr/bin/python3 -I {rogue}; fi; '
        f'exec {singleuser} "$@"'
    )
    return (
        f"c.JobSpawner.cmd = ['/bin/sh', '-c', {wrapper!r}, 'site-wrapper']\n"
        "c.JobSpawner.server_check_timeout = 20\n"
    )


def test_a_rogue_answering_a_version_everywhere_is_refused_and_the_real_server_passes(
    tmp_path,
):
    with running_hub(tmp_path, config=_wrapper_config(tmp_path)) as hub:
        with _route_targets(hub, "/user/alice/") as seen, pytest.raises(SpawnFailed) as failed:
            hub.start_server("alice", timeout=90)
        message = failed.value.message
        assert "no proof" in message and "nothing was routed there" in message, message
        assert "rogue: reported port" in message  # the log tail: the rogue did report
        found = re.search(r"answered on 127\.0\.0\.1:(\d+)", message)
        assert found, message
        rogue_port = int(found.group(1))
        assert not any(urlsplit(t).port == rogue_port for t in seen), seen
        assert 'rogue: "GET /user/alice/api/jobspawner/proof?challenge=' in message
        assert not hub.spawner_state("alice").get("job_id")
        # the real server, started by the site's wrapper, proves its key and is routed
        hub.start_server("bob", timeout=90)
        assert hub.get_via_proxy("bob", "api/status").status_code == 200
        hub.stop_server("bob")
