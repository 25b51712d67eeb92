"""The rate-limit layers on Redis through the real adapters: exact admission counts under
contention (threads through WSGI, tasks through ASGI, two server processes), and an outage."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from shieldware import RateLimit, Shield, ShieldMiddleware, ShieldWSGIMiddleware, TokenBucket
from shieldware.stores import CircuitBreaker, FallbackStore, RedisStore, store_from_url
from tests.conftest import free_port

pytestmark = pytest.mark.redis

SRC = Path(__file__).resolve().parents[2] / "src"


def hello_wsgi(environ: Any, start_response: Any) -> list[bytes]:
    start_response("200 OK", [("content-type", "text/plain")])
    return [b"hello"]


async def hello_asgi(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"hello"})


def environ() -> dict[str, Any]:
    return {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/",
        "QUERY_STRING": "",
        "SERVER_NAME": "test",
        "SERVER_PORT": "80",
        "REMOTE_ADDR": "203.0.113.7",
        "wsgi.url_scheme": "http",
        "wsgi.input": None,
    }


def scope() -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/",
        "raw_path": b"/",
        "query_string": b"",
        "headers": [(b"host", b"test")],
        "client": ("203.0.113.7", 5000),
        "server": ("test", 80),
    }


def limited(store: Any, burst: int) -> Shield:
    return Shield([TokenBucket("1/hour", burst=burst)], store=store)


def test_eight_threads_through_wsgi_admit_exactly_the_burst(redis_url: str) -> None:
    store = store_from_url(redis_url)
    app = ShieldWSGIMiddleware(hello_wsgi, shield=limited(store, 25))
    statuses: list[str] = []
    lock = threading.Lock()

    def one() -> None:
        seen: list[str] = []
        body = app(environ(), lambda status, headers, exc_info=None: seen.append(status))
        b"".join(body)
        getattr(body, "close", lambda: None)()
        with lock:
            statuses.append(seen[0])

    with ThreadPoolExecutor(8) as pool:
        for future in [pool.submit(one) for _ in range(80)]:
            future.result()
    assert statuses.count("200 OK") == 25
    assert sum(s.startswith("429") for s in statuses) == 55
    store.close()


def test_a_thousand_tasks_through_asgi_admit_exactly_the_burst(redis_url: str) -> None:
    # A thousand tasks share one busy loop on a shared machine: give them time.
    store = store_from_url(redis_url + "&timeout=2&connect_timeout=2")
    app = ShieldMiddleware(hello_asgi, shield=limited(store, 100))

    async def one() -> int:
        status: list[int] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])

        await app(scope(), receive, send)
        return status[0]

    async def main() -> list[int]:
        results = await asyncio.gather(*(one() for _ in range(1000)))
        await store.aclose()
        return list(results)

    statuses = asyncio.run(main())
    assert statuses.count(200) == 100
    assert statuses.count(429) == 900
    store.close()


SERVER = """
import sys, uvicorn
from shieldware import Shield, ShieldMiddleware, TokenBucket
from shieldware.stores import store_from_url


async def hello(scope, receive, send):
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"hello"})

shield = Shield([TokenBucket("1/hour", burst=40)], store=store_from_url(sys.argv[1]))
uvicorn.run(ShieldMiddleware(hello, shield=shield), host="127.0.0.1", port=int(sys.argv[2]),
            log_level="warning")
"""


@pytest.fixture
def two_servers(redis_url: str) -> Iterator[list[str]]:
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    ports = [free_port(), free_port()]
    processes = [
        subprocess.Popen([sys.executable, "-c", SERVER, redis_url, str(port)], env=env)
        for port in ports
    ]
    bases = [f"http://127.0.0.1:{port}" for port in ports]
    try:
        deadline = time.monotonic() + 30
        for base in bases:
            while True:
                try:
                    httpx.get(base + "/health-probe-not-counted", timeout=1, headers={"x": "1"})
                    break
                except httpx.TransportError:
                    assert time.monotonic() < deadline, "server did not start"
                    time.sleep(0.1)
        yield bases
    finally:
        for process in processes:
            process.terminate()
            process.wait(10)


def test_two_server_processes_sharing_redis_admit_exactly_the_burst(
    two_servers: list[str],
) -> None:
    # The readiness probes above took one unit each from the shared bucket.
    with ThreadPoolExecutor(8) as pool:
        statuses = list(
            pool.map(
                lambda i: httpx.get(two_servers[i % 2] + "/", timeout=10).status_code, range(100)
            )
        )
    assert statuses.count(200) == 40 - 2
    assert statuses.count(429) == 100 - 38


def test_fallback_store_keeps_local_limits_and_recovers(redis_server: Any) -> None:
    redis = RedisStore(redis_server.url, timeout=0.2, breaker=CircuitBreaker(2, 0.3))
    store = FallbackStore(redis)
    layer = RateLimit([TokenBucket("1/hour", burst=3)])
    shield = Shield([layer], store=store)
    facts = shield.facts_from_environ(environ())
    assert not shield.decide(facts).answered
    assert store.degraded == 0
    redis_server.stop()
    decisions = [shield.decide(facts) for _ in range(6)]
    # A local bucket takes over, then the local over-limit cache refuses.
    assert [d.answered for d in decisions] == [False] * 3 + [True] * 3
    assert store.degraded == 4  # three admitted, one refused; later refusals are local
    redis_server.start()
    other = shield.facts_from_environ({**environ(), "REMOTE_ADDR": "198.51.100.1"})
    deadline = time.monotonic() + 5
    while True:
        before = store.degraded
        shield.decide(other)
        if store.degraded == before:
            break
        assert time.monotonic() < deadline, "service did not recover"
        time.sleep(0.05)
    store.close()
