"""The `shieldware` command: `secret` and `demo` (as a real process on a free port)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from shieldware.cli import main
from shieldware.secret import resolve_secrets
from tests.conftest import SECRET

SRC = str(Path(__file__).resolve().parents[1] / "src")


def test_secret_prints_a_strong_secret(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["secret"]) == 0
    value = capsys.readouterr().out.strip()
    assert resolve_secrets(value) == (value.encode(),)
    assert main(["secret"]) == 0
    assert capsys.readouterr().out.strip() != value


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_demo_serves_a_protected_app() -> None:
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": SRC, "SHIELDWARE_SECRET": SECRET}
    proc = subprocess.Popen(
        [sys.executable, "-m", "shieldware.cli", "demo", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/api/hello", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.1)
        assert r.status_code == 200
        assert r.json()["hello"] == "world"
        assert r.json()["decision"] == "allow"
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=10)
    assert "shieldware demo on" in out
    assert "curl" in out
