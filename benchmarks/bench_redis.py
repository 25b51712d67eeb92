"""In-process cost of a `Take` (and of a whole TokenBucket decision) on Redis vs the memory store.

Not a test: a script that prints medians over interleaved rounds, side by side in one run, and
counts the Redis commands each decision costs (``INFO commandstats`` deltas on a private
redis-server this script starts on a free port, so nobody else's traffic is counted).

    python benchmarks/bench_redis.py [--rounds 15] [--ops 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import redis

from shieldware import Bucket, Facts, MemoryStore, Shield, Take, TokenBucket
from shieldware.stores import RedisStore


@contextmanager
def private_redis() -> Iterator[str]:
    binary = shutil.which("redis-server")
    if binary is None:
        print("no redis-server binary: using 127.0.0.1:6379 (counts may include others' commands)")
        yield "redis://127.0.0.1:6379/0"
        return
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with tempfile.TemporaryDirectory() as directory:
        process = subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", directory],
            stdout=subprocess.DEVNULL,
        )
        try:
            client = redis.Redis(port=port)
            for _ in range(100):
                try:
                    client.ping()
                    break
                except redis.ConnectionError:
                    time.sleep(0.05)
            client.close()
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            process.kill()
            process.wait()


def per_op_us(fn: Callable[[], Any], n: int) -> float:
    start = time.perf_counter_ns()
    for _ in range(n):
        fn()
    return (time.perf_counter_ns() - start) / n / 1000


def aper_op_us(loop: asyncio.AbstractEventLoop, fn: Callable[[], Any], n: int) -> float:
    async def go() -> float:
        start = time.perf_counter_ns()
        for _ in range(n):
            await fn()
        return (time.perf_counter_ns() - start) / n / 1000

    return loop.run_until_complete(go())


def commands(client: Any) -> Counter[str]:
    stats = client.info("commandstats")
    counts = Counter({k.removeprefix("cmdstat_"): int(v["calls"]) for k, v in stats.items()})
    counts.pop("info", None)
    return counts


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--ops", type=int, default=1000)
    args = parser.parse_args()

    with private_redis() as url:
        memory = MemoryStore()
        store = RedisStore(url, prefix=f"bench:{secrets.token_hex(4)}:", timeout=1.0)
        bucket = Bucket("{203.0.113.7}:bench", 1, 10**9)  # never refuses: the common path
        take = Take((bucket,))
        facts = Facts("GET", "/", client_ip=ipaddress.ip_address("203.0.113.7"))
        on_memory = Shield([TokenBucket("1000000/second")], store=MemoryStore())
        on_redis = Shield([TokenBucket("1000000/second")], store=store)
        loop = asyncio.new_event_loop()
        raw = redis.Redis.from_url(url)  # the floor: one bare redis-py round trip

        cases: dict[str, Callable[[int], float]] = {
            "PING  redis-py": lambda n: per_op_us(raw.ping, n),
            "Take  memory  run": lambda n: per_op_us(lambda: memory.run(take), n),
            "Take  redis   run": lambda n: per_op_us(lambda: store.run(take), n),
            "Take  redis  arun": lambda n: aper_op_us(loop, lambda: store.arun(take), n),
            "decide   memory": lambda n: per_op_us(lambda: on_memory.decide(facts), n),
            "decide   redis": lambda n: per_op_us(lambda: on_redis.decide(facts), n),
            "adecide  redis": lambda n: aper_op_us(loop, lambda: on_redis.adecide(facts), n),
        }
        for case in cases.values():  # warm up: connect, load scripts
            case(50)
        samples: dict[str, list[float]] = {name: [] for name in cases}
        names = list(cases)
        for r in range(args.rounds):
            order = names[r % len(names) :] + names[: r % len(names)]  # interleaved, rotated
            for name in order:
                samples[name].append(cases[name](args.ops))

        print(f"python {sys.version.split()[0]}, redis-py {redis.__version__}, {url}")
        print(f"median µs per op over {args.rounds} interleaved rounds of {args.ops} ops:")
        base = statistics.median(samples["Take  memory  run"])
        for name in names:
            med = statistics.median(samples[name])
            print(f"  {name:20s} {med:8.1f} µs   ({med / base:5.1f}x memory Take)")

        info = redis.Redis.from_url(url)
        n = 200
        before = commands(info)
        for _ in range(n):
            on_redis.decide(facts)
        sync_delta = commands(info) - before
        before = commands(info)
        loop.run_until_complete(_many(on_redis, facts, n))
        async_delta = commands(info) - before
        for label, delta in (("decide", sync_delta), ("adecide", async_delta)):
            calls = delta["evalsha"] + delta["eval"]
            per = {k: v / n for k, v in delta.items()}
            print(f"  round trips per {label}: {calls / n:g} (server commands each: {per})")
        loop.run_until_complete(store.aclose())
        loop.close()
        store.close()
        info.close()
        raw.close()


async def _many(shield: Shield, facts: Facts, n: int) -> None:
    for _ in range(n):
        await shield.adecide(facts)


if __name__ == "__main__":
    main()
