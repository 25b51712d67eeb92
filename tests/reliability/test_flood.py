"""A flood of 1,000,000 distinct client keys against the memory store.

Promises kept here: the store's size stays at its bound and its memory stays flat, and the
clients that are in debt (legitimate users mid-session) keep their buckets, because eviction takes
the entries that expire first (the flood's fresh, nearly full buckets).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("psutil")

ROOT = Path(__file__).resolve().parents[2]
MiB = 2**20


def _run_flood(total: int, bound: int, legit: int) -> dict[str, object]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    proc = subprocess.run(
        [
            sys.executable,
            str(Path(__file__).with_name("flood_child.py")),
            str(total),
            str(bound),
            str(legit),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=280,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    result: dict[str, object] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_million_key_flood_stays_at_bound_with_flat_memory_and_legit_buckets_survive() -> None:
    bound = 100_000
    out = _run_flood(1_000_000, bound, 1_000)
    assert out["size"] == bound
    assert isinstance(out["evictions"], int)
    assert out["evictions"] >= 1_000_000 - bound
    # Every legitimate client still has its 5 spent units recorded: 10 - 5 - 1 = 4 left.
    assert out["legit_remaining"] == [4]
    # Bounded: an unbounded table of a million keys grows by well over 150 MiB. Measured here:
    # about 43 MiB in all, flat from 1M keys on (3M keys: the same 43 MiB).
    assert isinstance(out["rss_growth"], int)
    assert out["rss_growth"] < 80 * MiB, out
    checkpoints = {int(k): v for k, v in out["checkpoints"].items()}  # type: ignore[attr-defined]
    assert checkpoints[1_000_000] - checkpoints[500_000] < 32 * MiB, checkpoints
    # Legitimate lookups do not slow down past a stated factor (same process, medians).
    assert isinstance(out["legit_slowdown"], float)
    assert out["legit_slowdown"] < 10, out


def test_small_flood_evicts_the_earliest_expiring_first() -> None:
    """In process, quick: the flood's entries go before any indebted client's."""
    from shieldware import MemoryStore
    from shieldware.ops import Bucket, Take

    now = [0]
    store = MemoryStore(100, clock=lambda: now[0])
    interval = 1_000_000
    for i in range(10):
        store.run(Take((Bucket(f"legit:{i}", interval, 10, 5),)))
    for i in range(10_000):
        now[0] += 1
        store.run(Take((Bucket(f"flood:{i}", interval, 10, 1),)))
    assert len(store) == 100
    for i in range(10):
        state = store.run(Take((Bucket(f"legit:{i}", interval, 10, 1),)))[0]
        assert state.remaining == 4  # 10 - 5 - 1; nothing earned back in 10 ms of 1 µs steps
