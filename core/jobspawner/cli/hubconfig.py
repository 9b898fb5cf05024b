"""Load a hub's ``jupyterhub_config.py`` and build the spawner a spawn would use.

The file is read with traitlets' Python config loader, as JupyterHub reads it (``c =
get_config()``, ``load_subconfig``). The spawner gets a stand-in user and hub: its job script
is the one a real spawn for that user renders, with the API token replaced by a random
value that :func:`redact` removes again.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import inspect
import os
import pwd
import re
import secrets
import sys
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from types import ModuleType, SimpleNamespace
from typing import Any

from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader
from traitlets.utils.importstring import import_item

from jobspawner.spawner import JobSpawner

REDACTED = "<redacted>"


class HubConfigError(RuntimeError):
    """The config file could not be read, or does not select jobspawner."""


#: Packages a batchspawner config imports that jobspawner replaces.
REPLACED_PACKAGES = ("batchspawner", "wrapspawner")


def load_config(path: str) -> Config:
    """The config object JupyterHub would get from ``path``."""
    return load_config_with_leftovers(path)[0]


def load_config_with_leftovers(path: str) -> tuple[Config, list[str]]:
    """The config, and which of :data:`REPLACED_PACKAGES` it imports (not installed here).

    A batchspawner config starts with ``import batchspawner``; without batchspawner that line
    would stop the load, so the check could say nothing else. Such an import gets a stand-in
    module whose classes only carry their names, and is reported as a leftover.
    """
    if not os.path.isfile(path):
        raise HubConfigError(f"{path}: no such file")
    folder, name = os.path.split(os.path.abspath(path))
    stand_ins = _StandInPackages()
    sys.meta_path.insert(0, stand_ins)
    try:
        config = PyFileConfigLoader(name, path=folder).load_config()
    except Exception as e:  # the file is Python: anything can go wrong in it
        raise HubConfigError(f"{path} could not be loaded: {type(e).__name__}: {e}") from e
    finally:
        sys.meta_path.remove(stand_ins)
        for package in stand_ins.imported:
            sys.modules.pop(package, None)
    with open(path, encoding="utf-8", errors="replace") as f:
        imports = set(_REPLACED_IMPORT.findall(f.read()))
    return config, sorted(imports | stand_ins.imported)


_REPLACED_IMPORT = re.compile(
    r"^\s*(?:import|from)\s+(" + "|".join(REPLACED_PACKAGES) + r")\b", re.MULTILINE
)


class _StandInPackages(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Stand-ins for batchspawner and wrapspawner where they are not installed."""

    def __init__(self) -> None:
        self.imported: set[str] = set()

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        top = fullname.partition(".")[0]
        if top not in REPLACED_PACKAGES or _installed(top):
            return None
        return importlib.machinery.ModuleSpec(fullname, self, is_package=True)

    def create_module(self, spec: Any) -> Any:
        return None  # the default module

    def exec_module(self, module: ModuleType) -> None:
        self.imported.add(module.__name__.partition(".")[0])

        def stand_in(attr: str) -> Any:
            if attr.startswith("__"):
                raise AttributeError(attr)
            return type(attr, (), {"__module__": module.__name__})

        module.__getattr__ = stand_in  # type: ignore[method-assign]


def _installed(package: str) -> bool:
    """Whether ``package`` is importable without the stand-ins."""
    for finder in sys.meta_path:
        if isinstance(finder, _StandInPackages):
            continue
        find_spec = getattr(finder, "find_spec", None)
        if find_spec is not None and find_spec(package, None) is not None:
            return True
    return False


def spawner_class(config: Config) -> type[Any]:
    """The class ``c.JupyterHub.spawner_class`` names (JupyterHub's default when unset)."""
    hub = config.get("JupyterHub")
    value = hub.get("spawner_class") if isinstance(hub, dict) else None
    if value is None:
        raise HubConfigError(
            "c.JupyterHub.spawner_class is not set, so JupyterHub would use its "
            "LocalProcessSpawner; set c.JupyterHub.spawner_class = 'jobspawner'"
        )
    if isinstance(value, type):
        return value
    name = str(value)
    for ep in entry_points(group="jupyterhub.spawners"):
        if ep.name == name:
            return ep.load()  # type: ignore[no-any-return]
    try:
        return import_item(name)  # type: ignore[no-any-return]
    except Exception as e:
        raise HubConfigError(
            f"c.JupyterHub.spawner_class = {name!r} cannot be imported: {e}"
        ) from e


@dataclass
class StandInUser:
    """What a spawner reads of JupyterHub's ``User``."""

    name: str
    id: int = 0
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def escaped_name(self) -> str:
        return self.name

    @property
    def url(self) -> str:
        return f"/user/{self.name}/"


def default_user() -> str:
    """The name of the user running the command."""
    return pwd.getpwuid(os.geteuid()).pw_name


def make_spawner(
    config: Config, username: str, server_name: str = "", cls: type[Any] | None = None
) -> JobSpawner:
    """The spawner a spawn of ``username``'s server ``server_name`` would use."""
    from jupyterhub.objects import Hub, Server

    cls = cls or spawner_class(config)
    if not (isinstance(cls, type) and issubclass(cls, JobSpawner)):
        raise HubConfigError(
            f"c.JupyterHub.spawner_class is {getattr(cls, '__name__', cls)}, not jobspawner; "
            "set c.JupyterHub.spawner_class = 'jobspawner'"
        )
    hub_section = config.get("JupyterHub")
    hub_cfg = hub_section if isinstance(hub_section, dict) else {}
    hub = Hub(
        ip=str(hub_cfg.get("hub_ip") or "127.0.0.1"),
        port=int(hub_cfg.get("hub_port") or 8081),
        base_url=str(hub_cfg.get("base_url") or "/").rstrip("/") + "/hub/",
    )
    # what JupyterHub's init_hub does with them: the address jobs are given for the hub
    if hub_cfg.get("hub_connect_ip"):
        hub.connect_ip = str(hub_cfg["hub_connect_ip"])
    if hub_cfg.get("hub_connect_port"):
        hub.connect_port = int(hub_cfg["hub_connect_port"])
    if hub_cfg.get("hub_connect_url"):
        hub.connect_url = str(hub_cfg["hub_connect_url"])
    user = StandInUser(username)
    spawner: JobSpawner = cls(
        config=config,
        user=user,
        hub=hub,
        orm_spawner=SimpleNamespace(name=server_name, server=None, state=None)
        if server_name
        else None,
        api_token=secrets.token_hex(16),
        oauth_client_id=f"jupyterhub-user-{username}",
    )
    # the server JupyterHub gives a spawn (its URL prefix reaches the job's environment)
    spawner.server = Server(base_url=user.url + (f"{server_name}/" if server_name else ""))
    return spawner


async def choose_options(spawner: JobSpawner, options: dict[str, Any] | None = None) -> None:
    """Apply user options as a spawn does (none: the default profile's choices), so what is
    rendered is what that spawn would submit."""
    pending = spawner.apply_user_options(spawner, options or {})
    if inspect.isawaitable(pending):
        await pending


def redact(text: str, spawner: JobSpawner) -> tuple[str, bool]:
    """``text`` with the spawner's API token replaced; whether the token was in it."""
    token = str(spawner.api_token or "")
    if token and token in text:
        return text.replace(token, REDACTED), True
    return text, False
