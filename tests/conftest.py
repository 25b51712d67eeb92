"""Shared fixtures: the Redis at 127.0.0.1:6379, private redis-servers, and a 3-node cluster.

Every test that touches the shared Redis gets its own random key prefix. Tests that stop a server
or count commands start their own `redis-server` on a free port and stop it in teardown. The
cluster is started once per session. Where no `redis-server` binary exists the cluster tests are
skipped with a loud warning, except under CI (``CI`` set), where they fail.

System packages follow one rule, kept here: a test that needs one says so (``@pytest.mark.needs(
"node")``; ``@pytest.mark.browser`` means Debian's chromium) and, where it is missing, is skipped
with the one command that installs it, except under CI (``CI=true``), which installs them all
(``.ci/run``) and must fail loudly instead.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import secrets
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

# Shared, noisy CI machines: judge properties on their outcomes, never on how fast an example ran.
settings.register_profile(
    "shieldware",
    deadline=None,
    # how long or how big a generated example was says nothing about the code under test
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)
settings.load_profile("shieldware")

#: Strong secrets for tests (random, made with `shieldware secret`). Published in this repository,
#: so good for tests only. Two more for rotation: OLD_SECRET signed first, NEW_SECRET replaces it.
SECRET = "l8D3ugTlx6uzNJS10-Y5cKOafTDg3NzMe2d8ctlEHxs"
OLD_SECRET = "pRf2By23XNI3KVpXRg6f5Lir442EyZE8moxr0chh1Zc"
NEW_SECRET = "b7kdfMgBicW_LztCnpCAdSBHvHEaSm5XmEy-VtWreaU"

REDIS_HOST = "127.0.0.1"
REDIS_PORT = 6379


def _ping(port: int, host: str = REDIS_HOST, timeout: float = 0.2) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


_MISSING: set[str] = set()

#: The system packages tests use: what to look for (a command or a path) and how to install it.
SYSTEM_PACKAGES = {
    "chromium": ("/usr/bin/chromium", "sudo apt-get install -y chromium"),
    "node": ("node", "sudo apt-get install -y nodejs"),
    "redis-server": ("redis-server", "sudo apt-get install -y redis-server"),
    "redis-cli": ("redis-cli", "sudo apt-get install -y redis-server"),
}


def under_ci() -> bool:
    """True on CI (``CI`` set to anything but empty, 0, false or no), which must run everything."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _missing(what: str) -> None:
    """Skip (loudly) on a developer machine; fail under CI, which must run everything."""
    message = f"{what}: these tests did NOT run"
    if under_ci():
        pytest.fail(message)
    _MISSING.add(message)
    pytest.skip(message)


def find_system_package(name: str) -> str | None:
    """Where system package `name` is installed, or None."""
    target, _ = SYSTEM_PACKAGES[name]
    if os.path.isabs(target):
        return target if os.access(target, os.X_OK) else None
    return shutil.which(target)


def require(name: str) -> str:
    """The path of system package `name`; else skip with the command that installs it (CI fails)."""
    found = find_system_package(name)
    if found is None:
        _missing(f"{name} is not installed (install it: {SYSTEM_PACKAGES[name][1]})")
    assert found is not None
    return found


@functools.lru_cache(maxsize=1)
def person_chromium_args() -> tuple[str, ...]:
    """Flags under which new-headless Chromium reports what headed Chromium of the same build does.

    The "person" of browser tests (CI has no display for headed Chrome): no automation flag
    (``navigator.webdriver`` false) and Chromium's own User-Agent without ``Headless``, so the
    proof-of-work page's automation tells (docs/proof-of-work.md) see a consistent browser. Plain
    headless Chromium under Playwright is refused at verify time, as it should be.
    """
    try:
        out = subprocess.run(
            ["/usr/bin/chromium", "--version"], capture_output=True, text=True, timeout=60
        ).stdout
    except OSError:
        return ()  # no chromium: browser tests are skipped (or fail under CI) anyway
    found = re.search(r"(\d+)\.\d+\.\d+\.\d+", out)
    if found is None:
        return ()
    ua = (
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        f"Chrome/{found.group(1)}.0.0.0 Safari/537.36"
    )
    return ("--disable-blink-features=AutomationControlled", "--user-agent=" + ua)


#: Debian's Chromium, which every browser test drives (never a downloaded one).
CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium launched as a person's browser (`person_chromium_args`), one per module."""
    from playwright.sync_api import sync_playwright

    args = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
    ]
    with sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=CHROMIUM, args=[*args, *person_chromium_args()], headless=True
        )
        try:
            yield chromium
        finally:
            chromium.close()


