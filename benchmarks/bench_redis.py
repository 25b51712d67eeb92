"""What Redis costs shieldware, client by client: the store alone, and whole ASGI requests.

Not a test: a script that prints medians over interleaved rounds, side by side in one run, against
a private redis-server it starts on a free port (so nobody else's traffic is counted).

1. **The store alone**: a `Take` and a whole TokenBucket decision, sync (`run`, `decide`) and
   async (`arun`, `adecide`), on shieldware's own client (``driver="auto"``) and on redis-py
   (``driver="redis-py"``, the client before it), beside the memory store; then the Redis
   commands each decision costs (``INFO commandstats`` deltas).
2. **Whole ASGI requests** (``--asgi``), the way ``python -m benchmarks`` measures them: added µs
   per request over the bare app for TokenBucket on Redis with each client, for fastapi-limiter on
   Redis (over bare FastAPI), and for the *floor*: the bare app plus one raw ``PING`` on our
   client, which is what any Redis round trip costs on this machine. Each also in CPU µs (this
   process's time): the wall figure is mostly waiting for the other process to be scheduled on
   a shared machine; the CPU figure is what the client stack costs. Ratios are medians of
   per-round pairs.

    python benchmarks/bench_redis.py [--rounds 15] [--ops 1000] [--asgi]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import ipaddress
import random
import secrets
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # `python benchmarks/bench_redis.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import redis

from benchmarks.redisserver import PrivateRedis
from shieldware import Facts, MemoryStore, Shield, TokenBucket
from shieldware.ops import Bucket, Take
from shieldware.stores import RedisStore
from shieldware.stores.redis import DRIVERS

Case = Callable[[int], float]
FACTS = Facts("GET", "/", client_ip=ipaddress.ip_address("203.0.113.7"))


def per_op_us(fn: Callable[[], Any], n: int) -> float:
    start = time.perf_counter_ns()
    for _ in range(n):
        fn()
    return (time.perf_counter_ns() - start) / n / 1000


def aper_op_us(loop: asyncio.AbstractEventLoop, fn: Callable[[], Awaitable[Any]], n: int) -> float:
    async def go() -> float:
        start = time.perf_counter_ns()
        for _ in range(n):
            await fn()
        return (time.perf_counter_ns() - start) / n / 1000

    return loop.run_until_complete(go())


@contextmanager
def cases(url: str) -> Iterator[tuple[dict[str, Case], Shield, asyncio.AbstractEventLoop]]:
    """The timed cases against `url` (each takes an op count, returns µs per op), and the shield
    on Redis (our client) and the loop they use; everything is closed on exit."""
    memory = MemoryStore()
    take = Take((Bucket("{203.0.113.7}:bench", 1, 10**9),))  # never refuses: the common path
    on_memory = Shield([TokenBucket("1000000/second")], store=MemoryStore())
    loop = asyncio.new_event_loop()
    raw = redis.Redis.from_url(url)  # one bare redis-py round trip
    timed: dict[str, Case] = {
        "PING      redis-py": lambda n: per_op_us(raw.ping, n),
        "Take      memory    run": lambda n: per_op_us(lambda: memory.run(take), n),
        "decide    memory": lambda n: per_op_us(lambda: on_memory.decide(FACTS), n),
    }
    stores: list[RedisStore] = []
    shields: dict[str, Shield] = {}
    for driver in DRIVERS:
        prefix = f"bench:{secrets.token_hex(4)}:"
        store = RedisStore(url, prefix=prefix, timeout=1.0, driver=driver)
        shield = Shield([TokenBucket("1000000/second")], store=store)
        stores.append(store)
        shields[driver] = shield
        timed |= _driver_cases(f"{driver:9s}", store, shield, take, loop)
    try:
        yield timed, shields["auto"], loop
    finally:
        for store in stores:
            loop.run_until_complete(store.aclose())
            store.close()
        loop.close()
        raw.close()


def _driver_cases(
    d: str, store: RedisStore, shield: Shield, take: Take, loop: asyncio.AbstractEventLoop
) -> dict[str, Case]:
    return {
        f"Take      {d} run": lambda n: per_op_us(lambda: store.run(take), n),
        f"Take      {d}arun": lambda n: aper_op_us(loop, lambda: store.arun(take), n),
        f"decide    {d}": lambda n: per_op_us(lambda: shield.decide(FACTS), n),
        f"adecide   {d}": lambda n: aper_op_us(loop, lambda: shield.adecide(FACTS), n),
    }


def store_part(server: PrivateRedis, url: str, rounds: int, ops: int) -> None:
    with cases(url) as (timed, on_redis, loop):
        for case in timed.values():  # warm up: connect, load scripts
            case(50)
        samples: dict[str, list[float]] = {name: [] for name in timed}
        names = list(timed)
        for r in range(rounds):
            order = names[r % len(names) :] + names[: r % len(names)]  # interleaved, rotated
            for name in order:
                samples[name].append(timed[name](ops))

        print(f"python {sys.version.split()[0]}, redis-py {redis.__version__}, {url}")
        print(f"median µs per op over {rounds} interleaved rounds of {ops} ops:")
        base = statistics.median(samples["Take      memory    run"])
        for name in names:
            med = statistics.median(samples[name])
            print(f"  {name:26s} {med:8.1f} µs   ({med / base:5.1f}x memory Take)")

        n = 200
        server.reset_stats()
        for _ in range(n):
            on_redis.decide(FACTS)
        sync_counts = server.command_counts()
        server.reset_stats()
        loop.run_until_complete(_many(on_redis, n))
        async_counts = server.command_counts()
        for label, counts in (("decide", sync_counts), ("adecide", async_counts)):
            calls = counts.get("evalsha", 0) + counts.get("eval", 0)
            per = {k: v / n for k, v in sorted(counts.items())}
            print(f"  round trips per {label}: {calls / n:g} (server commands each: {per})")


async def _many(shield: Shield, n: int) -> None:
    for _ in range(n):
        await shield.adecide(FACTS)


# -- whole ASGI requests ---------------------------------------------------------------------------
async def _floor(url: str) -> Any:
    """The bare app behind one raw PING on our client: a round trip and nothing else."""
    from urllib.parse import urlsplit

    from benchmarks.apps import starlette_hello
    from shieldware.stores.resp import AsyncClient, Endpoint, pack

    app = starlette_hello()
    parts = urlsplit(url)
    where = Endpoint(parts.hostname or "127.0.0.1", parts.port or 6379)
    client = AsyncClient(where, timeout=1.0, connect_timeout=1.0, limit=64, wait=1.0)
    ping = pack(("PING",))

    async def floor(scope: Any, receive: Any, send: Any) -> None:
        await client.call(ping)
        await app(scope, receive, send)

    return floor


async def _on_redis_py(url: str) -> Any:
    from benchmarks import layers
    from benchmarks.apps import _shielded

    return _shielded([layers.token_bucket()], store=RedisStore(url, driver="redis-py"))


async def asgi_part(url: str, rounds: int) -> None:
    from benchmarks.apps import PASS, VARIANTS, Variant
    from benchmarks.inprocess import ROUND_SECONDS, _Runner, paired

    by_name = {v.name: v for v in VARIANTS}
    variants = [
        by_name["bare"],
        by_name["fastapi-bare"],
        by_name["tokenbucket"],
        by_name["tokenbucket-redis"],
        Variant(
            "tokenbucket-redis-py", "TokenBucket (Redis, redis-py)", "asgi", PASS, _on_redis_py
        ),
        by_name["fastapi-limiter-redis"],
        Variant("floor", "bare + one raw PING (our client)", "asgi", PASS, _floor),
    ]
    runners = [_Runner(v, await v.build(url)) for v in variants]
    sizes = {}
    for runner in runners:
        took = await runner.run(100)
        assert runner.status == 200, (runner.variant.name, runner.status)
        sizes[runner.variant.name] = max(50, int(ROUND_SECONDS / (took / 100)))
    samples: dict[str, list[float]] = {r.variant.name: [] for r in runners}
    cpu: dict[str, list[float]] = {r.variant.name: [] for r in runners}
    rng = random.Random(1)
    for _ in range(rounds):
        rng.shuffle(runners)
        for runner in runners:
            n = sizes[runner.variant.name]
            batch = runner.requests.make(n)
            gc.collect()
            start = time.process_time()
            wall = await runner._asgi(batch)
            cpu[runner.variant.name].append((time.process_time() - start) / n * 1e6)
            samples[runner.variant.name].append(wall / n * 1e6)
    print(f"\nwhole ASGI requests, in process, {rounds} interleaved rounds (medians; CPU: this")
    print("process's user + system time, so a wait for Redis costs wall time, not CPU):")
    added: dict[str, float] = {}
    added_cpu: dict[str, float] = {}
    for v in variants:
        base = "bare" if v.baseline not in samples else v.baseline
        med, med_cpu = statistics.median(samples[v.name]), statistics.median(cpu[v.name])
        head = f"  {v.label:40s} {med:7.1f} µs  CPU {med_cpu:6.1f} µs"
        if v.name == base:
            print(head)
            continue
        added[v.name] = paired(samples[v.name], samples[base])["added_us"]
        added_cpu[v.name] = paired(cpu[v.name], cpu[base])["added_us"]
        print(f"{head}   +{added[v.name]:6.1f} µs, CPU +{added_cpu[v.name]:6.1f} over {base}")
    for label, got in (("wall", added), ("CPU", added_cpu)):
        ours, peer = got["tokenbucket-redis"], got["fastapi-limiter-redis"]
        print(
            f"  {label}: shieldware on Redis adds {ours / peer:.2f}x what fastapi-limiter adds "
            f"(redis-py driver: {got['tokenbucket-redis-py'] / peer:.2f}x); "
            f"a bare round trip adds {got['floor']:.1f} µs"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--ops", type=int, default=1000)
    parser.add_argument("--asgi", action="store_true", help="also time whole ASGI requests")
    args = parser.parse_args()
    server = PrivateRedis()
    url = server.start()
    if url is None:
        raise SystemExit("redis-server is needed (apt-get install redis-server)")
    try:
        store_part(server, url, args.rounds, args.ops)
        if args.asgi:
            asyncio.run(asgi_part(url, args.rounds))
    finally:
        server.stop()


if __name__ == "__main__":
    main()
