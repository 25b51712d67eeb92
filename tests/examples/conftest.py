"""The examples' smoke tests: each example's directory goes on sys.path, as its run command does."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
for path in (
    EXAMPLES / "fastapi_chat",
    EXAMPLES / "flask_app",
    ROOT / "tests" / "contrib",  # sw_servers: real servers on free ports
):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
