"""`LocalBlocks`: keys known to be over their limit, refused again without asking the store.

Not a speed cache but a documented semantic short-cut: a refused client's hammering costs the
shared store (Redis) nothing until its wait is over.
"""

from __future__ import annotations

import math
import threading
import time

from cachetools import TLRUCache

__all__ = ["LocalBlocks"]


class LocalBlocks:
    """Keys known to be over their limit until a monotonic instant: refused without a store op.

    Sound for every limiter here: a store's state only gets more restrictive until the instant
    it reported (GCRA's TAT and window counts never shrink early), so a local refusal is one the
    store would have made too. Bounded (LRU beyond `maxsize`); one lock, no threads.
    """

    def __init__(self, maxsize: int = 10_000) -> None:
        self._lock = threading.Lock()
        self._used = False
        self._cache: TLRUCache[str, tuple[float, int]] | None = (
            TLRUCache(maxsize, ttu=lambda _k, v, _now: v[0], timer=time.monotonic)
            if maxsize > 0
            else None
        )

    def __len__(self) -> int:
        return len(self._cache) if self._cache is not None else 0

    def __bool__(self) -> bool:
        """False until the first block: spares every request a locked lookup until then."""
        return self._used

    def block(self, key: str, seconds: float, cost: int) -> None:
        """Remember `key` refuses `cost` units (and more) for `seconds`."""
        if self._cache is None or seconds <= 0 or not math.isfinite(seconds):
            return
        with self._lock:
            self._cache[key] = (time.monotonic() + seconds, cost)
            self._used = True

    def wait(self, key: str, cost: int) -> float:
        """Seconds `key` is still known to refuse `cost` units; 0 when not known."""
        cache = self._cache
        if cache is None:
            return 0.0
        with self._lock:
            entry = cache.get(key)
        if entry is None or cost < entry[1]:
            return 0.0
        return max(0.0, entry[0] - time.monotonic())
