"""Proof of work: what minting a challenge and verifying an answer cost the server.

Uses the proof-of-work engineer's own operations (``benchmarks/bench_pow.py``: token mint and
verify, the layer's issue / redeem / cleared paths, the Python solver's hash rate) and runs them in
this run's interleaved rounds. Falls back to the layer's public contract alone (a request without
clearance gets a challenge: that is the mint) when that module is not there.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from typing import Any

from . import layers as L
from .bench_pow import per_op_us

N = 300
ROUNDS = 7


def _interleaved(ops: dict[str, Callable[[], object]], n: int) -> dict[str, float]:
    samples: dict[str, list[float]] = {name: [] for name in ops}
    for _ in range(ROUNDS):
        for name, fn in ops.items():
            samples[name].append(per_op_us(fn, n))
    return {name: statistics.median(values) for name, values in samples.items()}


def run() -> dict[str, Any]:
    try:
        L.proof_of_work()
    except L.Unavailable as exc:
        return {"skipped": str(exc)}
    notes: list[str] = []
    try:
        from . import bench_pow  # type: ignore[attr-defined]
    except ImportError as exc:
        return _fallback([*notes, f"benchmarks/bench_pow.py not importable: {exc}"])
    ops: dict[str, Callable[[], object]] = {}
    ops.update({f"token {k} (4 sub-puzzles, 17 bits)": v for k, v in bench_pow.ours(N).items()})
    ops.update(bench_pow.layer_ops(N))
    peer = bench_pow.altcha_ops(N)
    if peer is not None:
        ops.update({f"altcha v1 {k} (peer)": v for k, v in peer.items()})
    else:
        notes.append("altcha (the peer) is not installed: pip install altcha")
    results = _interleaved(ops, N)
    try:
        rate = bench_pow.solver_rate(2.0)
        notes.append(
            f"Python solver: {rate / 1e6:.2f} MH/s on one core; a default challenge "
            f"(4 x 2^17 hashes expected) takes it about {4 * 2**17 / rate:.2f} s"
        )
    except Exception as exc:
        notes.append(f"solver rate not measured: {exc}")
    notes.append(
        "verify includes the signature, expiry, binding, the sub-puzzle hashes and the "
        "spent-id record on the memory store; the layer rows run through Shield.decide"
    )
    return {"results": results, "notes": notes}


def _fallback(notes: list[str]) -> dict[str, Any]:
    import ipaddress

    import shieldware

    shield = shieldware.Shield([L.proof_of_work()])
    facts = shieldware.Facts(
        "GET",
        "/",
        headers=(("host", "bench"), ("accept", "text/html")),
        client_ip=ipaddress.ip_address("11.0.0.1"),
    )
    results = _interleaved({"decide without clearance (mint)": lambda: shield.decide(facts)}, N)
    return {"results": results, "notes": notes}
