"""Where shieldware's time goes on the hot path: cProfile over the empty and default chains.

The shares (of the whole request, app included) explain a missed target better than a guess.
"""

from __future__ import annotations

import asyncio
import cProfile
import pstats
from typing import Any

from .apps import BY_NAME
from .inprocess import _Runner
from .layers import Unavailable

REQUESTS = 5000


async def _profile(name: str, requests: int) -> dict[str, Any]:
    variant = BY_NAME[name]
    try:
        app = await variant.build("")
    except Unavailable as exc:
        return {"skipped": str(exc)}
    runner = _Runner(variant, app)
    await runner.run(100)
    prof = cProfile.Profile()
    prof.enable()
    await runner.run(requests)
    prof.disable()
    stats = pstats.Stats(prof)
    raw: Any = stats.stats  # type: ignore[attr-defined]
    total = max(sum(tt for (_, _, tt, _, _) in raw.values()), 1e-9)
    rows = []
    for (filename, line, func), (_, _, tt, ct, _) in raw.items():
        if "shieldware" not in filename or "benchmarks" in filename:
            continue
        short = filename.split("src/")[-1]
        rows.append(
            {
                "function": f"{short}:{line}({func})",
                "own_share": tt / total,
                "cum_share": ct / total,
            }
        )
    rows.sort(key=lambda r: -r["cum_share"])
    own = sum(r["own_share"] for r in rows)
    return {"shieldware_own_share": own, "top": rows[:10]}


PROFILED = ("empty", "pure", "tokenbucket", "default")


def run(names: tuple[str, ...] = PROFILED, requests: int = REQUESTS) -> dict[str, Any]:
    async def each() -> dict[str, Any]:
        return {name: await _profile(name, requests) for name in names}

    return asyncio.run(each())
