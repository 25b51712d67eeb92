"""Origin lookup on a full-size table: ``python -m benchmarks --extra origin`` (or run this file).

The table is the open ASN data when ``SHIELDWARE_ORIGIN_CSV`` names its CSV files
(``asn-ipv4.csv`` and ``asn-ipv6.csv`` of ``npm pack @ip-location-db/asn``, separated by
``os.pathsep``), else a synthetic one of the same size (500,000 IPv4 and 100,000 IPv6 ranges,
85,000 AS records). Figures: build and load time (median of three loads), memory the loaded
tables hold and a full memo adds (tracemalloc), and per-call lookup cost through `OriginDB`'s
public method, as medians over rounds: a seen client (memo hit), a new one (bisection, building
the `Origin`, the memo insert), next to a plain ``dict.get`` in the same rounds; and what the
origin signals add to a warm `Fingerprint.check` (paired rounds, same clients).
"""

from __future__ import annotations

import gc
import ipaddress
import os
import random
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # `python benchmarks/origin.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from shieldware.clientip import Client, IPAddress
from shieldware.facts import Facts
from shieldware.layer import Progress
from shieldware.layers import Fingerprint
from shieldware.origin import OriginDB
from shieldware.origin.build import build

ENV = "SHIELDWARE_ORIGIN_CSV"
V4_RANGES, V6_RANGES = 500_000, 100_000
_V6_BASE = 0x2000 << 112


