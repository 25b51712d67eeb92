"""Proof of work: what minting a challenge and verifying an answer cost the server.

Driven through the layer's own `check` (a request without clearance gets a challenge: that is the
mint), so it follows the layer's public contract rather than its internals. Verification is
measured when the package ships a Python solver we can find (``shieldware.pow.solve``-like).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

from . import layers as L


def _median_us(fn: Callable[[], Any], n: int, rounds: int = 7) -> float:
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(n):
            fn()
        samples.append((time.perf_counter() - start) / n * 1e6)
    return statistics.median(samples)


def _drive(shield: Any, facts: Any) -> Any:
    return shield.decide(facts)


def run() -> dict[str, Any]:
    try:
        layer = L.proof_of_work()
    except L.Unavailable as exc:
        return {"skipped": str(exc)}
    import ipaddress

    import shieldware

    shield = shieldware.Shield([layer])
    facts = shieldware.Facts(
        "GET",
        "/",
        headers=(("host", "bench"), ("accept", "text/html")),
        client_ip=ipaddress.ip_address("11.0.0.1"),
    )
    decision = shield.decide(facts)
    results: dict[str, float] = {}
    notes: list[str] = [
        f"a request without clearance gets: {decision.verdict.action.value} "
        f"({decision.verdict.rule}, {decision.verdict.reason})"
    ]
    results["decide without clearance (mint a challenge)"] = _median_us(
        lambda: _drive(shield, facts), 300
    )
    try:
        from . import pow_solve

        results.update(pow_solve.measure(shield, layer, facts, notes))
    except ImportError:
        notes.append("verification not measured: no solver hook in this branch")
    except Exception as exc:
        notes.append(f"verification not measured: {type(exc).__name__}: {exc}"[:300])
    return {"results": results, "notes": notes}
