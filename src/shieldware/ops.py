"""Store operations: what stateful layers ask of the store, as small frozen records.

A layer's `check` is a generator that yields an op and receives its result, in the manner of
httpx's ``Auth.auth_flow``. The store runs the op; the layer never sees a connection, so every layer
is written once for sync and async callers alike.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Generic, Literal, NamedTuple, TypeVar

__all__ = [
    "US",
    "Acquire",
    "Add",
    "Bucket",
    "Count",
    "Get",
    "GetText",
    "Hit",
    "Incr",
    "LeaseState",
    "LimitState",
    "Op",
    "Release",
    "SetText",
    "Strategy",
    "Take",
    "Window",
    "ttl_us",
]

R = TypeVar("R", covariant=True)

#: Microseconds per second: stores keep every time as whole microseconds.
US = 1_000_000


def ttl_us(seconds: float) -> int:
    """A TTL in whole microseconds, rounded up and never 0 (a 0 TTL would mean "no limit")."""
    return max(1, math.ceil(seconds * US))


class Op(Generic[R]):
    """Base of every store operation; `R` is the type of its result.

    Stores dispatch on the op's exact type, so a subclass of an op is a new op (a store that does
    not list it in its ``supports`` raises `TypeError`).
    """

    __slots__ = ()


class Bucket(NamedTuple):
    """One GCRA token bucket to charge.

    :param key: the store key (already namespaced and encoded by the layer).
    :param interval_us: the emission interval: microseconds to earn back one unit.
    :param capacity: the largest cost accepted at once from a full bucket (the burst).
    :param cost: units this request takes.
    """

    key: str
    interval_us: int
    capacity: int
    cost: int = 1


class LimitState(NamedTuple):
    """A bucket or a window after a decision: the answer to `Take` and to `Hit`, one per limit.

    :param allowed: the request fits (and every bucket or window of the op was charged).
    :param limit: the bucket's capacity, or the units a window allows.
    :param remaining: whole units left now.
    :param retry_after: seconds until this request's cost would fit (0 when allowed; infinite when
        the cost exceeds the limit).
    :param reset_after: seconds until the count next goes down: a bucket is full again; a fixed
        window ends; a sliding window reaches its next boundary; a moving window's oldest hit
        leaves it. 0 when empty.
    """

    allowed: bool
    limit: int
    remaining: int
    retry_after: float
    reset_after: float


@dataclass(frozen=True, slots=True)
class Take(Op[tuple[LimitState, ...]]):
    """Charge several buckets atomically: all of them, or none when any one rejects."""

    buckets: tuple[Bucket, ...]

    def __post_init__(self) -> None:
        if not self.buckets:
            raise ValueError("a Take needs at least one bucket")

    def shared_by(self, workers: int) -> Take:
        """This take for one of `workers` processes deciding alone (a local fallback store).

        Each earns units `workers` times slower and holds its share of the burst (never less
        than the cost, so a request that fits the whole bucket still fits a share; never more
        than the bucket, so one that can never fit still never does).
        """
        if workers == 1:
            return self
        return Take(
            tuple(
                Bucket(
                    b.key,
                    b.interval_us * workers,
                    min(b.capacity, max(b.cost, math.ceil(b.capacity / workers))),
                    b.cost,
                )
                for b in self.buckets
            )
        )


@dataclass(frozen=True, slots=True)
class Add(Op[bool]):
    """Record `key` for `ttl` seconds unless it is already there; True when it was new.

    Single-use ids (spent challenges) and bans use it.
    """

    key: str
    ttl: float


# -- hard quotas: fixed, sliding-window-counter and moving windows -------------------------------

#: How a `Window` counts; the arithmetic of each is a pure function in `shieldware.rate`.
Strategy = Literal["fixed", "sliding", "moving"]


@dataclass(frozen=True, slots=True)
class Window:
    """One window quota to charge: at most `limit` units per `window_us`.

    The three strategies mirror limits' and differ in what a store keeps under `key` (all times
    are the store's clock in integer microseconds; see `shieldware.rate` for the exact arithmetic):

    - ``"fixed"``: ``(count, end)``. The window opens at the key's first hit and lasts
      `window_us`; the key expires at ``end``. Cheapest; allows up to ``2 * limit`` across a
      window boundary.
    - ``"sliding"`` (sliding-window counter): ``(start, current, previous)`` with windows aligned to
      multiples of `window_us` on the store's clock. The count is
      ``previous * (window - elapsed) / window + current``; the key expires at ``start + 2*window``.
      Smooth and small, an approximation of a moving window.
    - ``"moving"``: the hit timestamps (ascending, at most `limit` of them) inside the last
      `window_us`; the key expires one window after the newest. Exact, costs one number per unit.

    :param key: the store key (already namespaced and encoded by the layer).
    :param limit: units allowed per window.
    :param window_us: the window length in microseconds.
    :param strategy: ``"fixed"``, ``"sliding"`` or ``"moving"``.
    :param cost: units this request takes.
    """

    key: str
    limit: int
    window_us: int
    strategy: Strategy = "fixed"
    cost: int = 1


@dataclass(frozen=True, slots=True)
class Hit(Op[tuple[LimitState, ...]]):
    """Charge several windows atomically: all of them, or none when any one is full.

    A rejected hit changes nothing (limits' fixed window counts rejected hits; we do not, so a
    hammering client is not locked out beyond its window).
    """

    windows: tuple[Window, ...]

    def __post_init__(self) -> None:
        if not self.windows:
            raise ValueError("a Hit needs at least one window")

    def shared_by(self, workers: int) -> Hit:
        """This hit for one of `workers` processes deciding alone (a local fallback store).

        Each allows its share of every window's limit (never less than the cost, never more
        than the limit).
        """
        if workers == 1:
            return self
        return Hit(
            tuple(
                Window(
                    w.key,
                    min(w.limit, max(w.cost, w.limit // workers)),
                    w.window_us,
                    w.strategy,
                    w.cost,
                )
                for w in self.windows
            )
        )


# -- concurrency leases ---------------------------------------------------------------------------


class LeaseState(NamedTuple):
    """The answer to an `Acquire`.

    :param acquired: the lease was granted.
    :param limit: the most leases held at once under this key.
    :param in_flight: leases held now (the new one included when granted).
    """

    acquired: bool
    limit: int
    in_flight: int


@dataclass(frozen=True, slots=True)
class Acquire(Op[LeaseState]):
    """Take one of `limit` leases under `key`, named `lease`, expiring after `ttl` seconds.

    Expired leases (a worker died before releasing) are dropped before counting. The key expires
    with its last lease.
    """

    key: str
    lease: str
    limit: int
    ttl: float


@dataclass(frozen=True, slots=True)
class Release(Op[bool]):
    """Give lease `lease` under `key` back; True when it was still held."""

    key: str
    lease: str


# -- counters (penalty box) -----------------------------------------------------------------------


class Count(NamedTuple):
    """A counter's value and the seconds it has left to live."""

    value: int
    ttl: float


