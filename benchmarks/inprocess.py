"""In-process cost per request: ASGI apps awaited directly, WSGI apps called directly.

No server, no sockets: what is left is the framework plus the middleware. Requests are built before
each timed run (`benchmarks.requests`), so the timer sees only the app. Rounds are interleaved
(every app once per round, in a shuffled order) and each app's figure is the median of its rounds;
added µs and ratios are medians of per-round pairs, so the noise of a shared machine falls on every
app alike.
"""

from __future__ import annotations

import asyncio
import gc
import random
import statistics
import time
from collections.abc import Callable
from typing import Any

from .apps import VARIANTS, Variant
from .layers import Unavailable
from .requests import Requests

ROUND_SECONDS = 0.04


class _Runner:
    """Sends one app `n` prebuilt requests, returns the seconds spent, keeps the last status."""

    def __init__(self, variant: Variant, app: Any) -> None:
        self.variant = variant
        self.app = app
        self.status = 0
        self.requests = Requests(variant.kind, variant.clients, variant.expect != 200)

    async def run(self, n: int) -> float:
        batch = self.requests.make(n)
        gc.collect()
        if self.variant.kind == "asgi":
            return await self._asgi(batch)
        return self._wsgi(batch)

    async def _asgi(self, batch: list[dict[str, Any]]) -> float:
        app = self.app
        status = 0

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]

        start = time.perf_counter()
        for scope in batch:
            await app(scope, receive, send)
        elapsed = time.perf_counter() - start
        self.status = status
        return elapsed

    def _wsgi(self, batch: list[dict[str, Any]]) -> float:
        app = self.app
        status = ""

        def start_response(s: str, headers: Any, exc_info: Any = None) -> Callable[..., Any]:
            nonlocal status
            status = s
            return lambda data: None

        start = time.perf_counter()
        for environ in batch:
            body = app(environ, start_response)
            for _ in body:
                pass
            close = getattr(body, "close", None)
            if close is not None:
                close()
        elapsed = time.perf_counter() - start
        self.status = int(status.split()[0]) if status else 0
        return elapsed


def _ok(variant: Variant, status: int) -> bool:
    return status == 200 if variant.expect == 200 else 400 <= status < 500


async def measure(
    redis_url: str | None, rounds: int = 15, only: set[str] | None = None, log: Any = print
) -> dict[str, Any]:
    """Median µs per request for every variant that can be built, plus why the others could not."""
    runners: list[_Runner] = []
    skipped: dict[str, str] = {}
    for variant in VARIANTS:
        if only and variant.name not in only:
            continue
        if variant.redis and not redis_url:
            skipped[variant.name] = "no Redis server"
            continue
        try:
            app = await variant.build(redis_url or "")
        except Unavailable as exc:
            skipped[variant.name] = str(exc)
            continue
        except Exception as exc:
            skipped[variant.name] = f"failed to build: {type(exc).__name__}: {exc}"[:300]
            continue
        runner = _Runner(variant, app)
        try:
            await runner.run(50)  # warm up (and spend the reject variants' one allowed request)
        except Exception as exc:
            skipped[variant.name] = f"failed on a request: {type(exc).__name__}: {exc}"[:300]
            continue
        if not _ok(variant, runner.status):
            skipped[variant.name] = f"answered {runner.status}, expected {variant.expect or '4xx'}"
            continue
        runners.append(runner)
    # Calibrate: enough requests per round for about ROUND_SECONDS each.
    sizes: dict[str, int] = {}
    for runner in runners:
        took = await runner.run(100)
        sizes[runner.variant.name] = max(50, min(20_000, int(ROUND_SECONDS / (took / 100))))
    samples: dict[str, list[float]] = {r.variant.name: [] for r in runners}
    rng = random.Random(1)
    for index in range(rounds):
        order = runners[:]
        rng.shuffle(order)
        for runner in order:
            n = sizes[runner.variant.name]
            took = await runner.run(n)
            samples[runner.variant.name].append(took / n * 1e6)
        log(f"  in-process round {index + 1}/{rounds}")
    results: dict[str, Any] = {}
    for runner in runners:
        v = runner.variant
        values = samples[v.name]
        results[v.name] = {
            "label": v.label,
            "kind": v.kind,
            "rejects": v.expect != 200,
            "baseline": v.baseline,
            "median_us": statistics.median(values),
            "min_us": min(values),
            "max_us": max(values),
            "rounds": len(values),
            "requests_per_round": sizes[v.name],
            # the status of the last timed request: a passing variant must still pass
            "final_status": runner.status,
            "final_ok": _ok(v, runner.status),
            "samples_us": values,
        }
    for row in results.values():
        base = results.get(row["baseline"]) if row["baseline"] else None
        if base:
            row.update(paired(row["samples_us"], base["samples_us"]))
    return {"results": results, "skipped": skipped}


def paired(samples: list[float], base: list[float]) -> dict[str, float]:
    """Added µs and ratio to `base`, each the median of per-round figures (paired rounds).

    Per-round pairs are steadier than a difference or ratio of medians on a noisy machine.
    """
    pairs = list(zip(samples, base, strict=True))
    return {
        "added_us": statistics.median(a - b for a, b in pairs),
        "paired_ratio": statistics.median(a / b for a, b in pairs),
    }


def run(
    redis_url: str | None, rounds: int = 15, only: set[str] | None = None, log: Any = print
) -> dict[str, Any]:
    return asyncio.run(measure(redis_url, rounds, only, log))
