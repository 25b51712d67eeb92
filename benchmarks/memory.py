"""Memory after a flood of distinct client addresses, one subprocess per limiter.

Each limiter is driven at its core (the store or backend its middleware calls per request), which
is what holds per-client state, so a million keys take seconds rather than an hour of HTTP. Two runs
per limiter: one reads RSS growth (psutil), one reads Python's own allocations (tracemalloc), which
slows the loop and would inflate RSS if both ran at once. A time budget bounds each run; how many
keys got through is reported with the figures.

Run one: ``python -m benchmarks.memory shieldware rss 1000000 90``.
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator
from typing import Any

LIMITERS = ("shieldware", "shieldware-chain", "asgi-ratelimit", "slowapi", "fastapi-limiter")
LABELS = {
    "shieldware": "shieldware MemoryStore (bound 100,000), Take ops",
    "shieldware-chain": "shieldware TokenBucket through Shield.decide (memory store)",
    "asgi-ratelimit": "asgi-ratelimit MemoryBackend",
    "slowapi": "slowapi (limits MemoryStorage, fixed window)",
    "fastapi-limiter": "fastapi-limiter (pyrate-limiter InMemoryBucket)",
}
BOUND = 100_000


def _ips(n: int) -> Iterator[str]:
    for i in range(n):
        yield f"{11 + (i >> 24)}.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}"


def _rss() -> int:
    import psutil

    return int(psutil.Process().memory_info().rss)


def _driver(name: str) -> tuple[Callable[[str], Any], Callable[[], dict[str, Any]]]:
    """A function that makes one decision for a client address, and one that describes state."""
    if name == "shieldware":
        from shieldware import MemoryStore
        from shieldware.ops import Bucket, Take

        store = MemoryStore(BOUND)
        interval = 60_000_000 // 100  # 100 per minute, burst 20

        def shield_take(ip: str) -> Any:
            return store.run(Take((Bucket(f"ip:{ip}", interval, 20),)))

        return shield_take, lambda: {
            "size": len(store),
            "bound": BOUND,
            "evictions": store.evictions,
        }
    if name == "shieldware-chain":
        import shieldware
        from benchmarks import layers as L

        store = shieldware.MemoryStore(BOUND)
        shield = shieldware.Shield([L.token_bucket("100/minute", burst=20)], store=store)

        def chain(ip: str) -> Any:
            facts = shieldware.Facts(
                "GET",
                "/",
                headers=(("host", "bench"),),
                client_ip=__import__("ipaddress").ip_address(ip),
            )
            return shield.decide(facts)

        return chain, lambda: {"size": len(store), "bound": BOUND, "evictions": store.evictions}
    if name == "asgi-ratelimit":
        import asyncio

        from ratelimit import Rule
        from ratelimit.backends.simple import MemoryBackend

        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        backend = MemoryBackend()
        rule = Rule(minute=100)

        def arl(ip: str) -> Any:
            return loop.run_until_complete(backend.retry_after("/", ip, rule))

        return arl, lambda: {"size": sum(len(v) for v in backend.blocks.values())}
    if name == "slowapi":
        from limits import parse
        from limits.storage import MemoryStorage
        from limits.strategies import FixedWindowRateLimiter

        storage = MemoryStorage()
        limiter = FixedWindowRateLimiter(storage)
        item = parse("100/minute")

        def slow(ip: str) -> Any:
            return limiter.hit(item, "LIMITER", ip, "/")

        return slow, lambda: {"size": len(storage.storage)}
    if name == "fastapi-limiter":
        from pyrate_limiter import Duration, InMemoryBucket, Limiter, Rate

        bucket = InMemoryBucket([Rate(100, Duration.MINUTE)])
        lim = Limiter(bucket)

        def fl(ip: str) -> Any:
            return lim.try_acquire(f"{ip}:/:0:0", blocking=False)

        return fl, lambda: {
            "size": len(bucket.items),
            "note": "one bucket shared by every client (as its README shows)",
        }
    raise SystemExit(f"unknown limiter {name!r}")


def child(name: str, mode: str, n: int, budget: float) -> dict[str, Any]:
    try:
        decide, describe = _driver(name)
    except Exception as exc:
        return {"limiter": name, "skipped": f"{type(exc).__name__}: {exc}"[:300]}
    for ip in _ips(100):  # warm up imports and code paths before the baseline
        decide("10.0." + ip.split(".", 2)[2])
    gc.collect()
    if mode == "trace":
        tracemalloc.start()
    rss0 = _rss()
    start = time.monotonic()
    done = 0
    checkpoints: list[tuple[int, int]] = []
    for done, ip in enumerate(_ips(n), 1):
        decide(ip)
        if done % 100_000 == 0:
            checkpoints.append((done, _rss() - rss0))
            if time.monotonic() - start > budget:
                break
    elapsed = time.monotonic() - start
    gc.collect()
    out: dict[str, Any] = {
        "limiter": name,
        "mode": mode,
        "keys": done,
        "target": n,
        "seconds": round(elapsed, 2),
        "us_per_key": elapsed / max(done, 1) * 1e6,
        **describe(),
    }
    if mode == "trace":
        current, peak = tracemalloc.get_traced_memory()
        out.update(traced_mib=current / 2**20, traced_peak_mib=peak / 2**20)
    else:
        out.update(
            rss_growth_mib=(_rss() - rss0) / 2**20,
            rss_checkpoints_mib=[(k, v / 2**20) for k, v in checkpoints],
        )
    return out


#: tracemalloc runs are slow; they are made at the store level only, on a shorter budget.
TRACED = ("shieldware", "asgi-ratelimit", "slowapi", "fastapi-limiter")


def run(
    n: int = 1_000_000,
    budget: float = 90.0,
    log: Callable[[str], None] = print,
    limiters: tuple[str, ...] = LIMITERS,
    trace_budget: float = 45.0,
) -> dict[str, Any]:
    """Run every limiter in its own subprocess: RSS always, tracemalloc for the `TRACED` ones."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([os.path.join(root, "src"), root])}
    results: dict[str, Any] = {}
    for name in limiters:
        row: dict[str, Any] = {"label": LABELS[name]}
        for mode in ("rss", "trace") if name in TRACED else ("rss",):
            log(f"  memory: {name} ({mode}) ...")
            secs = budget if mode == "rss" else trace_budget
            proc = subprocess.run(
                [sys.executable, "-m", "benchmarks.memory", name, mode, str(n), str(secs)],
                capture_output=True,
                text=True,
                env=env,
                cwd=root,
                timeout=secs * 3 + 120,
                check=False,
            )
            try:
                data = json.loads(proc.stdout.strip().splitlines()[-1])
            except (IndexError, ValueError):
                data = {"skipped": f"child failed: {proc.stderr.strip()[-300:]}"}
            if "skipped" in data:
                row["skipped"] = data["skipped"]
                break
            row[mode] = data
        results[name] = row
    return results


if __name__ == "__main__":
    lim, md, count, secs = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    print(json.dumps(child(lim, md, count, secs)))
