"""Several processes sharing Redis: exact admission across workers, and clocks that disagree.

Needs the Redis store (`shieldware.stores.redis`) and a redis-server; skipped until both exist.
- two worker processes (uvicorn ``--workers 2``, and gunicorn with two sync workers) share one limit
  and admit exactly N between them;
- two processes whose local clocks disagree by twenty minutes share a bucket correctly, because
  the store's clock is the server's;
- one solved proof-of-work challenge redeemed many times at once across two workers yields exactly
  one clearance (no double spend).
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import SECRET

from .helpers import raw_request, status_of
from .redis_server import RedisServer, free_port

pytestmark = [pytest.mark.redis, pytest.mark.slow]
pytest.importorskip("shieldware.stores.redis")

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
LIMIT = 40


def _env(url: str, prefix: str, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
        "RELIABILITY_REDIS_URL": url,
        "RELIABILITY_PREFIX": prefix,
        "RELIABILITY_LIMIT": str(LIMIT),
        **extra,
    }


def _wait_http(port: int, proc: subprocess.Popen[bytes], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert proc.poll() is None, "server exited"
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.3):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("server did not start")


def _hammer(port: int, total: int) -> list[int | None]:
    request = b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        return list(pool.map(lambda _: status_of(raw_request(port, request)), range(total)))


def _serve(cmd: list[str], env: dict[str, str], port: int) -> Any:
    proc = subprocess.Popen(
        cmd, env=env, cwd=str(ROOT), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        _wait_http(port, proc)
    except AssertionError:
        proc.kill()
        raise
    return proc


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.mark.parametrize("server", ["uvicorn", "gunicorn"])
def test_two_workers_sharing_redis_admit_exactly_the_limit(server: str, tmp_path: Path) -> None:
    redis = RedisServer(tmp_path)
    redis.start()
    port = free_port()
    env = _env(redis.url, uuid.uuid4().hex[:12])
    if server == "uvicorn":
        cmd = [
            sys.executable,
            "-m",
            "uvicorn",
            "tests.reliability.served_app:asgi_app",
            "--factory",
            "--workers",
            "2",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ]
    else:
        if shutil.which("gunicorn") is None and not _has_module("gunicorn"):
            pytest.skip("gunicorn is not installed")
        cmd = [
            sys.executable,
            "-m",
            "gunicorn",
            "--workers",
            "2",
            "--threads",
            "4",
            "--bind",
            f"127.0.0.1:{port}",
            "tests.reliability.served_app:wsgi_app()",
        ]
    proc = _serve(cmd, env, port)
    try:
        time.sleep(1.0)  # let the second worker come up too
        statuses = _hammer(port, 3 * LIMIT)
    finally:
        _stop(proc)
        redis.stop()
    assert statuses.count(200) == LIMIT, statuses
    assert statuses.count(429) == 2 * LIMIT, statuses


def _has_module(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


def test_clock_skew_two_processes_share_a_bucket(tmp_path: Path) -> None:
    redis = RedisServer(tmp_path)
    redis.start()
    prefix = uuid.uuid4().hex[:12]
    try:
        outs = []
        for skew in ("-1200", "1200"):  # twenty minutes slow, twenty minutes fast
            proc = subprocess.run(
                [sys.executable, str(HERE / "skewed_child.py"), str(LIMIT)],
                env=_env(redis.url, prefix, RELIABILITY_SKEW=skew),
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
            assert proc.returncode == 0, proc.stderr[-2000:]
            outs.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    finally:
        redis.stop()
    # The first process spends the whole bucket; the fast-clock one must not see it refilled.
    assert outs[0]["admitted"] == LIMIT
    assert outs[1]["admitted"] == 0, outs


def test_two_workers_never_double_spend_a_challenge(tmp_path: Path) -> None:
    """One solved challenge, redeemed 24 times at once across two workers: exactly one clearance."""
    pytest.importorskip("shieldware.pow")
    from shieldware.layers.challenge import BASE_PATH
    from shieldware.pow import solve

    redis = RedisServer(tmp_path)
    redis.start()
    port = free_port()
    env = _env(redis.url, uuid.uuid4().hex[:12], RELIABILITY_SECRET=SECRET)
    cmd = [
        sys.executable,
        "-m",
        "uvicorn",
        "tests.reliability.served_app:pow_app",
        "--factory",
        "--workers",
        "2",
        "--port",
        str(port),
        "--log-level",
        "warning",
    ]
    proc = _serve(cmd, env, port)
    try:
        time.sleep(1.0)
        head = b"Host: localhost\r\nAccept: text/html\r\nUser-Agent: reliability\r\n"
        page = raw_request(port, b"GET /page HTTP/1.1\r\n" + head + b"Connection: close\r\n\r\n")
        assert status_of(page) == 403
        token = page.split(b'data-challenge="', 1)[1].split(b'"', 1)[0].decode()
        nonces = ",".join(map(str, solve(token.split(".")[1], 4, 3)))
        target = f"{BASE_PATH}verify?c={token}&s={nonces}&r=/page".encode()
        request = b"GET " + target + b" HTTP/1.1\r\n" + head + b"Connection: close\r\n\r\n"
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(lambda _: raw_request(port, request), range(24)))
    finally:
        _stop(proc)
        redis.stop()
    statuses = [status_of(a) for a in answers]
    cleared = [
        a for a in answers if b"\r\nset-cookie: sw_pow" in a.lower().replace(b"__host-", b"")
    ]
    assert len(cleared) == 1, statuses
    assert statuses.count(303) == 1, statuses
    assert all(s is not None and s < 500 for s in statuses), statuses
