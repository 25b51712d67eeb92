"""Names a package loads on first use (PEP 562): the one loader every deferring package uses.

A package maps each public name to the submodule that defines it; `import shieldware` then costs
almost nothing, and an app pays only for the layers, stores and reporters it builds. The loader
is installed under ``if not TYPE_CHECKING`` so type checkers see the package's real imports and a
misspelt name stays an error.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["loader"]


def loader(
    package: str, home: Mapping[str, str], namespace: dict[str, Any]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for `package`.

    :param home: public name -> the submodule (relative to `package`) that defines it; a name
        mapped to itself is that submodule (``"match": "match"``).
    :param namespace: the package's ``globals()``: a loaded name is kept there, so later
        lookups never reach the loader.
    """

    def __getattr__(name: str) -> Any:
        where = home.get(name)
        if where is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module = importlib.import_module(f".{where}", package)
        value = module if where == name else getattr(module, name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(namespace.get("__all__", ())))

    return __getattr__, __dir__
