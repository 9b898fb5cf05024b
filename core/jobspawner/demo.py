"""``python -m jobspawner.demo``: a demo JupyterHub on http://127.0.0.1:8000, local backend.

The hub's files live in ``./.demo`` (config, database, configurable-http-proxy installed with
npm when it is not on PATH). Any user name logs in with the password printed at start.

Who the notebook servers run as:

- started by an ordinary user: every login's server runs as that user, as local jobs;
- started as root: never as root. Every login's server runs as the unprivileged system
  account ``jobspawner-demo`` (created with ``useradd`` when missing), through
  ``exec_prefix = runuser -u jobspawner-demo --``. The servers' side lives in
  ``/var/lib/jobspawner-demo`` (``--job-folder``): a Python environment built from the
  system's ``python3`` that the account can read (root's own environment usually is under
  ``/root``, which it cannot), and the notebook and log folders, owned by the account.

A demo, not a deployment: all logins share one account and one notebook folder.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import os
import pwd
import secrets
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

#: The account every login's server runs as when the demo runs as root.
DEMO_ACCOUNT = "jobspawner-demo"
#: Where the servers' side lives when the demo runs as root.
JOB_FOLDER = Path("/var/lib/jobspawner-demo")
#: The Python the servers' environment is built from when the demo runs as root.
SYSTEM_PYTHON = "/usr/bin/python3"

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
c.JobSpawner.exec_prefix = {exec_prefix!r}
c.JobSpawner.cmd = [{singleuser!r}]
c.JobSpawner.default_url = "/lab"
c.JobSpawner.workdir = {workdir!r}
c.JobSpawner.log_dir = {log_dir!r}
c.JobSpawner.req_runtime = "8h"
c.JobSpawner.user_options_allowed = ["runtime"]
"""


@dataclass(frozen=True)
class ServerSide:
    """As whom and with what the demo's notebook servers run."""

    #: The account every server runs as; None: the hub's own user.
    account: str | None
    #: The Python that runs :mod:`jobspawner.local_jobs` as that account.
    python: str
    #: The ``jobspawner-singleuser`` program that account runs.
    singleuser: str
    notebooks: Path
    logs: Path

    @property
    def exec_prefix(self) -> list[str]:
        return ["runuser", "-u", self.account, "--"] if self.account else []

    def describe(self) -> str:
        if self.account:
            return (
                f"running as root: every login's server runs as the unprivileged account "
                f"{self.account} (runuser -u {self.account}), never as root"
            )
        return f"every login's server runs as you ({pwd.getpwuid(os.geteuid()).pw_name})"


def render_config(
    *, ip: str, port: int, password: str, folder: Path, chp: str, side: ServerSide
) -> str:
    """The demo hub's ``jupyterhub_config.py``."""
    return CONFIG.format(
        ip=ip,
        port=port,
        password=password,
        folder=folder,
        chp=chp,
        python=side.python,
        exec_prefix=side.exec_prefix,
        singleuser=side.singleuser,
        workdir=str(side.notebooks),
        log_dir=str(side.logs / "{username}"),
    )


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


def ensure_account(name: str, home: Path) -> pwd.struct_passwd:
    """The unprivileged system account ``name``, created (no login shell) when missing."""
    try:
        account = pwd.getpwnam(name)
    except KeyError:
        if shutil.which("useradd") is None:
            sys.exit(f"demo: the account {name} is missing and useradd is not installed")
        print(f"demo: creating the unprivileged system account {name}", flush=True)
        subprocess.run(
            ["useradd", "--system", "--user-group", "--home-dir", str(home),
             "--no-create-home", "--shell", "/usr/sbin/nologin", name],
            check=True,
        )  # fmt: skip
        account = pwd.getpwnam(name)
    if account.pw_uid == 0 or account.pw_gid == 0:
        sys.exit(f"demo: the account {name} has uid or gid 0; it must be unprivileged")
    return account


def _source_tree() -> Path | None:
    """The project's source tree this module runs from, if it does (not an installed copy)."""
    root = Path(__file__).resolve().parents[2]
    pyproject = root / "pyproject.toml"
    if pyproject.exists() and 'name = "jobspawner"' in pyproject.read_text():
        return root
    return None


