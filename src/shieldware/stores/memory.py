"""The embedded store: bounded, lock-protected, thread-free, on a monotonic clock.

Every entry carries an expiry; the entry that expires first is the one whose loss costs least (for
GCRA it is the bucket closest to full, for a spent id the one nearest harmless), so when the store
is full that entry is evicted. A flood of distinct keys therefore cannot grow memory past
`max_entries`, and evictions cost the flood, not the clients that are in debt.

The heap of expiries is lazy: an update pushes a new row and leaves the old one to be skipped.
When stale rows outnumber live entries the heap is rebuilt from the live entries, so it stays
within a constant factor of the table however hard a few keys are hammered (amortised O(1)).
"""

from __future__ import annotations

import heapq
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from types import MappingProxyType
from typing import Any, ClassVar, TypeVar

from ..errors import ConfigurationError
from ..ops import (
    US,
    Acquire,
    Add,
    Count,
    Get,
    GetText,
    Hit,
    Incr,
    LeaseState,
    Op,
    Release,
    SetText,
    Take,
    ttl_us,
)
from ..rate import gcra, peek, window
from .base import unknown_op

__all__ = ["MemoryStore"]

R = TypeVar("R")

DEFAULT_MAX_ENTRIES = 100_000


class _Text(str):
    """A stored `SetText` value: told apart from the other ops' values (a lease tuple, a TAT)."""

    __slots__ = ()


def _monotonic_us() -> int:
    return time.monotonic_ns() // 1000


