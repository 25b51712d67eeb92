"""Origin lookup figures on a full-size synthetic table (a report, not a timed test).

    python -m tests.origin.bench_origin [ranges]

Generates an IPv4 + IPv6 table the size of the open ASN data (~500k ranges, ~80k AS records),
builds the compact database, then reports build and load time, memory held by the loaded tables
and by a full memo, and lookup cost through `OriginDB`'s public methods: `origin_for` for a seen
client (memo hit) and a new one, `origin_of` for the bare lookup (bisection, no memo).
"""

from __future__ import annotations

import gc
import ipaddress
import random
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from shieldware.clientip import Client, IPAddress
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


def per_call(func: Callable[[Any], object], args: Sequence[object], rounds: int = 3) -> float:
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        for a in args:
            func(a)
        best = min(best, (time.perf_counter() - started) / len(args))
    return best * 1e6


def clients(addresses: Sequence[IPAddress]) -> list[Client]:
    """Clients as `TrustedProxies` hands them out: built once, their network already known."""
    out = [Client(a) for a in addresses]
    for c in out:
        c.network()
    return out


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
        new: list[IPAddress] = [
            ipaddress.IPv4Address(rnd.randrange(1 << 24, 1 << 32)) for _ in range(30_000)
        ]
        new += [
            ipaddress.IPv6Address((0x2000 << 112) | rnd.randrange(1 << 125)) for _ in range(30_000)
        ]
        rnd.shuffle(new)
        fresh_clients = clients(new)
        fresh = per_call(db.origin_for, fresh_clients, rounds=1)  # each network new exactly once
        seen = per_call(db.origin_for, fresh_clients[:20_000])  # still in the memo
        v4 = [a for a in new[:20_000] if a.version == 4]
        v6 = [a for a in new[:20_000] if a.version == 6]
        bare4 = per_call(db.origin_of, v4)  # no memo: bisection and building the Origin
        bare6 = per_call(db.origin_of, v6)
        nets = [c.network() for c in fresh_clients[:20_000]]
        by_text = per_call(dict.fromkeys(nets, 1).get, nets)
        by_address = per_call(dict.fromkeys(new[:20_000], 1).get, new[:20_000])
        full = OriginDB(db_path, check_every=None, memo_size=65536)
        memo_clients = clients(
            [ipaddress.IPv4Address(rnd.randrange(1 << 24, 1 << 32)) for _ in range(65_536)]
        )
        gc.collect()
        tracemalloc.start()
        for c in memo_clients:
            full.origin_for(c)
        memo_bytes = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        print(f"table: {report.asn_ranges} ranges (with gaps), {report.records} AS records")
        print(f"file {report.size / 1e6:.1f} MB, built in {built:.1f} s")
        print(f"load {loaded * 1000:.0f} ms, tables hold {held / 1e6:.1f} MB")
        print(
            f"baseline dict.get: by network text {by_text:.2f} us, by address {by_address:.2f} us"
        )
        print(f"origin_for, seen client (memo): {seen:.2f} us")
        print(f"origin_for, new client: {fresh:.2f} us (mixed v4/v6, memo insert included)")
        print(f"origin_of (no memo, parses the text): v4 {bare4:.2f} us, v6 {bare6:.2f} us")
        print(f"a full memo of 65,536 networks (with decoded names): {memo_bytes / 1e6:.1f} MB")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 500_000)
