"""Side-by-side cost of rate limiting, in process: ASGI apps called directly, no network.

Every app serves the same Starlette hello world to 64 client addresses. Rounds are interleaved
(the app order rotates every round) and each figure is the median over rounds of the mean
microseconds per request in that round, so drift on a shared machine hits every app alike.

    python benchmarks/bench_ratelimit.py [--rounds 15] [--requests 2000]

Apps: bare Starlette; + shieldware TokenBucket (memory store, generous: every request passes);
+ asgi-ratelimit and slowapi (memory) when installed. Refusals: shieldware answering 429 from the
store and from its local over-limit cache, next to the bare app serving hello.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from shieldware import MemoryStore, Shield, ShieldMiddleware, TokenBucket

App = Callable[[dict[str, Any], Any, Any], Awaitable[None]]
IPS = [f"10.1.{i // 256}.{i % 256}" for i in range(64)]


async def hello(request: Request) -> Response:
    return PlainTextResponse("hello")


def starlette() -> Starlette:
    return Starlette(routes=[Route("/", hello)])


def shieldware_app(rate: str, burst: int, **options: Any) -> App:
    shield = Shield([TokenBucket(rate, burst=burst, **options)], store=MemoryStore())
    return ShieldMiddleware(starlette(), shield=shield)


def peers() -> dict[str, App]:
    apps: dict[str, App] = {}
    try:
        from ratelimit import RateLimitMiddleware, Rule
        from ratelimit.backends.simple import MemoryBackend

        async def by_client(scope: Any) -> tuple[str, str]:
            return scope["client"][0], "default"

        apps["asgi-ratelimit (memory)"] = RateLimitMiddleware(
            starlette(), by_client, MemoryBackend(), {r"^/": [Rule(second=1_000_000)]}
        )
    except ImportError:
        pass
    try:
        from slowapi import Limiter
        from slowapi.middleware import SlowAPIASGIMiddleware
        from slowapi.util import get_remote_address

        app = starlette()
        app.state.limiter = Limiter(key_func=get_remote_address, default_limits=["1000000/second"])
        app.add_middleware(SlowAPIASGIMiddleware)
        apps["slowapi (memory)"] = app
    except ImportError:
        pass
    return apps


async def one_round(app: App, requests: int, expect: int) -> float:
    status = 0

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    scopes = [
        {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": "/",
            "raw_path": b"/",
            "query_string": b"",
            "root_path": "",
            "headers": [(b"host", b"bench"), (b"user-agent", b"bench/1")],
            "client": (ip, 40000),
            "server": ("bench", 80),
        }
        for ip in IPS
    ]
    start = time.perf_counter_ns()
    for i in range(requests):
        await app(dict(scopes[i % 64]), receive, send)
    elapsed = time.perf_counter_ns() - start
    if status != expect:
        raise SystemExit(f"{app!r} answered {status}, expected {expect}")
    return elapsed / requests / 1000


async def main(rounds: int, requests: int) -> None:
    cases: dict[str, tuple[App, int]] = {
        "bare Starlette": (starlette(), 200),
        "+ ShieldMiddleware, empty chain": (
            ShieldMiddleware(starlette(), shield=Shield([], store=MemoryStore())),
            200,
        ),
        "+ shieldware TokenBucket (memory)": (shieldware_app("100000/second", 100_000), 200),
    }
    cases.update({name: (app, 200) for name, app in peers().items()})
    # Refusals: every client already over a 1-per-hour bucket.
    refuse_store = shieldware_app("1/hour", 1, local_cache=0)
    refuse_local = shieldware_app("1/hour", 1)
    for app in (refuse_store, refuse_local):
        await one_round(app, 64, 200)  # spend each client's single token
    cases["shieldware 429 (store)"] = (refuse_store, 429)
    cases["shieldware 429 (local cache)"] = (refuse_local, 429)

    for app, expect in cases.values():  # warm-up
        await one_round(app, 200, expect)
    names = list(cases)
    samples: dict[str, list[float]] = {n: [] for n in names}
    for r in range(rounds):
        order = names[r % len(names) :] + names[: r % len(names)]
        for name in order:
            app, expect = cases[name]
            samples[name].append(await one_round(app, requests, expect))
    medians = {n: statistics.median(v) for n, v in samples.items()}
    bare = medians["bare Starlette"]
    print(f"{rounds} interleaved rounds x {requests} requests, 64 clients; median us/request")
    print(f"{'app':38} {'us/req':>8} {'added us':>9} {'x bare':>7}")
    for name in names:
        m = medians[name]
        added = "" if name == "bare Starlette" or "429" in name else f"{m - bare:+9.2f}"
        print(f"{name:38} {m:8.2f} {added:>9} {m / bare:7.2f}")


async def flood(clients: int, max_entries: int) -> None:
    """Distinct client addresses through a TokenBucket: memory must stay at the store's bound."""
    import gc
    import tracemalloc

    store = MemoryStore(max_entries)
    shield = Shield([TokenBucket("10/minute", burst=5)], store=store)
    app = ShieldMiddleware(starlette(), shield=shield)

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    async def send(message: dict[str, Any]) -> None:
        pass

    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    checkpoints = {clients // 4, clients // 2, clients}
    for i in range(1, clients + 1):
        ip = f"{10 + (i >> 24) % 200}.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}"
        scope = {"type": "http", "method": "GET", "path": "/", "headers": [], "client": (ip, 1)}
        await app(scope, receive, send)
        if i in checkpoints:
            gc.collect()
            grown = (tracemalloc.get_traced_memory()[0] - base) / 2**20
            print(f"flood: {i:>9} distinct IPs: store {len(store):>7} entries, +{grown:.1f} MiB")
    tracemalloc.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument(
        "--flood", type=int, default=0, help="distinct IPs to flood with (e.g. 1e6)"
    )
    parser.add_argument("--max-entries", type=int, default=10_000)
    args = parser.parse_args()
    if args.flood:
        asyncio.run(flood(args.flood, args.max_entries))
    else:
        asyncio.run(main(args.rounds, args.requests))