def pytest_runtest_setup(item: pytest.Item) -> None:
    needed = [name for mark in item.iter_markers("needs") for name in mark.args]
    if item.get_closest_marker("browser") is not None:
        needed.append("chromium")
    for name in dict.fromkeys(needed):
        require(name)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for message in sorted(_MISSING):
        terminalreporter.write_sep("!", f"WARNING: {message}", red=True, bold=True)


def free_port(*, bus: bool = False) -> int:
    """A free TCP port on loopback (and port + 10000 free too, for a cluster bus)."""
    for _ in range(100):
        with socket.socket() as sock:
            sock.bind((REDIS_HOST, 0))
            port = int(sock.getsockname()[1])
        if not bus:
            return port
        if port + 10000 > 65535:
            continue
        with socket.socket() as sock:
            try:
                sock.bind((REDIS_HOST, port + 10000))
            except OSError:
                continue
        return port
    raise RuntimeError("no free port")


class RedisServer:
    """A redis-server we own: started on a free port, stoppable and restartable on that port."""

    def __init__(
        self,
        directory: Path,
        *,
        port: int | None = None,
        cluster: bool = False,
        extra: tuple[str, ...] = (),
    ) -> None:
        self.binary = require("redis-server")
        self.directory = directory
        self.cluster = cluster
        self.extra = extra
        self.port = port or free_port(bus=cluster)
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://{REDIS_HOST}:{self.port}/0"

    @property
    def socket_path(self) -> Path:
        return self.directory / "redis.sock"

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        args = [
            self.binary,
            "--port", str(self.port),
            "--bind", REDIS_HOST,
            "--save", "",
            "--appendonly", "no",
            "--dir", str(self.directory),
            "--protected-mode", "no",
            "--unixsocket", str(self.socket_path),
            *self.extra,
        ]  # fmt: skip
        if self.cluster:
            args += [
                "--cluster-enabled", "yes",
                "--cluster-config-file", f"nodes-{self.port}.conf",
                "--cluster-node-timeout", "2000",
            ]  # fmt: skip
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while not _ping(self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"redis-server did not start on port {self.port}")
            time.sleep(0.02)

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        process.kill()
        process.wait(timeout=10)

    def cli(self, *args: str) -> str:
        return subprocess.run(
            [require("redis-cli"), "-h", REDIS_HOST, "-p", str(self.port), *args],
            check=True,
            capture_output=True,
            text=True,
            timeout=30,
        ).stdout


@pytest.fixture(scope="session")
def redis_available() -> None:
    if not _ping(REDIS_PORT):
        _missing(
            f"no Redis at {REDIS_HOST}:{REDIS_PORT} (start one: redis-server --daemonize yes "
            "--port 6379 --save ''; install it: sudo apt-get install -y redis-server)"
        )


@pytest.fixture
def redis_prefix() -> str:
    """A key prefix no other test (or engineer) shares."""
    return f"swtest:{secrets.token_hex(6)}:"


@pytest.fixture
def redis_url(redis_available: None, redis_prefix: str) -> str:
    """A store URL for the shared Redis at 127.0.0.1:6379 with a random key prefix."""
    # A generous timeout: the machines that run the suite are shared and sometimes slow.
    return f"redis://{REDIS_HOST}:{REDIS_PORT}/0?prefix={redis_prefix}&timeout=2"


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A private redis-server for this test (stop and restart it at will)."""
    require("redis-server")
    server = RedisServer(tmp_path / "redis")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def redis_cluster_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A 3-node Redis Cluster (3 primaries, no replicas) on free ports, for the whole session."""
    require("redis-server")
    require("redis-cli")
    base = tmp_path_factory.mktemp("redis-cluster")
    nodes: list[RedisServer] = []
    try:
        for index in range(3):
            node = RedisServer(base / str(index), cluster=True)
            node.start()
            nodes.append(node)
        addresses = [f"{REDIS_HOST}:{node.port}" for node in nodes]
        nodes[0].cli("--cluster", "create", *addresses, "--cluster-replicas", "0", "--cluster-yes")
        deadline = time.monotonic() + 30
        while not all("cluster_state:ok" in node.cli("cluster", "info") for node in nodes):
            if time.monotonic() > deadline:
                raise RuntimeError("Redis Cluster did not become ready")
            time.sleep(0.1)
        yield "redis+cluster://" + ",".join(addresses)
    finally:
        for node in nodes:
            with contextlib.suppress(Exception):
                node.stop()
