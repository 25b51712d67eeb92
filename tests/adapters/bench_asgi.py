"""In-process cost of `ShieldMiddleware`: ``python -m tests.adapters.bench_asgi``.

Awaits the ASGI app with a prepared scope in a tight loop, paired round by round with the bare app,
and prints the median added microseconds. Ratios and differences only: never asserted.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
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


def starlette_hello() -> Starlette:
    return Starlette(routes=[Route("/", lambda request: PlainTextResponse("hello"))])


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


async def paired(app: App, bare: App, rounds: int = 15, n: int = 4000) -> tuple[float, float]:
    """(median µs of `bare`, median µs `app` adds over it), paired round by round."""
    await _per_call(app, n // 4)
    await _per_call(bare, n // 4)
    base, added = [], []
    for _ in range(rounds):
        b = await _per_call(bare, n)
        a = await _per_call(app, n)
        base.append(b)
        added.append(a - b)
    return statistics.median(base), statistics.median(added)


async def main() -> None:
    ref = await _per_call(starlette_hello(), 4000)
    _, scope_cost = await paired(hello, hello)  # the noise floor of the harness
    refused = Shield([TokenBucket("1/hour", burst=1)])
    await ShieldMiddleware(hello, shield=refused)(scope(), _receive, _send)  # spend the token
    cases = {
        "inert shield": ShieldMiddleware(hello, shield=Shield()),
        "one no-op layer": ShieldMiddleware(hello, shield=Shield([NoOp()])),
        "429 refusal (TokenBucket)": ShieldMiddleware(hello, shield=refused),
    }
    print(f"bare Starlette hello world: {ref:.2f} µs; harness floor {scope_cost:+.2f} µs")
    for name, app in cases.items():
        base, added = await paired(app, hello)
        total = base + added
        print(f"{name:28} +{added:.2f} µs over {base:.2f} µs  ({total / ref:.2f}x Starlette hello)")


if __name__ == "__main__":
    asyncio.run(main())
