"""The public surface: `__all__` is sorted and complete, and the core imports no framework."""

from __future__ import annotations

import subprocess
import sys

import shieldware


def test_all_is_sorted() -> None:
    names = [n for n in shieldware.__all__ if n != "__version__"]
    assert names == sorted(names, key=str)


def test_all_is_complete_and_resolvable() -> None:
    for name in shieldware.__all__:
        assert hasattr(shieldware, name), name
    public = {n for n in vars(shieldware) if not n.startswith("_")}
    modules = {n for n, v in vars(shieldware).items() if type(v).__name__ == "module"}
    assert public - modules - {"annotations"} <= set(shieldware.__all__)


def test_core_imports_no_framework() -> None:
    code = (
        "import sys, shieldware, shieldware.policy, shieldware.asgi, shieldware.wsgi;"
        "bad = [m for m in ('starlette', 'django', 'flask', 'fastapi', 'redis', 'werkzeug')"
        " if m in sys.modules]; print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
