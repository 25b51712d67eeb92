"""Exact admission counts under contention, and a real uvicorn server answering 429 with headers."""

from __future__ import annotations

import asyncio
import json
import threading
from collections import Counter
from collections.abc import Iterable
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from shieldware import (
    GLOBAL,
    MemoryStore,
    RateLimit,
    Shield,
    ShieldMiddleware,
    ShieldWSGIMiddleware,
    TokenBucket,
)
from tests.servers import run_asgi, run_wsgi
from tests.test_headers import parse_sf_list


def test_eight_threads_through_the_wsgi_middleware_admit_exactly_the_burst() -> None:
    def app(environ: Any, start_response: Any) -> Iterable[bytes]:
        start_response("200 OK", [("content-type", "text/plain")])
        return [b"ok"]

    shield = Shield([TokenBucket("1/hour", burst=50)], store=MemoryStore())
    statuses: Counter[int] = Counter()
    lock = threading.Lock()
    with run_wsgi(ShieldWSGIMiddleware(app, shield=shield)) as base:

        def worker() -> None:
            with httpx.Client(base_url=base) as client:
                for _ in range(20):
                    status = client.get("/").status_code
                    with lock:
                        statuses[status] += 1

        threads = [threading.Thread(target=worker) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert statuses == {200: 50, 429: 110}


def test_a_thousand_concurrent_tasks_through_the_asgi_middleware_admit_exactly_the_burst() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await asyncio.sleep(0)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    layer = RateLimit(
        [
            TokenBucket("1/hour", burst=100, name="per-ip"),
            TokenBucket("1/hour", burst=400, key=GLOBAL, name="global"),
        ]
    )
    middleware = ShieldMiddleware(app, shield=Shield([layer], store=MemoryStore()))

    async def one(i: int) -> int:
        ip = f"10.0.{i % 5}.1"  # five clients, 200 requests each
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b""}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        scope = {"type": "http", "method": "GET", "path": "/", "headers": [], "client": (ip, 1)}
        await middleware(scope, receive, send)
        return int(sent[0]["status"])

    async def main() -> list[int]:
        return await asyncio.gather(*(one(i) for i in range(1000)))

    statuses = Counter(asyncio.run(main()))
    # 5 clients x 100 per-IP burst = 500 wanted, but the global bucket holds 400: exactly 400 pass
    assert statuses == {200: 400, 429: 600}


async def hello(request: Request) -> Response:
    return PlainTextResponse("hello")


def test_uvicorn_end_to_end_429_with_headers() -> None:
    shield = Shield([TokenBucket("2/minute", burst=2, name="api")])
    app = Starlette(routes=[Route("/", hello)])
    app.add_middleware(ShieldMiddleware, shield=shield)
    with run_asgi(app) as base, httpx.Client(base_url=base) as client:
        first = client.get("/")
        assert first.status_code == 200
        assert first.text == "hello"
        assert parse_sf_list(first.headers["ratelimit-policy"]) == [
            ("api", {"q": 2, "w": 60, "sw-burst": 2})
        ]
        assert parse_sf_list(first.headers["ratelimit"]) == [("api", {"r": 1, "t": 30})]
        assert client.get("/").status_code == 200
        refused = client.get("/", headers={"accept": "application/json"})
        assert refused.status_code == 429
        retry = int(refused.headers["retry-after"])
        assert 30 <= retry <= 33
        ((name, params),) = parse_sf_list(refused.headers["ratelimit"])
        assert name == "api"
        assert params["r"] == 0
        assert params["t"] == retry
        problem = json.loads(refused.text)
        assert refused.headers["content-type"] == "application/problem+json"
        assert problem["status"] == 429
        assert problem["rule"] == "ratelimit/api"
        assert problem["type"].endswith("quota-exceeded")
