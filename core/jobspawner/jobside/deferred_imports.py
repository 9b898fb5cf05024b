"""Deferring a costly import in the job's server until something uses the module.

A notebook server imports some modules that do costly work at import and that most servers
never use. ``rfc3987_syntax`` is one: jsonschema imports it (when installed, as
``jupyter_events``' ``jsonschema[format-nongpl]`` does) for its ``iri`` and
``iri-reference`` format checks, and at import it builds three Earley parsers of the RFC 3987
grammar, about 1.5 s of CPU, on every server start. The server itself checks no IRI.

:func:`defer` puts a stand-in for such a module into ``sys.modules`` before anything imports
it. ``from module import name`` takes a stand-in function for each name in
:attr:`Deferral.functions` (the names a known importer takes that way); the real module is
imported the first time one of them is called or any other attribute of the module is read,
and from then on it is in ``sys.modules`` and every stand-in function calls it. Nothing is
switched off: a schema that checks an IRI gets the same answer, once, later.

Job side: standard library only, imported by :mod:`jobspawner.jobside.singleuser` before the
server's
own imports.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import sys
import threading
import types
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Deferral:
    """One module to import on first use."""

    #: The module's name.
    module: str
    #: Names its importers take with ``from module import name``, all functions: each gets
    #: a stand-in that imports the module when called.
    functions: tuple[str, ...]
    #: Modules the real one imports: when one is missing, the module is imported at once
    #: instead (its importers then see the ImportError they expect, at the usual time).
    needs: tuple[str, ...] = ()


#: What ``jobspawner-singleuser`` defers (see the module's docstring).
DEFERRED = (Deferral("rfc3987_syntax", functions=("is_valid_syntax",), needs=("lark",)),)

_lock = threading.RLock()


class DeferredModule(types.ModuleType):
    """The stand-in of a module not imported yet (see :func:`defer`)."""

    def __init__(self, deferral: Deferral, spec: importlib.machinery.ModuleSpec) -> None:
        super().__init__(deferral.module)
        self._jobspawner_real: types.ModuleType | None = None
        # what importlib and inspect read of a module, as the real one will have them
        self.__spec__ = spec
        self.__loader__ = spec.loader
        self.__file__ = spec.origin
        self.__package__ = spec.parent
        if spec.submodule_search_locations is not None:
            # a package: its submodules can be imported without importing it first
            self.__path__ = spec.submodule_search_locations
            self.__package__ = spec.name
        for name in deferral.functions:
            setattr(self, name, self._stand_in(name))

    def _jobspawner_load(self) -> types.ModuleType:
        """The real module, imported now if it was not yet."""
        with _lock:
            if self._jobspawner_real is None:
                if sys.modules.get(self.__name__) is self:
                    del sys.modules[self.__name__]
                self._jobspawner_real = importlib.import_module(self.__name__)
            return self._jobspawner_real

    def _stand_in(self, name: str) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            return getattr(self._jobspawner_load(), name)(*args, **kwargs)

        call.__name__ = call.__qualname__ = name
        call.__doc__ = f"{self.__name__}.{name}, imported on its first call."
        return call

    def __getattr__(self, name: str) -> Any:
        # only for names the stand-in lacks; importlib's own probes (__spec__, ...) stay here
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return getattr(self._jobspawner_load(), name)


def defer(deferral: Deferral) -> bool:
    """Put a stand-in for ``deferral.module`` into ``sys.modules``; True when it did.

    Nothing is done when the module is imported already, is not installed, or lacks one of
    ``deferral.needs``.
    """
    if deferral.module in sys.modules:
        return False
    try:
        spec = importlib.util.find_spec(deferral.module)
        present = spec is not None and all(
            importlib.util.find_spec(need) is not None for need in deferral.needs
        )
    except (ImportError, ValueError):
        return False
    if not present or spec is None:
        return False
    sys.modules[deferral.module] = DeferredModule(deferral, spec)
    return True


def defer_all(deferrals: tuple[Deferral, ...] = DEFERRED) -> list[str]:
    """:func:`defer` each of ``deferrals``; the names of the modules deferred."""
    return [d.module for d in deferrals if defer(d)]