@dataclass(frozen=True, slots=True)
class Incr(Op[int]):
    """Add `amount` to the counter at `key` (0 when absent) and (re)set its life to `ttl` seconds.

    Returns the new value. Refreshing the TTL on every increment makes the counter a decaying
    record: it vanishes `ttl` seconds after the last increment.
    """

    key: str
    ttl: float
    amount: int = 1


@dataclass(frozen=True, slots=True)
class Get(Op[Count | None]):
    """Read the counter or marker at `key` (an `Add` marker reads as 1), or None when absent."""

    key: str


# -- small shared records (the under-attack switch) -----------------------------------------------

#: The longest text a `SetText` may store: small records, never payloads.
MAX_TEXT = 4096


@dataclass(frozen=True, slots=True)
class SetText(Op[bool]):
    """Store `text` at `key` (replacing what is there), for `ttl` seconds or, with None, for good.

    Returns True. For small records every process reads (the under-attack switch), not counters.
    """

    key: str
    text: str
    ttl: float | None = None

    def __post_init__(self) -> None:
        if len(self.text) > MAX_TEXT:
            raise ValueError(f"a SetText holds at most {MAX_TEXT} characters")
        if self.ttl is not None and not self.ttl > 0:
            raise ValueError("a SetText ttl must be positive (or None: no expiry)")


@dataclass(frozen=True, slots=True)
class GetText(Op[str | None]):
    """Read the text a `SetText` stored at `key`, or None when absent (or not text)."""

    key: str
