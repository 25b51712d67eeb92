"""In-process cost per request: ASGI apps awaited directly, WSGI apps called directly.

No server, no sockets: what is left is the framework plus the middleware. Rounds are interleaved
(every app once per round, in a shuffled order) and each app's figure is the median of its rounds,
so the noise of a shared machine falls on every app alike.
"""

from __future__ import annotations

import asyncio
import gc
import random
import statistics
import time
from collections.abc import Callable
from typing import Any

from .apps import REJECTED_CLIENT, VARIANTS, Variant
from .layers import Unavailable

#: Clients passing variants rotate through: enough that no client meets the default chain's
#: per-IP limit (burst 60) in a run; global addresses, since asgi-ratelimit refuses others.
CLIENTS = [f"11.0.{i >> 8}.{i & 255}" for i in range(4096)]
ROUND_SECONDS = 0.04


def _scope(client: str) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/",
        "raw_path": b"/",
        "root_path": "",
        "query_string": b"",
        "headers": [
            (b"host", b"bench.local"),
            (
                b"user-agent",
                b"Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
            ),
            (b"accept", b"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
            (b"accept-language", b"en-GB,en;q=0.5"),
            (b"accept-encoding", b"gzip, deflate, br"),
        ],
        "client": (client, 40000),
        "server": ("127.0.0.1", 8000),
    }


def _environ(client: str) -> dict[str, Any]:
    import io
    import sys

    return {
        "REQUEST_METHOD": "GET",
        "SCRIPT_NAME": "",
        "PATH_INFO": "/",
        "QUERY_STRING": "",
        "SERVER_NAME": "bench.local",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": client,
        "HTTP_HOST": "bench.local",
        "HTTP_USER_AGENT": "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
        "HTTP_ACCEPT": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
        "HTTP_ACCEPT_LANGUAGE": "en-GB,en;q=0.5",
        "HTTP_ACCEPT_ENCODING": "gzip, deflate, br",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }


class _Runner:
    """Calls one app `n` times and returns the seconds spent; remembers the last status."""

    def __init__(self, variant: Variant, app: Any) -> None:
        self.variant = variant
        self.app = app
        self.status = 0
        rejecting = variant.expect != 200
        clients = [REJECTED_CLIENT] if rejecting else CLIENTS
        self.templates = (
            [_scope(c) for c in clients]
            if variant.kind == "asgi"
            else [_environ(c) for c in clients]
        )

    async def run(self, n: int) -> float:
        if self.variant.kind == "asgi":
            return await self._asgi(n)
        return self._wsgi(n)

    async def _asgi(self, n: int) -> float:
        app, templates, count = self.app, self.templates, len(self.templates)
        status = 0

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]

        start = time.perf_counter()
        for i in range(n):
            await app(dict(templates[i % count]), receive, send)
        elapsed = time.perf_counter() - start
        self.status = status
        return elapsed

    def _wsgi(self, n: int) -> float:
        app, templates, count = self.app, self.templates, len(self.templates)
        status = ""

        def start_response(s: str, headers: Any, exc_info: Any = None) -> Callable[..., Any]:
            nonlocal status
            status = s
            return lambda data: None

        start = time.perf_counter()
        for i in range(n):
            body = app(dict(templates[i % count]), start_response)
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
            gc.collect()
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
    for v_name, row in results.items():
        base = results.get(row["baseline"]) if row["baseline"] else None
        if base:
            row["added_us"] = row["median_us"] - base["median_us"]
            row["ratio"] = row["median_us"] / base["median_us"]
            # Paired per-round ratios are steadier than a ratio of medians on a noisy machine.
            row["paired_ratio"] = statistics.median(
                a / b for a, b in zip(row["samples_us"], base["samples_us"], strict=False)
            )
        del v_name
    return {"results": results, "skipped": skipped}


def run(redis_url: str | None, rounds: int = 15, only: set[str] | None = None) -> dict[str, Any]:
    return asyncio.run(measure(redis_url, rounds, only))
