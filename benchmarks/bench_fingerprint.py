"""What the Fingerprint layer costs per request, in process, next to a bare Starlette app.

Three ASGI apps are driven directly (no sockets): a bare Starlette hello world, the same app
behind ShieldMiddleware with an empty chain, and behind ShieldMiddleware with the default
Fingerprint layer. Rounds are interleaved (A, B, C, A, B, C, ...) so machine noise hits all
three alike; we report medians of per-request times and the differences.

A second part times `Fingerprint.check` alone: the warm path (a head seen before; the common
case) and the cold path (every request a new user agent, so parsing, pack matching and all
signals run).

Run: ``python benchmarks/bench_fingerprint.py [--rounds 30] [--requests 2000]``.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import statistics
import time
from collections.abc import Callable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from shieldware import Facts, Shield, ShieldMiddleware
from shieldware.fingerprint import BotVerifier
from shieldware.layer import Progress
from shieldware.layers import Fingerprint, IPList

CHROME = [
    (b"host", b"example.org"),
    (b"connection", b"keep-alive"),
    (b"sec-ch-ua", b'"Google Chrome";v="131", "Chromium";v="131", "Not_A Brand";v="24"'),
    (b"sec-ch-ua-mobile", b"?0"),
    (b"sec-ch-ua-platform", b'"Windows"'),
    (b"upgrade-insecure-requests", b"1"),
    (
        b"user-agent",
        b"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        b"Chrome/131.0.0.0 Safari/537.36",
    ),
    (b"accept", b"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
    (b"sec-fetch-site", b"none"),
    (b"sec-fetch-mode", b"navigate"),
    (b"sec-fetch-user", b"?1"),
    (b"sec-fetch-dest", b"document"),
    (b"accept-encoding", b"gzip, deflate, br, zstd"),
    (b"accept-language", b"en-US,en;q=0.9"),
    (b"cookie", b"session=abc123; theme=dark"),
]
CURL = [(b"host", b"example.org"), (b"user-agent", b"curl/8.5.0"), (b"accept", b"*/*")]
FIREFOX = [
    (b"host", b"example.org"),
    (b"user-agent", b"Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"),
    (b"accept", b"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
    (b"accept-language", b"en-US,en;q=0.5"),
    (b"accept-encoding", b"gzip, deflate, br, zstd"),
    (b"sec-fetch-dest", b"document"),
    (b"sec-fetch-mode", b"navigate"),
    (b"sec-fetch-site", b"none"),
]
HEADS = [CHROME, CURL, FIREFOX]


async def hello(request: Request) -> PlainTextResponse:
    return PlainTextResponse("Hello, world!")


def starlette() -> Any:
    return Starlette(routes=[Route("/", hello)])


def scope(headers: list[tuple[bytes, bytes]], i: int) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "https",
        "path": "/",
        "raw_path": b"/",
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": (f"203.0.113.{i % 250}", 50000),
        "server": ("127.0.0.1", 8000),
    }


async def run(app: Any, n: int) -> float:
    """Seconds per request over `n` requests."""
    sent: list[Any] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scopes = [scope(HEADS[i % len(HEADS)], i) for i in range(n)]
    start = time.perf_counter()
    for s in scopes:
        await app(s, receive, send)
    elapsed = time.perf_counter() - start
    assert len(sent) == 2 * n
    return elapsed / n


def middleware_part(rounds: int, n: int) -> dict[str, list[float]]:
    quiet = BotVerifier()
    apps: dict[str, Any] = {
        "bare starlette": starlette(),
        "shield, empty chain": ShieldMiddleware(starlette(), shield=Shield([])),
        "shield + Fingerprint": ShieldMiddleware(
            starlette(), shield=Shield([Fingerprint(verifier=quiet)])
        ),
    }
    times: dict[str, list[float]] = {k: [] for k in apps}
    loop = asyncio.new_event_loop()
    for app in apps.values():  # warm up
        loop.run_until_complete(run(app, 200))
    for _ in range(rounds):
        for name, app in apps.items():
            times[name].append(loop.run_until_complete(run(app, n)))
    loop.close()
    return times


def facts_of(headers: list[tuple[bytes, bytes]], ua: bytes | None = None) -> Facts:
    pairs = tuple(
        (k.decode(), (ua if ua is not None and k == b"user-agent" else v).decode())
        for k, v in headers
    )
    ip = ipaddress.ip_address("203.0.113.7")
    return Facts(
        method="GET",
        path="/",
        headers=pairs,
        scheme="https",
        client_ip=ip,
        peer_ip=ip,
    )


def layer_part(rounds: int, n: int) -> dict[str, list[float]]:
    fp = Fingerprint(verifier=BotVerifier(), cache_size=4096)
    warm = [facts_of(h) for h in HEADS]
    iplist = IPList(deny=["192.0.2.0/24"])
    times: dict[str, list[float]] = {
        "IPList.check (baseline)": [],
        "check, warm (head seen before)": [],
        "check, cold (new UA)": [],
    }
    serial = 0

    def timed(make: Callable[[int], Facts], layer: Any = fp) -> float:
        items = [make(i) for i in range(n)]
        start = time.perf_counter()
        for f in items:
            layer.check(f, Progress())
        return (time.perf_counter() - start) / n

    def seen(i: int) -> Facts:
        return warm[i % len(warm)]

    for _ in range(rounds):
        times["IPList.check (baseline)"].append(timed(seen, iplist))
        times["check, warm (head seen before)"].append(timed(seen))
        times["check, cold (new UA)"].append(timed(_cold_from(serial)))
        serial += n
    return times


def _cold_from(base: int) -> Callable[[int], Facts]:
    """Chrome heads whose user agent no earlier request carried (numbered from `base`)."""

    def cold(i: int) -> Facts:
        ua = (
            b"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
            b"Chrome/131.0.%d.0 Safari/537.36" % (base + i)
        )
        return facts_of(CHROME, ua)

    return cold


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    med = {
        k: statistics.median(v) * 1e6
        for k, v in middleware_part(args.rounds, args.requests).items()
    }
    bare = med["bare starlette"]
    print(f"In-process ASGI, {args.rounds} interleaved rounds x {args.requests} requests, medians:")
    for name, us in med.items():
        print(f"  {name:<24} {us:7.2f} us/request   x{us / bare:.2f} of bare")
    added = med["shield + Fingerprint"] - med["shield, empty chain"]
    print(f"  Fingerprint layer adds   {added:7.2f} us/request over the empty chain")
    print(f"  normalised to a 9 us bare Starlette: {added * 9.0 / bare:5.2f} us/request")
    print(
        f"  whole shield + Fingerprint adds {med['shield + Fingerprint'] - bare:7.2f} us/request "
        "over bare Starlette"
    )
    layer = {
        k: statistics.median(v) * 1e6 for k, v in layer_part(max(5, args.rounds // 3), 1000).items()
    }
    print("Fingerprint.check alone, medians:")
    for name, us in layer.items():
        print(f"  {name:<32} {us:7.2f} us")


if __name__ == "__main__":
    main()
