"""Redis round trips per decision, and the commands behind them.

Each Redis-backed variant serves a fixed number of requests against a private server, through a
counting proxy: the proxy's client-side reads are the round trips; the server's ``INFO
commandstats`` names the commands (including those a Lua script runs inside the server).
"""

from __future__ import annotations

import asyncio
from typing import Any

from .apps import VARIANTS
from .inprocess import _Runner
from .layers import Unavailable
from .redisserver import PrivateRedis
from .tcpproxy import CountingProxy

REQUESTS = 200


async def _measure(server: PrivateRedis) -> dict[str, Any]:
    out: dict[str, Any] = {}
    proxy = CountingProxy(server.port)
    for variant in VARIANTS:
        if not variant.redis:
            continue
        try:
            app = await variant.build(proxy.url)
        except Unavailable as exc:
            out[variant.name] = {"label": variant.label, "skipped": str(exc)}
            continue
        runner = _Runner(variant, app)
        await runner.run(5)  # connect, load scripts, spend a reject variant's one request
        await asyncio.sleep(0.05)
        server.reset_stats()
        proxy.reset()
        await runner.run(REQUESTS)
        flights = proxy.flights
        counts = server.command_counts()
        out[variant.name] = {
            "label": variant.label,
            "per_decision": flights / REQUESTS,
            "commands": {k: v / REQUESTS for k, v in sorted(counts.items())},
        }
    proxy.close()
    return out


def run(server: PrivateRedis) -> dict[str, Any]:
    if not server.url:
        return {}
    return asyncio.run(_measure(server))
