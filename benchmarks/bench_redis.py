"""In-process cost of a `Take` (and of a whole TokenBucket decision) on Redis vs the memory store.

Not a test: a script that prints medians over interleaved rounds, side by side in one run, and
counts the Redis commands each decision costs (``INFO commandstats`` deltas on a private
redis-server this script starts on a free port, so nobody else's traffic is counted). Unlike
``python -m benchmarks`` (which measures Redis through the ASGI middleware), it times the store
alone and the synchronous ``decide`` beside ``adecide``.

    python benchmarks/bench_redis.py [--rounds 15] [--ops 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
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
    on Redis and the loop they use; everything is closed on exit."""
    memory = MemoryStore()
    store = RedisStore(url, prefix=f"bench:{secrets.token_hex(4)}:", timeout=1.0)
    take = Take((Bucket("{203.0.113.7}:bench", 1, 10**9),))  # never refuses: the common path
    on_memory = Shield([TokenBucket("1000000/second")], store=MemoryStore())
    on_redis = Shield([TokenBucket("1000000/second")], store=store)
    loop = asyncio.new_event_loop()
    raw = redis.Redis.from_url(url)  # the floor: one bare redis-py round trip
    try:
        yield (
            {
                "PING  redis-py": lambda n: per_op_us(raw.ping, n),
                "Take  memory  run": lambda n: per_op_us(lambda: memory.run(take), n),
                "Take  redis   run": lambda n: per_op_us(lambda: store.run(take), n),
                "Take  redis  arun": lambda n: aper_op_us(loop, lambda: store.arun(take), n),
                "decide   memory": lambda n: per_op_us(lambda: on_memory.decide(FACTS), n),
                "decide   redis": lambda n: per_op_us(lambda: on_redis.decide(FACTS), n),
                "adecide  redis": lambda n: aper_op_us(loop, lambda: on_redis.adecide(FACTS), n),
            },
            on_redis,
            loop,
        )
    finally:
        loop.run_until_complete(store.aclose())
        loop.close()
        store.close()
        raw.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--ops", type=int, default=1000)
    args = parser.parse_args()
    server = PrivateRedis()
    url = server.start()
    if url is None:
        raise SystemExit("redis-server is needed (apt-get install redis-server)")
    try:
        with cases(url) as (timed, on_redis, loop):
            for case in timed.values():  # warm up: connect, load scripts
                case(50)
            samples: dict[str, list[float]] = {name: [] for name in timed}
            names = list(timed)
            for r in range(args.rounds):
                order = names[r % len(names) :] + names[: r % len(names)]  # interleaved, rotated
                for name in order:
                    samples[name].append(timed[name](args.ops))

            print(f"python {sys.version.split()[0]}, redis-py {redis.__version__}, {url}")
            print(f"median µs per op over {args.rounds} interleaved rounds of {args.ops} ops:")
            base = statistics.median(samples["Take  memory  run"])
            for name in names:
                med = statistics.median(samples[name])
                print(f"  {name:20s} {med:8.1f} µs   ({med / base:5.1f}x memory Take)")

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
    finally:
        server.stop()


async def _many(shield: Shield, n: int) -> None:
    for _ in range(n):
        await shield.adecide(FACTS)


if __name__ == "__main__":
    main()
