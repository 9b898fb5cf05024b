"""The Python environment jobs run in: built from Debian's /usr/bin/python3, readable by all.

Jobs run as the test users, who cannot read a Python under /root (mode 700), so the hub's
own environment is no use to them. This builds ``/opt/jobspawner-tests/jobenv`` (override
with ``JOBSPAWNER_TEST_JOBENV``) with JupyterHub, jupyter_server and a *copy* (not an
editable install) of the core, and rebuilds the core part when its sources change.
Concurrent test processes share it under a file lock.

Jobs run the JupyterHub the hub runs (the singleuser side of a site matches its hub): a hub
other than the newest supported gets its own environment, ``jobenv-jupyterhub-VERSION``.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.metadata
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BASE_PYTHON = "/usr/bin/python3"
#: The JupyterHub the main suite's hub runs (the newest supported): jobs get the hub's own.
NEWEST_JUPYTERHUB = "6.1.1"
HUB_JUPYTERHUB = importlib.metadata.version("jupyterhub")
JUPYTERHUB_PIN = f"jupyterhub=={HUB_JUPYTERHUB}"
#: What the jobs' environment holds besides the core (a copy of this checkout's).
BASE_PACKAGES = (
    JUPYTERHUB_PIN,
    "jupyter_server",
    "jupyterlab",
    "pluggy",
    "jinja2",
    "importlib-metadata",
)


def jobenv_dir() -> Path:
    default = "/opt/jobspawner-tests/jobenv"
    if HUB_JUPYTERHUB != NEWEST_JUPYTERHUB:
        default += f"-jupyterhub-{HUB_JUPYTERHUB}"
    return Path(os.environ.get("JOBSPAWNER_TEST_JOBENV", default))


#: The JupyterLab extension's sources (built into the core's wheel by labextension/build.sh).
LABEXTENSION = ROOT / "labextension"
LABEXTENSION_SOURCES = ("src", "package.json", "package-lock.json", "tsconfig.json", "build.sh")


def _hash(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(path.relative_to(ROOT).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _labextension_hash() -> str:
    paths: list[Path] = []
    for name in LABEXTENSION_SOURCES:
        path = LABEXTENSION / name
        if path.is_dir():
            paths.extend(p for p in path.rglob("*") if p.is_file())
        else:
            paths.append(path)
    return _hash(paths)


def _core_hash() -> str:
    paths = [*(ROOT / "core" / "jobspawner").rglob("*.py"), ROOT / "pyproject.toml"]
    return _hash(paths) + _labextension_hash()


def build_labextension(python: Path) -> None:
    """Build the JupyterLab extension (node and npm; JupyterLab's core from ``python``)
    when its sources changed since the last build, so the core's wheel ships it."""
    stamp = LABEXTENSION / "build" / ".sources-hash"
    wanted = _labextension_hash()
    if stamp.exists() and stamp.read_text() == wanted:
        return
    _run("bash", str(LABEXTENSION / "build.sh"), str(python))
    stamp.write_text(wanted)


def _run(*argv: str) -> None:
    proc = subprocess.run(argv, capture_output=True, text=True)
    if proc.returncode:
        raise RuntimeError(f"{' '.join(argv)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")


def ensure_jobenv() -> Path:
    """Build or refresh the job environment; return its folder."""
    env = jobenv_dir()
    env.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(env.parent, 0o755)
    with open(env.parent / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        python = env / "bin" / "python"
        if not python.exists():
            if not os.path.exists(BASE_PYTHON):
                raise RuntimeError(f"{BASE_PYTHON} is missing: install Debian's python3-venv")
            _run(BASE_PYTHON, "-m", "venv", str(env))
        # the packages are installed again whenever this list changes (an older environment
        # on the machine gets what a newer checkout needs)
        packages = env / ".base-packages"
        if not packages.exists() or packages.read_text() != " ".join(BASE_PACKAGES):
            _run(str(python), "-m", "pip", "install", "-q", *BASE_PACKAGES)
            packages.write_text(" ".join(BASE_PACKAGES))
        stamp = env / ".core-hash"
        wanted = _core_hash()
        if not stamp.exists() or stamp.read_text() != wanted:
            build_labextension(python)
            _run(
                str(python),
                "-m",
                "pip",
                "install",
                "-q",
                "--no-deps",
                "--force-reinstall",
                str(ROOT),
            )
            stamp.write_text(wanted)
        subprocess.run(["chmod", "-R", "a+rX", str(env)], check=True)
    return env


if __name__ == "__main__":
    print(ensure_jobenv())
    sys.exit(0)