def synthetic_csv(path: Path, v4: int = V4_RANGES, v6: int = V6_RANGES, seed: int = 1) -> None:
    """Disjoint ranges with gaps between them, AS numbers drawn from ~1 record per 7 ranges."""
    rnd = random.Random(seed)
    records = max(1, (v4 + v6) // 7)
    orgs = [f"Org {i} Networks, Ltd" for i in range(records)]
    with path.open("w") as out:
        for count, first, span, cls in (
            (v4, 1 << 24, (1 << 32) - (1 << 24), ipaddress.IPv4Address),
            (v6, _V6_BASE, 1 << 125, ipaddress.IPv6Address),
        ):
            step = span // (count + 1)
            start = first
            for _ in range(count):
                end = start + rnd.randrange(step // 4, step - 1)
                i = rnd.randrange(records)
                out.write(f'{cls(start)},{cls(end)},{i + 1},"{orgs[i]}"\n')
                start = end + 1 + rnd.randrange(0, step // 4)


def _addresses(n: int, rnd: random.Random) -> list[IPAddress]:
    out: list[IPAddress] = [
        ipaddress.IPv4Address(rnd.randrange(1 << 24, 1 << 32)) for _ in range(n)
    ]
    out += [ipaddress.IPv6Address(_V6_BASE | rnd.randrange(1 << 125)) for _ in range(n)]
    rnd.shuffle(out)
    return out


def _clients(addresses: Sequence[IPAddress]) -> list[Client]:
    """Clients as `TrustedProxies` hands them out: built once, their network already known."""
    out = [Client(a) for a in addresses]
    for c in out:
        c.network()
    return out


def _per_call(func: Callable[[Any], object], args: Sequence[Any]) -> float:
    started = time.perf_counter()
    for a in args:
        func(a)
    return (time.perf_counter() - started) / len(args) * 1e6


def _median(values: Sequence[float]) -> float:
    return round(statistics.median(values), 3)


def _chrome(ip: IPAddress) -> Facts:
    from benchmarks.requests import CHROME_HEADERS  # the harness's Chrome navigation

    headers = tuple((k.lower(), v) for k, v in CHROME_HEADERS)
    return Facts("GET", "/", headers, ip, scheme="https")


def run(
    quick: bool = False,
    log: Callable[[str], None] = print,
    csv: Sequence[str] | None = None,
    *,
    sizes: tuple[int, int] | None = None,
    rounds: int | None = None,
    per_round: int | None = None,
    memo_fill: int = 32_768,
) -> dict[str, Any]:
    """The figures as a dict (`markdown` renders them); the keyword sizes are for smoke tests."""
    rounds = rounds or (5 if quick else 15)
    per_round = per_round or (2_000 if quick else 10_000)
    paths = list(csv or [p for p in os.environ.get(ENV, "").split(os.pathsep) if p])
    with tempfile.TemporaryDirectory() as tmp:
        db_path = Path(tmp) / "origin.swo"
        if paths:
            source = "open data: " + ", ".join(Path(p).name for p in paths)
        else:
            synthetic = Path(tmp) / "asn.csv"
            v4, v6 = sizes or (
                (V4_RANGES // 5, V6_RANGES // 5) if quick else (V4_RANGES, V6_RANGES)
            )
            synthetic_csv(synthetic, v4, v6)
            paths = [str(synthetic)]
            source = f"synthetic: {v4:,} IPv4 + {v6:,} IPv6 ranges"
        log(f"origin: building from {source} ...")
        started = time.perf_counter()
        report = build(db_path, paths)
        built = time.perf_counter() - started
        loads = []
        for _ in range(3):
            gc.collect()
            started = time.perf_counter()
            OriginDB(db_path, check_every=None)
            loads.append(time.perf_counter() - started)
        gc.collect()
        tracemalloc.start()  # separately: tracing slows the load itself
        db = OriginDB(db_path, check_every=None, memo_size=65_536)
        held = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        rnd = random.Random(2)
        memo_clients = _clients(_addresses(memo_fill, rnd))  # 65,536: the default memo size
        gc.collect()
        tracemalloc.start()
        for c in memo_clients:
            db.origin_for(c)
        memo_bytes = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        log("origin: lookups ...")
        seen, new, plain, added, added_spread = [], [], [], [], []
        fp_plain = Fingerprint(verifier=False)
        fp_origin = Fingerprint(verifier=False, origin=db)
        # typical traffic: many clients from a few hundred networks (20 addresses in each)
        popular = [int(a) for a in _addresses(250, rnd)]
        crowd = _clients(
            [
                ipaddress.ip_address(a + k * (1 if a < 1 << 32 else 1 << 64))
                for a in popular
                for k in range(20)
            ]
        )
        crowd_facts = [_chrome(c.ip) for c in crowd if c.ip is not None]
        for _ in range(rounds):
            fresh = _clients(_addresses(per_round // 2, rnd))
            new.append(_per_call(db.origin_for, fresh))  # each network new exactly once
            seen.append(_per_call(db.origin_for, fresh))  # now in the memo
            nets = [c.network() for c in fresh]
            table = dict.fromkeys(nets, 1)
            plain.append(_per_call(table.get, nets))
            # what the origin signals add to a warm check (head cached, origins memoised):
            # clients of a few hundred networks, then every client from another AS record
            spread = [_chrome(c.ip) for c in fresh if c.ip is not None]
            for cases, out in ((crowd_facts, added), (spread, added_spread)):
                for f in cases:
                    fp_origin.check(f, Progress())
                pair = [fp_plain, fp_origin]
                rnd.shuffle(pair)
                took = {}
                for fp in pair:
                    took[id(fp)] = _per_call(lambda f, fp=fp: fp.check(f, Progress()), cases)
                out.append(took[id(fp_origin)] - took[id(fp_plain)])
        db.close()
    return {
        "source": source,
        "ranges": report.asn_ranges,
        "records": report.records,
        "file_mb": round(report.size / 1e6, 1),
        "build_s": round(built, 2),
        "load_ms": round(statistics.median(loads) * 1e3, 1),
        "tables_mb": round(held / 1e6, 1),
        "memo_mb_per_65536": round(memo_bytes / 1e6, 1),
        "rounds": rounds,
        "per_round": per_round,
        "seen_us": _median(seen),
        "new_us": _median(new),
        "dict_get_us": _median(plain),
        "seen_over_dict_get": _median([s / p for s, p in zip(seen, plain, strict=True)]),
        "fingerprint_added_us": _median(added),
        "fingerprint_added_spread_us": _median(added_spread),
    }


def markdown(data: dict[str, Any]) -> list[str]:
    """The report section (also pasted into docs/benchmarks.md and docs/origin.md)."""
    if "skipped" in data:
        return ["## Origin lookup", "", f"Not measured: {data['skipped']}"]
    return [
        "## Origin lookup",
        "",
        f"Table: {data['source']} ({data['ranges']:,} ranges with the gaps between them, "
        f"{data['records']:,} AS records); medians over {data['rounds']} rounds of "
        f"{data['per_round']:,} clients (half IPv4, half IPv6).",
        "",
        "| | figure | target |",
        "|---|---|---|",
        f"| `origin_for`, seen client (memo hit) | {data['seen_us']:.2f} µs "
        f"({data['seen_over_dict_get']:.1f} times a bare `dict.get`, {data['dict_get_us']:.2f} µs) "
        "| ≤ 2 µs |",
        f"| `origin_for`, new client | {data['new_us']:.2f} µs | ≤ 10 µs |",
        f"| origin signals in a warm `Fingerprint.check`, clients of 250 networks "
        f"| +{data['fingerprint_added_us']:.2f} µs | one memoised lookup |",
        f"| the same, every client from another AS record "
        f"| +{data['fingerprint_added_spread_us']:.2f} µs | |",
        f"| load time | {data['load_ms']:.0f} ms | ≤ 1 s |",
        f"| memory of the loaded tables | {data['tables_mb']:.1f} MB "
        f"(a full memo of 65,536 networks: {data['memo_mb_per_65536']:.1f} MB more) | ≤ 40 MB |",
        f"| file size, build time | {data['file_mb']:.1f} MB, {data['build_s']:.1f} s | |",
    ]


#: Drill scenarios: where the users' addresses (192.0.2.0/24) sit; bots are always in a cloud.
DRILL_SCENARIOS = ("no origin", "users at home", "users in a hosting network")


def _drill_db(tmp: Path, users_hosting: bool) -> OriginDB:
    from shieldware.origin import ASNLists

    users = "16509,Amazon.com" if users_hosting else "64496,Example Broadband"
    rows = f"198.18.0.0,198.19.255.255,16509,Amazon.com\n192.0.2.0,192.0.2.255,{users}\n"
    csv = tmp / f"drill-{users_hosting}.csv"
    csv.write_text(rows)
    out = tmp / f"drill-{users_hosting}.swo"
    build(out, [csv])
    return OriginDB(out, lists=ASNLists(isp=[64496]), check_every=None)


def drill(seconds: float = 8.0, bots: int = 30, users: int = 6, seed: int = 7) -> dict[str, Any]:
    """`shieldware drill` against the default chain, without origin and with it (users at home,
    then users in a hosting network): how often users and bots met each decision."""
    import asyncio
    import socket
    import threading

    import uvicorn

    from shieldware.demo import build_demo_app
    from shieldware.drill import DrillConfig, run_drill
    from shieldware.policy import Shield
    from shieldware.secret import generate_secret

    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for scenario in DRILL_SCENARIOS:
            origins = None
            if scenario != "no origin":
                origins = _drill_db(Path(tmp), scenario.endswith("hosting network"))
            shield = Shield.default(
                generate_secret(), trusted_proxies=["127.0.0.1"], origins=origins
            )
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
            server = uvicorn.Server(
                uvicorn.Config(build_demo_app(shield), log_level="warning", lifespan="off")
            )
            thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
            thread.start()
            while not server.started:
                time.sleep(0.01)
            try:
                config = DrillConfig(
                    url=f"http://127.0.0.1:{port}/",
                    duration=seconds,
                    bots=bots,
                    users=users,
                    seed=seed,
                )
                report = asyncio.run(run_drill(config))
            finally:
                server.should_exit = True
                thread.join(10)
                sock.close()
            legit, bot = report["legit"], report["bots"]
            results[scenario] = {
                "legit_requests": legit["requests"],
                "legit_decisions": legit["decisions"],
                "legit_success_rate": legit["success_rate"],
                "legit_challenged_views": legit["challenged"],
                "bot_requests": bot["requests"],
                "bot_admitted": bot["admitted"],
                "bot_decisions": bot["decisions"],
            }
    return results


def drill_markdown(results: dict[str, Any]) -> list[str]:
    lines = [
        "| scenario | user views | views that met a challenge | user success | bot requests "
        "| bots admitted |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, r in results.items():
        views = max(1, r["legit_requests"])
        met = r["legit_challenged_views"] + r["legit_decisions"].get("challenge", 0)
        admitted = 100 * r["bot_admitted"] / max(1, r["bot_requests"])
        lines.append(
            f"| {name} | {r['legit_requests']} | {met} ({100 * met / views:.1f}%) "
            f"| {100 * (r['legit_success_rate'] or 0):.1f}% | {r['bot_requests']} "
            f"| {r['bot_admitted']} ({admitted:.1f}%) |"
        )
    return lines


if __name__ == "__main__":
    if "--drill" in sys.argv:
        print("\n".join(drill_markdown(drill())))
    else:
        result = run(quick="--quick" in sys.argv)
        print("\n".join(markdown(result)))
