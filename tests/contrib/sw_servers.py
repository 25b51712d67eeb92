"""Real servers for the integration tests: a subprocess on a free port, or a threaded one."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src"
CONTRIB_TESTS = Path(__file__).resolve().parent
EXAMPLES_DIR = ROOT / "examples"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for(port: int, proc: subprocess.Popen[bytes] | None, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"server on port {port} did not start within {timeout}s")


@contextmanager
def serve(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    pythonpath: Sequence[Path] = (),
) -> Iterator[str]:
    """Run ``argv`` (``{port}`` is replaced by a free port) and yield its base URL."""
    port = free_port()
    full_env = dict(os.environ)
    full_env.update(env or {})
    full_env["PYTHONPATH"] = os.pathsep.join(str(p) for p in (SRC, *pythonpath))
    command = [arg.replace("{port}", str(port)) for arg in argv]
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(
            command, env=full_env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            try:
                _wait_for(port, proc)
            except RuntimeError as exc:
                log.seek(0)
                raise RuntimeError(f"{exc}: {log.read().decode(errors='replace')}") from None
            yield f"http://127.0.0.1:{port}"
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:  # pragma: no cover
                proc.kill()
                proc.wait(10)


def python(*args: str) -> list[str]:
    return [sys.executable, *args]


@contextmanager
def serve_wsgi_threaded(app: Any) -> Iterator[str]:
    """A threaded werkzeug server in this process (Flask's own development server)."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(10)
        server.server_close()
