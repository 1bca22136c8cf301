"""Faces that import their modules on first use, for the rooms whose imports are heavy.

A room's face names what the room offers (``__all__``); a lazy face defers importing the
module behind a name until someone asks for it, so importing ``scorer.worker`` for the
composition root does not start Faust, and ``scorer --help`` imports neither Faust, rich
nor matplotlib.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

__all__ = ["lazy_face"]


def lazy_face(package: str, namespace: dict[str, Any], exports: dict[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package``, whose ``exports`` map a name to its module."""

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        loaded = importlib.import_module(f"{package}.{module}")
        # Every name of that module at once: importing a submodule binds its name on the
        # package (``scorer.tools.tail``), which must not hide a function of the same name.
        for exported, home in exports.items():
            if home == module:
                namespace[exported] = getattr(loaded, exported)
        return namespace[name]

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(exports))

    return __getattr__, __dir__
