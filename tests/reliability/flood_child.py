"""Run in a subprocess by test_flood.py: a key flood against a fresh MemoryStore.

Prints one JSON line. It drives the store with `Take` ops (what every rate limit layer sends), so a
million distinct keys take seconds, and RSS is the process's own, untouched by the test runner.
"""

from __future__ import annotations

import gc
import json
import statistics
import sys
import time

import psutil

from shieldware import MemoryStore
from shieldware.ops import Bucket, Take

INTERVAL_US = 360_000_000  # 10 per hour
CAPACITY = 10


def take(store: MemoryStore, key: str, cost: int = 1) -> object:
    return store.run(Take((Bucket(key, INTERVAL_US, CAPACITY, cost),)))


def legit_timing(store: MemoryStore, keys: list[str]) -> float:
    """Median seconds per peek-sized Take over a few batches (cost 0 leaves buckets as they are)."""
    samples = []
    for _ in range(5):
        start = time.perf_counter()
        for key in keys:
            take(store, key, 0)
        samples.append((time.perf_counter() - start) / len(keys))
    return statistics.median(samples)


def main(total: int, bound: int, legit: int) -> dict[str, object]:
    proc = psutil.Process()
    store = MemoryStore(bound)
    legit_keys = [f"legit:{i}" for i in range(legit)]
    for key in legit_keys:
        take(store, key, 5)  # each legitimate client is 5 requests into its bucket
    before = legit_timing(store, legit_keys)
    gc.collect()
    rss0 = proc.memory_info().rss
    checkpoints = {}
    for i in range(total):
        take(store, f"flood:{i}")
        if (i + 1) % (total // 4) == 0:
            checkpoints[i + 1] = proc.memory_info().rss - rss0
    gc.collect()
    after = legit_timing(store, legit_keys)
    remaining = [take(store, key)[0].remaining for key in legit_keys]  # type: ignore[index]
    return {
        "size": len(store),
        "bound": bound,
        "evictions": store.evictions,
        "rss_growth": proc.memory_info().rss - rss0,
        "checkpoints": checkpoints,
        "legit_remaining": sorted(set(remaining)),
        "legit_slowdown": after / before,
    }


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]))))
