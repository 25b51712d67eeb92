"""The README's Python examples run as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import SECRET

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()
BLOCKS = re.findall(r"```python\n(.*?)```", README, flags=re.S)


def test_readme_has_examples() -> None:
    assert len(BLOCKS) >= 3


@pytest.mark.parametrize("code", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_readme_example_runs(code: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHIELDWARE_SECRET", SECRET)  # as the README says: from the environment
    namespace: dict[str, object] = {"__name__": __name__}  # Flask locates its root by it
    exec(compile(code, "README.md", "exec"), namespace)
    assert "shield" in namespace


def test_readme_never_shows_a_literal_secret() -> None:
    """Attack: a secret copied from the README is known to everyone who read it."""
    assert not re.search(r"secret\s*=\s*[\"']", README)
    assert "shieldware secret" in README
