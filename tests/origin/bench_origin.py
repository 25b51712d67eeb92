"""Origin lookup figures on a full-size synthetic table (a report, not a timed test).

    python -m tests.origin.bench_origin [ranges]

Generates an IPv4 + IPv6 table the size of the open ASN data (~500k ranges, ~80k AS records),
builds the compact database, then reports build and load time, memory held by the loaded tables,
and lookup cost for a seen client (memo hit) and a new one (bisection), through `OriginDB`.
"""

from __future__ import annotations

import gc
import ipaddress
import random
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

from shieldware.origin import OriginDB
from shieldware.origin.build import build


def synthetic_csv(path: Path, ranges: int, seed: int = 1) -> None:
    rnd = random.Random(seed)
    v4 = ranges * 7 // 10
    records = max(1, ranges // 6)
    orgs = [f"Org {i} Networks, Ltd" for i in range(records)]
    with path.open("w") as out:
        step = (1 << 32) // (v4 + 1)
        start = 1 << 24
        for _ in range(v4):
            end = start + rnd.randrange(step // 4, step - 1)
            i = rnd.randrange(records)
            out.write(
                f'{ipaddress.IPv4Address(start)},{ipaddress.IPv4Address(end)},{i + 1},"{orgs[i]}"\n'
            )
            start = end + 1 + rnd.randrange(0, step // 4)
        v6 = ranges - v4
        base = 0x2000 << 112
        step6 = (1 << 125) // (v6 + 1)
        start = base
        for _ in range(v6):
            end = start + rnd.randrange(step6 // 4, step6 - 1)
            i = rnd.randrange(records)
            out.write(
                f'{ipaddress.IPv6Address(start)},{ipaddress.IPv6Address(end)},{i + 1},"{orgs[i]}"\n'
            )
            start = end + 1 + rnd.randrange(0, step6 // 4)


def per_call(func: object, args: list[object], rounds: int = 3) -> float:
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        for a in args:
            func(a)  # type: ignore[operator]
        best = min(best, (time.perf_counter() - started) / len(args))
    return best * 1e6


def main(ranges: int = 500_000) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        csv_path, db_path = Path(tmp) / "asn.csv", Path(tmp) / "origin.swo"
        synthetic_csv(csv_path, ranges)
        started = time.perf_counter()
        report = build(db_path, [csv_path])
        built = time.perf_counter() - started
        loads = []
        for _ in range(3):
            started = time.perf_counter()
            db = OriginDB(db_path, check_every=60.0, memo_size=65536)
            loads.append(time.perf_counter() - started)
        loaded = sorted(loads)[1]
        del db
        gc.collect()
        tracemalloc.start()  # separately: tracing slows the load itself
        db = OriginDB(db_path, check_every=60.0, memo_size=65536)
        held = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        rnd = random.Random(2)
        new = [ipaddress.IPv4Address(rnd.randrange(1 << 24, 1 << 32)) for _ in range(30_000)]
        new += [
            ipaddress.IPv6Address((0x2000 << 112) | rnd.randrange(1 << 125)) for _ in range(30_000)
        ]
        rnd.shuffle(new)
        fresh = per_call(db.origin_of, new, rounds=1)  # every address is new exactly once
        seen = per_call(db.origin_of, new[:20_000])  # still in the memo
        v4 = [a for a in new[:20_000] if a.version == 4]
        v6 = [a for a in new[:20_000] if a.version == 6]
        db2 = OriginDB(db_path, check_every=None, memo_size=1)
        bis4 = per_call(lambda a: db2._lookup(db2._state.sources, a), v4)
        bis6 = per_call(lambda a: db2._lookup(db2._state.sources, a), v6)
        probe: dict[object, int] = dict.fromkeys(new[:20000], 1)
        baseline = per_call(probe.get, new[:20_000])
        memo_bytes = 0
        for addr, origin in db._state.memo.items():
            memo_bytes += sys.getsizeof(addr) + sys.getsizeof(origin)
        print(f"table: {report.asn_ranges} ranges (with gaps), {report.records} AS records")
        print(f"file {report.size / 1e6:.1f} MB, built in {built:.1f} s")
        print(f"load {loaded * 1000:.0f} ms, tables hold {held / 1e6:.1f} MB")
        print(f"baseline: one dict.get keyed by an ip_address: {baseline:.2f} us")
        print(f"lookup seen client (memo): {seen:.2f} us")
        print(f"lookup new client: {fresh:.2f} us (mixed v4/v6, memo insert included)")
        print(f"  bisection only: v4 {bis4:.2f} us, v6 {bis6:.2f} us")
        print(f"memo at {len(db._state.memo)} entries: ~{memo_bytes / 1e6:.1f} MB")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 500_000)
