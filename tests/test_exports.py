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


def test_the_top_level_is_for_app_authors() -> None:
    # Store operations and the layer/store contracts live in their own tiers, not at the top.
    import shieldware.layer
    import shieldware.ops
    import shieldware.stores

    for name in ("Take", "Bucket", "Add", "Hit", "Op", "LimitState", "Window", "Acquire"):
        assert not hasattr(shieldware, name), name
        assert name in shieldware.ops.__all__, name
    for name in ("Layer", "Challenger", "Reporter", "Progress", "Flow", "as_flow", "store_failed"):
        assert not hasattr(shieldware, name), name
        assert name in shieldware.layer.__all__, name
    assert "Store" in shieldware.stores.__all__
    assert not hasattr(shieldware, "Store")
    assert len(shieldware.__all__) <= 50


def test_matchers_are_a_namespace() -> None:
    from shieldware import match

    assert match.path("/login")(shieldware.Facts("GET", "/login"))
    assert not match.method("POST")(shieldware.Facts("GET", "/"))


def test_a_misspelt_public_name_is_a_type_error(tmp_path: object) -> None:
    # The lazy loader is hidden from type checkers: they see the real names, so a typo fails.
    from pathlib import Path

    src = Path(str(tmp_path)) / "typo.py"
    src.write_text(
        "import shieldware\n"
        "from shieldware import TokenBucket\n"
        "from shieldware.layers import Quota\n"
        "shieldware.Sheild([TokenBucket('1/second'), Quota('1/day')])\n"
        "from shieldware.stores import RedisStorre\n"
    )
    out = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(src)],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 1, out.stdout
    assert '"Sheild"' in out.stdout
    assert "RedisStorre" in out.stdout
    assert "TokenBucket" not in out.stdout
