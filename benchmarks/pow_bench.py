"""Proof of work: what minting a challenge and verifying an answer cost the server.

Runs the operations of ``benchmarks/bench_pow.py`` (token mint and verify, the layer's issue /
redeem / cleared paths, ALTCHA's v1 peer when installed, the Python solver's hash rate) in this
run's interleaved rounds.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from typing import Any

from . import bench_pow
from . import layers as L

N = 300
ROUNDS = 7


def _interleaved(ops: dict[str, Callable[[], object]], n: int, rounds: int) -> dict[str, float]:
    samples: dict[str, list[float]] = {name: [] for name in ops}
    for _ in range(rounds):
        for name, fn in ops.items():
            samples[name].append(bench_pow.per_op_us(fn, n))
    return {name: statistics.median(values) for name, values in samples.items()}


def run(n: int = N, rounds: int = ROUNDS, solver_seconds: float = 2.0) -> dict[str, Any]:
    """Medians in µs per operation, `rounds` interleaved rounds of `n` operations each."""
    try:
        L.proof_of_work()
    except L.Unavailable as exc:
        return {"skipped": str(exc)}
    notes: list[str] = []
    ops: dict[str, Callable[[], object]] = {}
    ops.update({f"token {k} (4 sub-puzzles, 17 bits)": v for k, v in bench_pow.ours(n).items()})
    ops.update(bench_pow.layer_ops(n))
    peer = bench_pow.altcha_ops(n)
    if peer is not None:
        ops.update({f"altcha v1 {k} (peer)": v for k, v in peer.items()})
    else:
        notes.append("altcha (the peer) is not installed: pip install altcha")
    results = _interleaved(ops, n, rounds)
    rate = bench_pow.solver_rate(solver_seconds)
    notes.append(
        f"Python solver: {rate / 1e6:.2f} MH/s on one core; a default challenge "
        f"(4 x 2^17 hashes expected) takes it about {4 * 2**17 / rate:.2f} s"
    )
    notes.append(
        "verify includes the signature, expiry, binding, the sub-puzzle hashes and the "
        "spent-id record on the memory store; the layer rows run through Shield.decide"
    )
    return {"results": results, "notes": notes}
