"""``python -m jobspawner.demo``: a demo JupyterHub on http://127.0.0.1:8000, local backend.

Everything lives in ``./.demo`` (config, database, configurable-http-proxy installed with
npm when it is not on PATH). Any user name logs in with the password printed at start.
Servers run as the hub's own user, as local jobs: a demo, not a deployment.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

CONFIG = """\
c = get_config()  # noqa
c.JupyterHub.bind_url = "http://{ip}:{port}"
c.JupyterHub.spawner_class = "jobspawner"
c.JupyterHub.authenticator_class = "dummy"
c.DummyAuthenticator.password = {password!r}
c.Authenticator.allow_all = True
c.JupyterHub.allow_named_servers = True
c.JupyterHub.db_url = "sqlite:///{folder}/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = "{folder}/cookie_secret"
c.ConfigurableHTTPProxy.command = [{chp!r}]
c.ConfigurableHTTPProxy.pid_file = "{folder}/proxy.pid"
c.JobSpawner.backend = "local"
c.JobSpawner.backend_options = {{"python": {python!r}}}
c.JobSpawner.cmd = [{singleuser!r}]
c.JobSpawner.args = {args!r}
c.JobSpawner.default_url = "/lab"
c.JobSpawner.workdir = {workdir!r}
c.JobSpawner.log_dir = "{folder}/logs/{{username}}"
c.JobSpawner.req_runtime = "8h"
c.JobSpawner.user_options_allowed = ["runtime"]
"""


def find_or_install_chp(folder: Path) -> str:
    found = shutil.which("configurable-http-proxy")
    if found:
        return found
    local = folder / "node" / "node_modules" / ".bin" / "configurable-http-proxy"
    if not local.exists():
        if shutil.which("npm") is None:
            sys.exit(
                "demo: configurable-http-proxy is needed and npm is missing: install Node.js "
                "and npm (Debian: apt-get install nodejs npm), then run this again"
            )
        print("demo: installing configurable-http-proxy with npm ...", flush=True)
        subprocess.run(
            ["npm", "install", "--silent", "--prefix", str(folder / "node"),
             "configurable-http-proxy"],
            check=True,
        )  # fmt: skip
    return str(local)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jobspawner.demo")
    parser.add_argument("--ip", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--folder", default=".demo")
    args = parser.parse_args(argv)
    folder = Path(args.folder).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "notebooks").mkdir(exist_ok=True)
    password = os.environ.get("JOBSPAWNER_DEMO_PASSWORD") or secrets.token_urlsafe(8)
    bindir = Path(sys.executable).parent
    config = CONFIG.format(
        ip=args.ip,
        port=args.port,
        password=password,
        folder=folder,
        chp=find_or_install_chp(folder),
        python=sys.executable,
        singleuser=str(bindir / "jobspawner-singleuser"),
        args=["--allow-root"] if os.geteuid() == 0 else [],
        workdir=str(folder / "notebooks"),
    )
    path = folder / "jupyterhub_config.py"
    path.write_text(config)
    print(
        f"\njobspawner demo: open http://{args.ip}:{args.port} and log in with any user name "
        f"and the password {password}\n(local backend: each server is a local job; its log "
        f"is in {folder}/logs/<user>/). Stop with Ctrl-C.\n",
        flush=True,
    )
    os.chdir(folder)
    os.execv(sys.executable, [sys.executable, "-m", "jupyterhub", "-f", str(path)])


if __name__ == "__main__":
    sys.exit(main())
