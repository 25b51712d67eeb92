"""Rates as values, and GCRA arithmetic as a pure function.

GCRA keeps one number per key: the theoretical arrival time (TAT), the instant at which the bucket
would be full again. A missing key means a full bucket, so state may expire as soon as TAT passes.

*Burst* (capacity) here means the largest cost accepted at once from a full bucket: with
``Rate("100/minute")`` and ``burst=20``, a quiet client may send 20 requests at once and then one
every 0.6 s. Over any span t it is admitted at most ``burst + t / interval`` units.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import limits

from .errors import ConfigurationError
from .ops import Bucket, BucketState

__all__ = ["Rate", "gcra"]

_US = 1_000_000


@dataclass(frozen=True, slots=True)
class Rate:
    """``amount`` units per ``period`` seconds, e.g. ``Rate.parse("100/minute")``."""

    amount: int
    period: float

    def __post_init__(self) -> None:
        if self.amount <= 0 or self.period <= 0:
            raise ConfigurationError(f"a rate needs a positive amount and period: {self!r}")
        if self.interval_us < 1:
            raise ConfigurationError(f"rate too high (over one unit per microsecond): {self}")

    @classmethod
    def parse(cls, value: str | Rate) -> Rate:
        """Parse ``"10/second"``, ``"100 per minute"``, ``"5/2 hours"`` (limits' grammar)."""
        if isinstance(value, Rate):
            return value
        try:
            item = limits.parse(value)
        except ValueError as exc:
            raise ConfigurationError(f"cannot parse rate {value!r}: {exc}") from exc
        return cls(int(item.amount), float(item.get_expiry()))

    @property
    def interval_us(self) -> int:
        """Microseconds to earn back one unit."""
        return int(self.period * _US) // self.amount

    def __str__(self) -> str:
        return f"{self.amount} per {self.period:g} s"


def gcra(tat: int | None, now: int, bucket: Bucket) -> tuple[int | None, BucketState]:
    """Decide one request against one bucket.

    :param tat: the stored TAT in microseconds, or None for a full bucket.
    :param now: the store's clock in microseconds.
    :returns: the TAT to store (None when rejected: nothing changes) and the bucket's state.
    """
    interval, capacity = bucket.interval_us, bucket.capacity
    limit_us = capacity * interval
    base = now if tat is None or tat < now else min(tat, now + limit_us)  # clamp corrupt state
    new_tat = base + bucket.cost * interval
    if bucket.cost > capacity:
        # Can never conform: do not promise a retry that cannot succeed.
        debt = base - now
        return None, BucketState(
            False, capacity, _remaining(limit_us - debt, interval), math.inf, debt / _US
        )
    if new_tat - now <= limit_us:
        debt = new_tat - now
        return new_tat, BucketState(
            True, capacity, _remaining(limit_us - debt, interval), 0.0, debt / _US
        )
    debt = base - now
    retry = (new_tat - limit_us - now) / _US
    return None, BucketState(
        False, capacity, _remaining(limit_us - debt, interval), retry, debt / _US
    )


def peek(tat: int | None, now: int, bucket: Bucket) -> BucketState:
    """A bucket's state without charging it (for buckets left untouched by a rejected `Take`)."""
    limit_us = bucket.capacity * bucket.interval_us
    debt = 0 if tat is None or tat < now else min(tat - now, limit_us)
    return BucketState(
        True, bucket.capacity, _remaining(limit_us - debt, bucket.interval_us), 0.0, debt / _US
    )


def _remaining(headroom_us: int, interval: int) -> int:
    return max(0, headroom_us // interval)
