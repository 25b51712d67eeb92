"""A private redis-server on a free loopback port, so command counts are ours alone."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from typing import Any


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PrivateRedis:
    """Start with `start()`, stop with `stop()`; `url` is None when redis-server is missing."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen[bytes] | None = None
        self.url: str | None = None
        self.port = 0
        self._dir: str | None = None

    def start(self) -> str | None:
        binary = shutil.which("redis-server")
        if binary is None:
            return None
        self.port = free_port()
        self._dir = tempfile.mkdtemp(prefix="bench-redis-")
        self.proc = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                self._dir,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    self.url = f"redis://127.0.0.1:{self.port}/0"
                    return self.url
            except OSError:
                time.sleep(0.05)
        self.stop()
        return None

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
            self.proc = None
        if self._dir:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def client(self) -> Any:
        import redis

        return redis.Redis.from_url(self.url or "")

    def reset_stats(self) -> None:
        self.client().config_resetstat()

    def command_counts(self) -> dict[str, int]:
        """Calls per command since the last reset (the stats commands themselves excluded)."""
        stats = self.client().info("commandstats")
        counts = {
            name.removeprefix("cmdstat_"): int(value["calls"])
            for name, value in stats.items()
            if isinstance(value, dict)
        }
        for ignored in ("info", "config|resetstat", "config", "client|setinfo", "hello"):
            counts.pop(ignored, None)
        return counts
