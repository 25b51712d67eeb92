"""The sign-up drill (issue 13): people signing up with the form helper beside a bot crowd.

    python benchmarks/signup.py                       # 30 s per variant, 200 bots, 5 people
    python benchmarks/signup.py --duration 10 --bots 60 --variants quiet,shieldware

Variants, each served by uvicorn in its own process (the demo of `shieldware demo`, as in
benchmarks/headline.py): ``quiet`` (the unprotected demo, people only: the latency reference),
``unprotected`` and ``shieldware`` (``Shield.default()``) under the crowd. Bot families: flood,
credential stuffing, library scrapers, headless browsers, sign-up posts without a solver, and
``solver`` bots that solve every proof of work with ``shieldware.client`` at native speed from 10
addresses in one /24. Each person opens the sign-up form, types for 2-4 s while the form helper's
proof of work is solved (in a process of its own, as a browser's Web Workers would), then posts.

Reported per variant: people's success and p99 (page views and sign-ups, and the sign-up wait
after typing), the bits people were asked for, accounts made by bots with and without a solver,
accounts per solve, and the server process's CPU (seconds of CPU per second of drill, from
psutil: 100% = one core). Results go to benchmarks/results/signup-<stamp>.(txt|json).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

from benchmarks.headline import Server  # noqa: E402
from shieldware.drill import DrillConfig, format_report, run_drill  # noqa: E402

VARIANTS = ("quiet", "unprotected", "shieldware")
SCENARIOS = "flood,stuffing,scraper,headless,signup,solver"


def one_run(variant: str, args: argparse.Namespace) -> dict[str, Any]:
    import psutil

    server = Server(variant, "120/minute")
    try:
        process = psutil.Process(server.proc.pid)
        config = DrillConfig(
            url=server.url,
            duration=args.duration,
            bots=0 if variant == "quiet" else args.bots,
            users=args.users,
            scenarios=tuple(args.scenarios.split(",")),
            pages=("/", "/api/hello"),
            timeout=10.0,
            seed=args.seed,
            addresses=args.addresses,
            pow_max=args.solvers,
            user_signups=args.signups,
        )
        cpu0, t0 = process.cpu_times(), time.monotonic()
        report = asyncio.run(run_drill(config))
        cpu1, t1 = process.cpu_times(), time.monotonic()
    finally:
        server.stop()
    busy = (cpu1.user + cpu1.system) - (cpu0.user + cpu0.system)
    legit, signups = report["legit"], report["signups"]
    solver = signups["bots"].get("solver", {})
    return {
        "variant": variant,
        "people_success": legit["success_rate"],
        "people_p50_ms": legit["latency_ms"]["p50"],
        "people_p99_ms": legit["latency_ms"]["p99"],
        "signup_wait_p99_ms": signups["people"]["wait_ms"]["p99"],
        "people_accounts": signups["people"]["accounts"],
        "people_signups": signups["people"]["signups"],
        "people_bits": signups["people"]["bits"],
        "people_405": signups["people"]["status_405"],
        "bot_requests": report["bots"]["requests"],
        "bot_reached_app": report["reached_app"]["bots"],
        "non_solver_accounts": signups["non_solver_accounts"],
        "solver_accounts": solver.get("accounts"),
        "solver_solves": solver.get("solves"),
        "accounts_per_solve": solver.get("accounts_per_solve"),
        "server_cpu": round(busy / (t1 - t0), 3),
        "text": format_report(report),
        "report": report,
    }


def table(rows: list[dict[str, Any]], args: argparse.Namespace) -> str:
    quiet = next((r for r in rows if r["variant"] == "quiet"), None)
    head = (
        f"Sign-up drill: {args.duration:g} s, {args.bots} bots ({args.scenarios}; at most "
        f"{args.solvers} solvers, 10 addresses in one /24), {args.users} people signing up "
        f"{args.signups}x each\n"
    )
    cols = (
        "variant      | people ok | p99 ms (x quiet) | sign-up wait p99 | 405 | people bits"
        " | bot req | non-solver accounts | solver accounts / solves | server CPU"
    )
    lines = [head, cols, "-" * len(cols)]
    for r in rows:
        ratio = (
            f"{r['people_p99_ms'] / quiet['people_p99_ms']:.1f}x"
            if quiet and r["people_p99_ms"] and quiet["people_p99_ms"]
            else "-"
        )
        ok = r["people_success"]
        lines.append(
            f"{r['variant']:<12} | {('-' if ok is None else f'{100 * ok:.1f}%'):>9} | "
            f"{r['people_p99_ms']} ({ratio}) | {r['signup_wait_p99_ms']} ms | {r['people_405']} | "
            f"{r['people_bits'] or '-'} | {r['bot_requests']} | {r['non_solver_accounts']} | "
            f"{r['solver_accounts']} / {r['solver_solves']} | {100 * r['server_cpu']:.0f}%"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--bots", type=int, default=200)
    parser.add_argument("--users", type=int, default=5)
    parser.add_argument("--signups", type=int, default=1, help="sign-ups per person")
    parser.add_argument("--addresses", type=int, default=20, help="distinct flood addresses")
    parser.add_argument("--solvers", type=int, default=10, help="solver bots at most")
    parser.add_argument("--scenarios", default=SCENARIOS)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rows = []
    for variant in [v for v in args.variants.split(",") if v]:
        print(f"{variant} ...", file=sys.stderr, flush=True)
        row = one_run(variant, args)
        print(row["text"], file=sys.stderr, flush=True)
        rows.append(row)
    text = table(rows, args)
    print(text)
    out = ROOT / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    (out / f"signup-{stamp}.txt").write_text(text + "\n")
    (out / f"signup-{stamp}.json").write_text(json.dumps(rows, indent=2))
    print(f"saved benchmarks/results/signup-{stamp}.(txt|json)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
