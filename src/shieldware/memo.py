"""`Memo`: the one bounded cache shieldware keeps per request path (clients, keys, replies).

A plain dict whose oldest entry is dropped once it holds `maxsize` (first in, first out). Lookups
are the dict's own C-level ``get``, so a hit costs what a dict probe costs; cachetools' LRU would
cost a Python call per hit on a path every request takes. A flood of distinct keys only churns it:
memory stays bounded. Safe to share between threads: racing puts may briefly hold a few entries
more and trim back, and a racing miss at worst computes a value twice.
"""

from __future__ import annotations

import contextlib
from collections import deque
from typing import TypeVar

__all__ = ["Memo"]

K = TypeVar("K")
V = TypeVar("V")


class Memo(dict[K, V]):
    """A dict bounded to `maxsize` entries, oldest dropped first. Use `put` to insert."""

    __slots__ = ("_order", "maxsize")

    def __init__(self, maxsize: int) -> None:
        super().__init__()
        self.maxsize = maxsize
        # Keys in insertion order, so the oldest is found in O(1): ``next(iter(dict))`` scans
        # every slot deleted since the dict last resized (17 µs a put at 65,536 entries).
        self._order: deque[K] = deque()

    def put(self, key: K, value: V) -> V:
        """Store `value` under `key`, evicting the oldest entries past `maxsize`, and return it."""
        if key not in self:
            self._order.append(key)
        self[key] = value
        # Evict after inserting: racing threads that each inserted each trim back, so once no
        # put is running the memo holds at most `maxsize` entries.
        while len(self) > self.maxsize:
            # Another thread may be trimming too: its change is ours, look again. A key met
            # twice (two threads put it at once) is simply gone the second time.
            with contextlib.suppress(KeyError, RuntimeError, StopIteration, IndexError):
                if len(self._order) >= len(self):
                    del self[self._order.popleft()]
                else:  # entries set without put(): the dict's own order (slower) is right
                    del self[next(iter(self))]
        return value
