"""Browser figures for the proof-of-work interstitial, at the default difficulty.

Run: ``python benchmarks/bench_pow_browser.py [--runs 7]`` (needs /usr/bin/chromium and the
``playwright`` Python package; never ``playwright install``). Each run opens a protected page in a
fresh headless Chromium context, lets the Web Worker solve, and waits until the browser is back on
the original URL. Reports medians: wall time from navigation to landing, the worker's own solve
time, and its hash rate (hashes counted by the worker / its solve time).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.servers import run_asgi

from shieldware import Shield, ShieldMiddleware
from shieldware.layers import ProofOfWork
from shieldware.secret import generate_secret

ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


async def protected(request: Request) -> Response:
    return HTMLResponse('<!doctype html><p id="ok">ok</p>')


def build_app() -> tuple[ShieldMiddleware, ProofOfWork]:
    """A page behind the default-difficulty gate, with limits no run of this script reaches."""
    layer = ProofOfWork(generate_secret(), issue_burst=1000, redeem_burst=1000)
    app = ShieldMiddleware(Starlette(routes=[Route("/p", protected)]), shield=Shield([layer]))
    return app, layer


def main() -> None:
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    app, layer = build_app()
    walls, solves, rates, workers = [], [], [], 0
    with run_asgi(app) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        for _ in range(args.runs):
            context = browser.new_context()
            page = context.new_page()
            start = time.perf_counter()
            page.goto(url + "/p")
            page.wait_for_selector("#ok", timeout=300_000)
            walls.append((time.perf_counter() - start) * 1000)
            stats = json.loads(page.evaluate("sessionStorage.getItem('sw-pow-stats')"))
            solves.append(stats["ms"])
            rates.append(stats["hashes"] / stats["ms"] / 1000)
            workers = stats["workers"]
            context.close()
        browser.close()
    work = layer.count * 2**layer.bits
    print(f"default difficulty: {layer.count} x {layer.bits} bits = {work} expected hashes")
    print(f"runs: {args.runs}, workers per page: {workers}")
    print(f"median wall time, navigation to landing: {statistics.median(walls):.0f} ms")
    print(f"median worker solve time:               {statistics.median(solves):.0f} ms")
    print(f"median worker hash rate:                {statistics.median(rates):.2f} MH/s")


if __name__ == "__main__":
    main()