def _core_stamp(tree: Path | None) -> str:
    if tree is None:
        return importlib.metadata.version("jobspawner")
    digest = hashlib.sha256()
    for path in sorted((tree / "core" / "jobspawner").rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(path.relative_to(tree).as_posix().encode() + b"\0" + path.read_bytes())
    digest.update((tree / "pyproject.toml").read_bytes())
    return digest.hexdigest()


def _pip(python: Path, *args: str) -> None:
    proc = subprocess.run([str(python), "-I", "-m", "pip", "install", "-q", *args])
    if proc.returncode:
        sys.exit(f"demo: installing {' '.join(args)} into {python.parent.parent} failed")


def build_jobenv(target: Path) -> Path:
    """A Python environment at ``target`` with JupyterHub (the hub's version), JupyterLab and
    this jobspawner, built from the system's python3, readable (not writable) by all.
    Only the jobspawner part is reinstalled when its sources change. Returns its Python."""
    python = target / "bin" / "python"
    if not python.exists():
        if not os.path.exists(SYSTEM_PYTHON):
            sys.exit(f"demo: {SYSTEM_PYTHON} is missing: install python3 and python3-venv")
        print(f"demo: building the servers' Python environment in {target} ...", flush=True)
        subprocess.run([SYSTEM_PYTHON, "-m", "venv", str(target)], check=True)
        _pip(
            python,
            f"jupyterhub=={importlib.metadata.version('jupyterhub')}",
            "jupyter_server>=2",
            "jupyterlab>=4",
            "pluggy>=1.5",
            "jinja2>=3.1",
            "importlib-metadata>=6.0; python_version < '3.12'",
        )
    tree = _source_tree()
    stamp, wanted = target / ".jobspawner-stamp", _core_stamp(tree)
    if not stamp.exists() or stamp.read_text() != wanted:
        core = str(tree) if tree else f"jobspawner=={wanted}"
        _pip(python, "--no-deps", "--force-reinstall", core)
        stamp.write_text(wanted)
    subprocess.run(["chmod", "-R", "u+rwX,go+rX,go-w", str(target)], check=True)
    return python


def _owned_folder(path: Path, account: pwd.struct_passwd) -> Path:
    """``path`` as a private folder of ``account`` (made when missing)."""
    path.mkdir(parents=True, exist_ok=True)
    os.chown(path, account.pw_uid, account.pw_gid, follow_symlinks=False)
    os.chmod(path, 0o700)
    return path


def prepare_server_side(folder: Path, job_folder: Path, as_root: bool) -> ServerSide:
    """Who runs the servers, and the folders and environment they need."""
    if not as_root:
        (folder / "notebooks").mkdir(exist_ok=True)
        return ServerSide(
            account=None,
            python=sys.executable,
            singleuser=str(Path(sys.executable).parent / "jobspawner-singleuser"),
            notebooks=folder / "notebooks",
            logs=folder / "logs",
        )
    account = ensure_account(DEMO_ACCOUNT, job_folder / "home")
    job_folder.mkdir(parents=True, exist_ok=True)
    os.chown(job_folder, 0, 0, follow_symlinks=False)  # the account reads, root writes
    os.chmod(job_folder, 0o755)
    home = Path(account.pw_dir)
    if home.is_relative_to(job_folder):  # the home we gave it (never chown someone's /)
        _owned_folder(home, account)
    python = build_jobenv(job_folder / "jobenv")
    return ServerSide(
        account=DEMO_ACCOUNT,
        python=str(python),
        singleuser=str(python.parent / "jobspawner-singleuser"),
        notebooks=_owned_folder(job_folder / "notebooks", account),
        logs=_owned_folder(job_folder / "logs", account),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jobspawner.demo")
    parser.add_argument("--ip", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--folder", default=".demo")
    parser.add_argument(
        "--job-folder",
        default=str(JOB_FOLDER),
        help=f"as root: where the servers' environment, notebooks and logs live, owned by the "
        f"account {DEMO_ACCOUNT} (default {JOB_FOLDER})",
    )
    args = parser.parse_args(argv)
    folder = Path(args.folder).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    side = prepare_server_side(folder, Path(args.job_folder).resolve(), os.geteuid() == 0)
    password = os.environ.get("JOBSPAWNER_DEMO_PASSWORD") or secrets.token_urlsafe(8)
    config = render_config(
        ip=args.ip,
        port=args.port,
        password=password,
        folder=folder,
        chp=find_or_install_chp(folder),
        side=side,
    )
    path = folder / "jupyterhub_config.py"
    path.write_text(config)
    print(
        f"\njobspawner demo: open http://{args.ip}:{args.port} and log in with any user name "
        f"and the password {password}\n(local backend: {side.describe()}; notebooks in "
        f"{side.notebooks}, each server's log in {side.logs}/<user>/). Stop with Ctrl-C.\n",
        flush=True,
    )
    os.chdir(folder)
    os.execv(sys.executable, [sys.executable, "-m", "jupyterhub", "-f", str(path)])


if __name__ == "__main__":
    sys.exit(main())
