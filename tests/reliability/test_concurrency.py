"""Exact admission counts under concurrency: 8 WSGI threads, 1000 asyncio tasks, real servers.

Promise kept here: a limit of N admits exactly N, however many threads or tasks race for it (the
store charges a bucket atomically). Runs with the Take-based test layer always, and with the real
`TokenBucket` too once it has landed.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import random
import sys
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from shieldware import MemoryStore, Shield, ShieldMiddleware, ShieldWSGIMiddleware

from .helpers import (
    Captured,
    TakeLayer,
    asgi_hello,
    find,
    raw_request,
    status_of,
    wsgi_hello,
    wsgi_server,
)

LIMIT = 50
CLIENTS = [f"11.0.0.{i}" for i in range(1, 11)]


def _take_layer(limit: int) -> Any:
    return TakeLayer(limit)


def _token_bucket(limit: int) -> Any:
    tb = find("TokenBucket", "shieldware.layers.ratelimit")
    if tb is None:
        pytest.skip("TokenBucket has not landed on this branch")
    return tb(f"{limit}/hour", burst=limit)


@pytest.fixture(autouse=True)
def _tight_switching() -> Iterator[None]:
    """Switch threads every microsecond so they really race inside the middleware."""
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(old)


LAYERS = [pytest.param(_take_layer, id="take-layer"), pytest.param(_token_bucket, id="tokenbucket")]


def _plan(total: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [rng.choice(CLIENTS) for _ in range(total)]


def _expected(plan: list[str]) -> dict[str, int]:
    sent = collections.Counter(plan)
    return {c: min(n, LIMIT) for c, n in sent.items()}


def _environ(client: str) -> dict[str, Any]:
    import io
    import sys

    return {
        "REQUEST_METHOD": "GET",
        "SCRIPT_NAME": "",
        "PATH_INFO": "/",
        "QUERY_STRING": "",
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": client,
        "HTTP_HOST": "localhost",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }


@pytest.mark.parametrize("make_layer", LAYERS)
def test_eight_wsgi_threads_admit_exactly_the_limit(make_layer: Any) -> None:
    app = ShieldWSGIMiddleware(
        wsgi_hello, shield=Shield([make_layer(LIMIT)], store=MemoryStore(10_000))
    )
    plan = _plan(2000, seed=8)
    admitted: collections.Counter[str] = collections.Counter()
    refused: collections.Counter[str] = collections.Counter()
    lock = threading.Lock()
    barrier = threading.Barrier(8)

    def worker(chunk: list[str]) -> None:
        barrier.wait()
        for client in chunk:
            seen: list[str] = []

            def start_response(s: str, h: Any, e: Any = None, seen: list[str] = seen) -> None:
                seen.append(s)

            body = app(_environ(client), start_response)
            b"".join(body)
            with lock:
                (admitted if seen[0].startswith("200") else refused)[client] += 1
                assert seen[0].startswith(("200", "429")), seen

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(worker, [plan[i::8] for i in range(8)]))
    assert dict(admitted) == _expected(plan)
    assert sum(admitted.values()) + sum(refused.values()) == len(plan)


@pytest.mark.parametrize("make_layer", LAYERS)
def test_thousand_asyncio_tasks_admit_exactly_the_limit(make_layer: Any) -> None:
    app = ShieldMiddleware(asgi_hello, shield=Shield([make_layer(LIMIT)], store=MemoryStore()))
    plan = _plan(1000, seed=1000)

    async def one(client: str) -> int:
        out = Captured()
        scope = {
            "type": "http",
            "method": "GET",
            "path": "/",
            "headers": [],
            "query_string": b"",
            "client": (client, 1),
            "server": ("127.0.0.1", 80),
        }
        await asyncio.sleep(0)  # let every task start before any finishes
        await app(scope, out.receive, out.send)
        return out.status

    async def main() -> list[int]:
        return list(await asyncio.gather(*(one(c) for c in plan)))

    statuses = asyncio.run(main())
    admitted = collections.Counter(c for c, s in zip(plan, statuses, strict=True) if s == 200)
    assert set(statuses) <= {200, 429}
    assert dict(admitted) == _expected(plan)


@pytest.mark.slow
def test_real_threaded_wsgi_server_admits_exactly_the_limit() -> None:
    """Through sockets: 8 client threads against a threaded server, one client address."""
    app = ShieldWSGIMiddleware(wsgi_hello, shield=Shield([TakeLayer(LIMIT)]))
    request = b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    with wsgi_server(app) as (port, errors), concurrent.futures.ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(lambda _: status_of(raw_request(port, request)), range(160)))
    assert statuses.count(200) == LIMIT
    assert statuses.count(429) == 160 - LIMIT
    assert not errors
