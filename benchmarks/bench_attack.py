"""What the under-attack switch costs while it is off: ``python -m benchmarks.bench_attack``.

Each case decides the same requests with two shields that differ only in ``attack=`` (no switch
vs a profile whose switch is off), in paired rounds (alternating which goes first); the figures
are medians of the per-round ratios and added nanoseconds, so a noisy machine's drift falls on
both sides. The switch-off cost is one monotonic clock read and two attribute reads per request
(the store is read at most every 0.5 s); the ``noop`` case shows it against the cheapest chain,
``default`` against the chain people run (deciding alone, and through `ShieldMiddleware` around a
Starlette hello world: what an app sees).
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # `python benchmarks/bench_attack.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
    __package__ = "benchmarks"

from benchmarks import layers as L
from shieldware import Facts, Shield
from shieldware.attack import AttackProfile
from shieldware.stores import MemoryStore

UA = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0 Safari/537.36"
)
HEADERS = (
    ("host", "bench.example"),
    ("user-agent", UA),
    ("accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
    ("accept-language", "en-GB,en;q=0.9"),
    ("accept-encoding", "gzip, deflate, br"),
    ("sec-fetch-mode", "navigate"),
)


def requests(n: int = 64) -> list[Facts]:
    return [
        Facts(
            "GET",
            "/",
            headers=HEADERS,
            client_ip=ipaddress.ip_address(f"10.0.{i // 250}.{i % 250 + 1}"),
        )
        for i in range(n)
    ]


def cases() -> dict[str, tuple[Shield, Shield]]:
    """Per case: (without a switch, with the switch off)."""
    gentle = AttackProfile(navigation=False, api=None)  # no proof-of-work layer needed
    return {
        "noop": (
            Shield([L.noop()], store=MemoryStore()),
            Shield([L.noop()], store=MemoryStore(), attack=gentle),
        ),
        "default": (
            Shield.default(L.SECRET, attack=None),
            Shield.default(L.SECRET),
        ),
    }


def _timed_sync(shield: Shield, batch: list[Facts], reps: int) -> float:
    decide = shield.decide
    started = time.perf_counter()
    for _ in range(reps):
        for facts in batch:
            decide(facts)
    return (time.perf_counter() - started) / (reps * len(batch))


def _timed_async(shield: Shield, batch: list[Facts], reps: int) -> float:
    async def run() -> float:
        adecide = shield.adecide
        started = time.perf_counter()
        for _ in range(reps):
            for facts in batch:
                await adecide(facts)
        return (time.perf_counter() - started) / (reps * len(batch))

    return asyncio.run(run())


def _scopes(batch: list[Facts]) -> list[dict[str, Any]]:
    return [
        {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": "/",
            "raw_path": b"/",
            "root_path": "",
            "query_string": b"",
            "headers": [(k.encode(), v.encode()) for k, v in HEADERS],
            "client": (str(f.client_ip), 50000),
            "server": ("bench.example", 80),
        }
        for f in batch
    ]


def _timed_asgi(shield: Shield, batch: list[Facts], reps: int) -> float:
    """Through `ShieldMiddleware` around a Starlette hello world: what an app sees."""
    from benchmarks.apps import starlette_hello
    from shieldware.asgi import ShieldMiddleware

    app = ShieldMiddleware(starlette_hello(), shield=shield)

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        pass

    async def run() -> float:
        scopes = [_scopes(batch) for _ in range(reps)]
        started = time.perf_counter()
        for round_scopes in scopes:
            for scope in round_scopes:
                await app(scope, receive, send)
        return (time.perf_counter() - started) / (reps * len(batch))

    return asyncio.run(run())


def paired(
    plain: Shield,
    switched: Shield,
    timed: Callable[[Shield, list[Facts], int], float],
    rounds: int,
    reps: int,
) -> dict[str, float]:
    batch = requests()
    for shield in (plain, switched):  # warm: buckets made, caches filled, the switch read
        timed(shield, batch, 2)
    ratios, added = [], []
    for r in range(rounds):
        if r % 2:
            b = timed(switched, batch, reps)
            a = timed(plain, batch, reps)
        else:
            a = timed(plain, batch, reps)
            b = timed(switched, batch, reps)
        ratios.append(b / a)
        added.append((b - a) * 1e9)
    return {
        "ratio": round(statistics.median(ratios), 4),
        "added_ns": round(statistics.median(added), 1),
        "plain_us": round(a * 1e6, 2),
    }


def run(rounds: int = 15, reps: int = 40) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, (plain, switched) in cases().items():
        assert switched.switch is not None
        assert not switched.switch.active
        out[name] = {
            "sync": paired(plain, switched, _timed_sync, rounds, reps),
            "async": paired(plain, switched, _timed_async, rounds, reps),
        }
        if name == "default":
            out[name]["asgi"] = paired(plain, switched, _timed_asgi, rounds, reps)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--reps", type=int, default=40)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    result = run(args.rounds, args.reps)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print("the under-attack switch while off: per-request cost, with / without (paired medians)")
    for name, drivers in result.items():
        for driver, figures in drivers.items():
            print(
                f"  {name:<8} {driver:<5} ratio {figures['ratio']:.3f}  "
                f"added {figures['added_ns']:+.0f} ns  (chain {figures['plain_us']:.2f} µs)"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
