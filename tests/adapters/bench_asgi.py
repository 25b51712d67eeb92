"""In-process cost of `ShieldMiddleware`: ``python -m tests.adapters.bench_asgi``.

Awaits the ASGI app with a prepared scope in a tight loop, paired round by round with the bare app,
and prints the added microseconds (best rounds). Ratios and differences only: never asserted.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from shieldware import Action, Facts, Progress, Shield, ShieldMiddleware, TokenBucket, Verdict

App = Callable[[Any, Any, Any], Awaitable[None]]
_MESSAGE = {"type": "http.request", "body": b"", "more_body": False}


class NoOp:
    name = "noop"

    def check(self, facts: Facts, progress: Progress) -> Verdict:
        return Verdict(Action.PASS, "noop", "ok")


async def hello(scope: Any, receive: Any, send: Any) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/plain")],
        }
    )
    await send({"type": "http.response.body", "body": b"hello"})


async def _hello_endpoint(request: Request) -> PlainTextResponse:
    return PlainTextResponse("hello")


def starlette_hello() -> Starlette:
    return Starlette(routes=[Route("/", _hello_endpoint)])


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
        "root_path": "",
        "headers": [
            (b"host", b"example.com"),
            (b"user-agent", b"Mozilla/5.0"),
            (b"accept", b"text/html"),
            (b"accept-language", b"en"),
            (b"accept-encoding", b"gzip"),
        ],
        "client": ("192.0.2.1", 5000),
        "server": ("127.0.0.1", 8000),
    }


async def _receive() -> dict[str, Any]:
    return _MESSAGE


async def _send(message: Any) -> None:
    return None


async def _per_call(app: App, n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        await app(scope(), _receive, _send)
    return (time.perf_counter() - start) / n * 1e6


async def paired(app: App, bare: App, rounds: int = 25, n: int = 2000) -> tuple[float, float]:
    """(µs of `bare`, µs `app` adds over it), each the minimum over rounds run in pairs: on a
    shared machine the least disturbed round is the truest."""
    await _per_call(app, n // 4)
    await _per_call(bare, n // 4)
    base, added = [], []
    for _ in range(rounds):
        b = await _per_call(bare, n)
        a = await _per_call(app, n)
        base.append(b)
        added.append(a)
    return min(base), min(added) - min(base)


async def main() -> None:
    _, floor = await paired(hello, hello)  # the noise floor of the harness
    base, starlette_added = await paired(starlette_hello(), hello)
    reference = base + starlette_added
    refused = Shield([TokenBucket("1/hour", burst=1)])
    await ShieldMiddleware(hello, shield=refused)(scope(), _receive, _send)  # spend the token
    cases = {
        "inert shield": ShieldMiddleware(hello, shield=Shield()),
        "one no-op layer": ShieldMiddleware(hello, shield=Shield([NoOp()])),
        "429 refusal (TokenBucket)": ShieldMiddleware(hello, shield=refused),
    }
    print(f"raw hello {base:.2f} µs; Starlette hello {reference:.2f} µs; floor {floor:+.2f} µs")
    for name, app in cases.items():
        base, added = await paired(app, hello)
        total = base + added
        ratio = total / reference
        print(f"{name:26} {added:+6.2f} µs  (serve {total:.2f} µs = {ratio:.2f}x Starlette)")


if __name__ == "__main__":
    asyncio.run(main())