class MemoryStore:
    """A bounded in-process store.

    :param max_entries: the most keys kept at once; the earliest-expiring entry is evicted beyond.
    :param clock: microseconds from an arbitrary origin; monotonic by default (tests inject one).
    """

    shared = False
    #: Every op is a few dict and heap steps under a lock: async drivers may call `run` directly.
    runs_inline = True
    #: Stale heap rows tolerated beyond one per entry before the heap is rebuilt.
    _heap_slack = 256

    def __init__(
        self, max_entries: int = DEFAULT_MAX_ENTRIES, *, clock: Callable[[], int] = _monotonic_us
    ) -> None:
        if max_entries < 1:
            raise ConfigurationError("max_entries must be at least 1")
        self.max_entries = max_entries
        self.clock = clock
        self.evictions = 0
        self._lock = threading.Lock()
        self._values: dict[str, tuple[Any, int]] = {}  # key -> (value, expires_at_us)
        self._heap: list[tuple[int, str]] = []  # (expires_at_us, key); stale rows are skipped

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"MemoryStore(max_entries={self.max_entries}, size={len(self._values)})"

    # -- the Store protocol ----------------------------------------------------------------
    def run(self, op: Op[R]) -> R:
        try:
            handler = self._OPS[type(op)]
        except KeyError:
            raise unknown_op(self, op) from None
        with self._lock:
            return handler(self, op, self.clock())  # type: ignore[no-any-return]

    async def arun(self, op: Op[R]) -> R:
        # Every operation is a few dict and heap steps under an uncontended lock: no I/O to await.
        return self.run(op)

    def close(self) -> None:
        with self._lock:
            self._values.clear()
            self._heap.clear()

    # -- operations ------------------------------------------------------------------------
    def _take(self, op: Take, now: int) -> tuple[Any, ...]:
        if len(op.buckets) == 1:  # the common case, without the all-or-none bookkeeping
            bucket = op.buckets[0]
            entry = self._values.get(bucket.key)  # an expired entry reads as a full bucket
            new_tat, state = gcra(entry[0] if entry and entry[1] > now else None, now, bucket)
            if new_tat is not None:
                self._set(bucket.key, new_tat, new_tat, now)
            return (state,)
        tats = [self._get(b.key, now) for b in op.buckets]
        outcomes = [gcra(tat, now, b) for tat, b in zip(tats, op.buckets, strict=True)]
        if all(state.allowed for _, state in outcomes):
            for (new_tat, _), b in zip(outcomes, op.buckets, strict=True):
                assert new_tat is not None
                self._set(b.key, new_tat, new_tat, now)
            return tuple(state for _, state in outcomes)
        return tuple(
            state if not state.allowed else peek(tat, now, b)
            for (_, state), tat, b in zip(outcomes, tats, op.buckets, strict=True)
        )

    def _add(self, op: Add, now: int) -> bool:
        if self._get(op.key, now) is not None:
            return False
        expires = now + ttl_us(op.ttl)
        self._set(op.key, 1, expires, now)
        return True

    def _hit(self, op: Hit, now: int) -> tuple[Any, ...]:
        states = [self._get(w.key, now) for w in op.windows]
        outcomes = [window(st, now, w) for st, w in zip(states, op.windows, strict=True)]
        if all(result.allowed for _, result in outcomes):
            for (stored, _), w in zip(outcomes, op.windows, strict=True):
                if stored is not None:
                    self._set(w.key, stored[0], stored[1], now)
            return tuple(result for _, result in outcomes)
        # None is charged; the windows that had room report their state as it stays.
        return tuple(
            result if not result.allowed else window(st, now, replace(w, cost=0))[1]
            for (_, result), st, w in zip(outcomes, states, op.windows, strict=True)
        )

    def _acquire(self, op: Acquire, now: int) -> LeaseState:
        held = self._get(op.key, now) or ()
        live = tuple((lease, exp) for lease, exp in held if exp > now and lease != op.lease)
        if len(live) >= op.limit:
            if len(live) != len(held):
                self._set(op.key, live, max(exp for _, exp in live), now)
            return LeaseState(False, op.limit, len(live))
        live += ((op.lease, now + ttl_us(op.ttl)),)
        self._set(op.key, live, max(exp for _, exp in live), now)
        return LeaseState(True, op.limit, len(live))

    def _release(self, op: Release, now: int) -> bool:
        held = self._get(op.key, now) or ()
        live = tuple((lease, exp) for lease, exp in held if exp > now and lease != op.lease)
        found = any(lease == op.lease and exp > now for lease, exp in held)
        if live:
            self._set(op.key, live, max(exp for _, exp in live), now)
        elif held:
            del self._values[op.key]
        return found

    def _incr(self, op: Incr, now: int) -> int:
        value = int(self._get(op.key, now) or 0) + op.amount
        self._set(op.key, value, now + ttl_us(op.ttl), now)
        return value

    def _read(self, op: Get, now: int) -> Count | None:
        entry = self._values.get(op.key)
        if entry is None or entry[1] <= now or not isinstance(entry[0], int):
            return None
        return Count(entry[0], (entry[1] - now) / US)

    def _set_text(self, op: SetText, now: int) -> bool:
        # No expiry is a very late one (about 290 years): still evicted last, never first.
        expires = now + (ttl_us(op.ttl) if op.ttl is not None else 2**63 - 1 - now)
        self._set(op.key, _Text(op.text), expires, now)
        return True

    def _get_text(self, op: GetText, now: int) -> str | None:
        entry = self._values.get(op.key)
        if entry is None or entry[1] <= now or not isinstance(entry[0], _Text):
            return None
        return str(entry[0])

    # -- the table -------------------------------------------------------------------------
    #: The one list of what this store runs: op type -> its method (`supports` is its keys).
    _OPS: ClassVar[Mapping[type[Op[Any]], Callable[[Any, Any, int], Any]]] = MappingProxyType(
        {
            Take: _take,
            Add: _add,
            Hit: _hit,
            Acquire: _acquire,
            Release: _release,
            Incr: _incr,
            Get: _read,
            SetText: _set_text,
            GetText: _get_text,
        }
    )
    supports: frozenset[type[Op[Any]]] = frozenset(_OPS)

    def _get(self, key: str, now: int) -> Any:
        entry = self._values.get(key)
        if entry is None:
            return None
        if entry[1] <= now:
            del self._values[key]
            return None
        return entry[0]

    def _set(self, key: str, value: Any, expires: int, now: int) -> None:
        if key not in self._values and len(self._values) >= self.max_entries:
            self._make_room(now)
        self._values[key] = (value, expires)
        heap = self._heap
        heapq.heappush(heap, (expires, key))
        if len(heap) > 2 * len(self._values) + self._heap_slack:
            self._compact(now)

    def _compact(self, now: int) -> None:
        """Rebuild the heap from the live entries, dropping expired ones on the way.

        It runs once the heap holds more than twice the entries (plus a slack), and leaves one
        row per entry, so at least as many pushes as there are entries pass before the next
        rebuild: O(1) amortised per write. Eviction order is unchanged: the heap still yields
        the live entries by (expiry, key).
        """
        values = self._values
        for key in [k for k, (_, exp) in values.items() if exp <= now]:
            del values[key]
        heap = [(exp, k) for k, (_, exp) in values.items()]
        heapq.heapify(heap)
        self._heap = heap

    def _make_room(self, now: int) -> None:
        heap, values = self._heap, self._values
        while heap and len(values) >= self.max_entries:
            expires, key = heapq.heappop(heap)
            entry = values.get(key)
            if entry is None or entry[1] != expires:
                continue  # stale row: the key was updated or removed since
            del values[key]
            if expires > now:
                self.evictions += 1
