"""The headline drill: legitimate users beside a bot crowd, against three versions of the demo.

    python benchmarks/headline.py                 # 30 s per run, 200 bots, 5 users
    python benchmarks/headline.py --duration 10 --bots 100 --rounds 3

Variants, each served by uvicorn in its own process (the drill runs in this one):
- ``quiet``: the unprotected demo with the users only (the latency reference);
- ``unprotected``: the demo with no protection, under attack;
- ``slowapi``: the demo behind slowapi with a comparable per-IP limit (``--limit``);
- ``shieldware``: the demo behind ``Shield.default()``.

Clients present addresses via X-Forwarded-For and every server trusts loopback as a proxy: each
user has its own address, the bots share ``--addresses`` (20: ten bots behind each, so a per-IP
limit has something to bite on; with one address per bot a single Python drill cannot push any
one address past a generous limit). With ``--rounds`` > 1 the variants are
interleaved and each figure is the median of its rounds. Results go to benchmarks/results/.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from shieldware.drill import DrillConfig, run_drill  # noqa: E402

VARIANTS = ("quiet", "unprotected", "slowapi", "shieldware")


# -- the servers ---------------------------------------------------------------------------
def build_app(variant: str, limit: str) -> Any:
    from shieldware.demo import Reached, ReachedMiddleware, build_demo_app, demo_routes

    if variant in ("quiet", "unprotected"):
        return build_demo_app(None)
    if variant == "shieldware":
        from shieldware import Shield
        from shieldware.secret import generate_secret

        return build_demo_app(Shield.default(generate_secret(), trusted_proxies=["127.0.0.1"]))
    if variant == "slowapi":
        from slowapi import Limiter, _rate_limit_exceeded_handler
        from slowapi.errors import RateLimitExceeded
        from slowapi.middleware import SlowAPIASGIMiddleware
        from slowapi.util import get_remote_address
        from starlette.applications import Starlette
        from starlette.middleware import Middleware

        reached = Reached()
        limiter = Limiter(key_func=get_remote_address, default_limits=[limit])
        app = Starlette(
            routes=demo_routes(),
            middleware=[
                Middleware(SlowAPIASGIMiddleware),
                Middleware(ReachedMiddleware, reached=reached),
            ],
        )
        app.state.limiter = limiter
        app.add_exception_handler(RateLimitExceeded, _rate_limit_exceeded_handler)  # type: ignore[arg-type]
        return build_demo_app(None, site=app, reached=reached)
    raise SystemExit(f"unknown variant {variant}")


def serve(variant: str, port: int, limit: str) -> None:
    import uvicorn

    uvicorn.run(
        build_app(variant, limit),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        proxy_headers=variant == "slowapi",  # slowapi keys on request.client
        forwarded_allow_ips="127.0.0.1",
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    def __init__(self, variant: str, limit: str) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "serve", variant, str(self.port), "--limit", limit],
            env=env,
        )
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(self.url + "/healthz", timeout=1)
                return
            except httpx.TransportError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    self.stop()
                    raise RuntimeError(f"{variant} server did not start") from None
                time.sleep(0.1)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


# -- the drill -----------------------------------------------------------------------------
def one_run(variant: str, args: argparse.Namespace) -> dict[str, Any]:
    server = Server(variant, args.limit)
    try:
        config = DrillConfig(
            url=server.url,
            duration=args.duration,
            bots=0 if variant == "quiet" else args.bots,
            users=args.users,
            scenarios=tuple(args.scenarios.split(",")),
            timeout=10.0,
            seed=args.seed,
            addresses=args.addresses,
        )
        report = asyncio.run(run_drill(config))
    finally:
        server.stop()
    legit, bots = report["legit"], report["bots"]
    return {
        "variant": variant,
        "legit_requests": legit["requests"],
        "legit_success": legit["success_rate"],
        "legit_p50_ms": legit["latency_ms"]["p50"],
        "legit_p99_ms": legit["latency_ms"]["p99"],
        "legit_challenged": legit["challenged"],
        "legit_challenge_p50_ms": legit["challenged_latency_ms"]["p50"],
        "bot_requests": bots["requests"],
        "bot_admitted": bots["admitted"],
        "bot_reached_app": report["reached_app"]["bots"],
        "app_total_reached": report["reached_app"]["stats_endpoint"],
        "decisions": report["decisions"],
        "report": report,
    }


def _median(rows: list[dict[str, Any]], key: str) -> Any:
    values = [r[key] for r in rows if r[key] is not None]
    if not values:
        return None
    value = statistics.median(values)
    return round(value, 1) if isinstance(value, float) else value


def table(results: dict[str, list[dict[str, Any]]], args: argparse.Namespace) -> str:
    head = (
        f"Headline drill: {args.duration:g} s, {args.bots} bots, {args.users} users, "
        f"{args.rounds} round(s), bots from {args.addresses} addresses ({args.scenarios}), "
        f"slowapi limit {args.limit}\n"
    )
    cols = (
        "variant      | legit ok  | p50 ms  | p99 ms  | bot req | bot admitted | bots reached app"
        " | legit views challenged (p50 ms)"
    )
    lines = [head, cols, "-" * len(cols)]
    for variant, rows in results.items():
        ok = _median(rows, "legit_success")
        p50, p99 = _median(rows, "legit_p50_ms"), _median(rows, "legit_p99_ms")
        solve_p50 = _median(rows, "legit_challenge_p50_ms")
        lines.append(
            f"{variant:<12} | {('-' if ok is None else f'{100 * ok:.2f}%'):>9} | "
            f"{p50 or '-':>7} | {p99 or '-':>7} | "
            f"{_median(rows, 'bot_requests'):>7} | {_median(rows, 'bot_admitted'):>12} | "
            f"{_median(rows, 'bot_reached_app'):>16} | "
            f"{_median(rows, 'legit_challenged')} ({solve_p50 or '-'})"
        )
    lines.append(
        "\nlegit p50/p99: page views that met no challenge; views that met one and solved it with"
        " the Python client are counted apart (last column)."
    )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("mode", nargs="?", default="bench", choices=("bench", "serve"))
    parser.add_argument("variant", nargs="?")
    parser.add_argument("port", nargs="?", type=int)
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--bots", type=int, default=200)
    parser.add_argument("--users", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument(
        "--limit",
        default="120/minute",
        help="slowapi's per-IP limit (shieldware's default TokenBucket: 120/minute, burst 60)",
    )
    parser.add_argument(
        "--addresses", type=int, default=20, help="distinct bot addresses (10 bots each)"
    )
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument(
        "--scenarios",
        default="flood,stuffing,scraper,headless",
        help="bot scenarios; `pow` solvers are left out by default because on one small machine "
        "their hashing takes CPU from the server under test, which real attackers' CPUs do not",
    )
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if args.mode == "serve":
        serve(args.variant, args.port, args.limit)
        return 0
    variants = [v for v in args.variants.split(",") if v]
    results: dict[str, list[dict[str, Any]]] = {v: [] for v in variants}
    for round_no in range(args.rounds):
        for variant in variants:  # interleaved, so drift hits every variant alike
            print(f"round {round_no + 1}/{args.rounds}: {variant} ...", file=sys.stderr, flush=True)
            results[variant].append(one_run(variant, args))
    text = table(results, args)
    print(text)
    out = ROOT / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    (out / f"headline-{stamp}.txt").write_text(text + "\n")
    (out / f"headline-{stamp}.json").write_text(json.dumps(results, indent=2))
    print(f"saved benchmarks/results/headline-{stamp}.(txt|json)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
