"""Rates as values, and GCRA arithmetic as a pure function.

GCRA keeps one number per key: the theoretical arrival time (TAT), the instant at which the bucket
would be full again. A missing key means a full bucket, so state may expire as soon as TAT passes.

*Burst* (capacity) here means the largest cost accepted at once from a full bucket: with
``Rate("100/minute")`` and ``burst=20``, a quiet client may send 20 requests at once and then one
every 0.6 s. Over any span t it is admitted at most ``burst + t / interval`` units.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from .errors import ConfigurationError
from .ops import US, Bucket, LimitState, Window

__all__ = [
    "FixedState",
    "MovingState",
    "Rate",
    "SlidingState",
    "WindowStateT",
    "fixed_window",
    "gcra",
    "moving_window",
    "parse_rates",
    "peek",
    "sliding_window",
    "window",
]


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
        rates = parse_rates(value, what="rate")
        if len(rates) != 1:
            raise ConfigurationError(
                f"{value!r} names {len(rates)} rates; a bucket has one (several limits on one "
                "key: Quota, or RateLimit([TokenBucket(...), TokenBucket(...)]))"
            )
        return rates[0]

    @property
    def interval_us(self) -> int:
        """Microseconds to earn back one unit."""
        return int(self.period * US) // self.amount

    def __str__(self) -> str:
        return f"{self.amount} per {self.period:g} s"


#: The everyday spellings (``"10/second"``, ``"100 per minute"``, ``"5/2 hours"``), parsed here
#: exactly as `limits` parses them; anything else goes to `limits` itself, whose import (about 40
#: ms, most of it `limits.aio`) an app then pays once at start-up.
_SIMPLE = re.compile(
    r"[ \t]*([0-9]{1,18})[ \t]*(?:/|[ \t]*per[ \t]*)[ \t]*([0-9]{1,18})?[ \t]*"
    r"(second|minute|hour|day)s?[ \t]*",
    re.ASCII,
)
_SECONDS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}


def parse_rates(text: str, *, what: str = "quota") -> list[Rate]:
    """Rates in `limits`' string notation, several joined by ``,``, ``;`` or ``|``."""
    if not isinstance(text, str):
        raise ConfigurationError(f"cannot parse {what} {text!r}: not a string")
    rates: list[Rate] = []
    for part in re.split(r"[,;|]", text):
        match = _SIMPLE.fullmatch(part)
        if match is None or (match.group(2) is not None and int(match.group(2)) == 0):
            return _parse_with_limits(text, what)
        amount, multiples, unit = match.groups()
        rates.append(Rate(int(amount), float(_SECONDS[unit] * int(multiples or 1))))
    return rates


def _parse_with_limits(text: str, what: str) -> list[Rate]:
    try:
        import limits

        items = limits.parse_many(text)
    except ValueError as exc:
        raise ConfigurationError(f"cannot parse {what} {text!r}: {exc}") from exc
    return [Rate(int(i.amount), float(i.get_expiry())) for i in items]


def gcra(tat: int | None, now: int, bucket: Bucket) -> tuple[int | None, LimitState]:
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
        return None, LimitState(
            False, capacity, _remaining(limit_us - debt, interval), math.inf, debt / US
        )
    if new_tat - now <= limit_us:
        debt = new_tat - now
        return new_tat, LimitState(
            True, capacity, _remaining(limit_us - debt, interval), 0.0, debt / US
        )
    debt = base - now
    retry = (new_tat - limit_us - now) / US
    return None, LimitState(
        False, capacity, _remaining(limit_us - debt, interval), retry, debt / US
    )


def peek(tat: int | None, now: int, bucket: Bucket) -> LimitState:
    """A bucket's state without charging it (for buckets left untouched by a rejected `Take`)."""
    limit_us = bucket.capacity * bucket.interval_us
    debt = 0 if tat is None or tat < now else min(tat - now, limit_us)
    return LimitState(
        True, bucket.capacity, _remaining(limit_us - debt, bucket.interval_us), 0.0, debt / US
    )


def _remaining(headroom_us: int, interval: int) -> int:
    return max(0, headroom_us // interval)


# -- window quotas --------------------------------------------------------------------------------
# Pure functions a store runs under its lock (memory) or mirrors in a script (Redis). Each takes the
# stored state (None when the key is absent or expired), the store's clock in microseconds and the
# `Window`, and returns the state to store with its absolute expiry (None: store nothing) and the
# window's `LimitState`. A rejected hit never changes state. Costs are whole units.

#: ``(count, end_us)``: hits in the window opened at the key's first hit, and when it ends.
FixedState = tuple[int, int]
#: ``(start_us, current, previous)``: counts of the aligned window at `start_us` and of the one
#: before it.
SlidingState = tuple[int, int, int]
#: Ascending hit timestamps (one per unit) inside the last window.
MovingState = tuple[int, ...]
WindowStateT = FixedState | SlidingState | MovingState
_Stored = tuple[WindowStateT, int] | None


def _seconds(us: int) -> float:
    return max(0, us) / US


def fixed_window(
    state: FixedState | None, now: int, w: Window
) -> tuple[tuple[FixedState, int] | None, LimitState]:
    """A window that opens at the key's first hit; allowed iff ``count + cost <= limit``.

    Stored: ``(count + cost, end)`` expiring at ``end``. Retry: at ``end``.
    """
    count, end = (0, now + w.window_us) if state is None or state[1] <= now else state
    if count + w.cost <= w.limit:
        count += w.cost
        stored: tuple[FixedState, int] | None = ((count, end), end) if w.cost else None
        return stored, LimitState(
            True, w.limit, w.limit - count, 0.0, _seconds(end - now) if count else 0.0
        )
    retry = math.inf if w.cost > w.limit else _seconds(end - now)
    reset = _seconds(end - now) if count else 0.0
    return None, LimitState(False, w.limit, max(0, w.limit - count), retry, reset)


def sliding_window(
    state: SlidingState | None, now: int, w: Window
) -> tuple[tuple[SlidingState, int] | None, LimitState]:
    """A sliding-window counter over windows aligned to multiples of ``window_us``.

    With ``e = now - start`` the weighted count is ``previous * (W - e) / W + current``; the hit
    is allowed iff ``previous * (W - e) + (current + cost) * W <= limit * W`` (exact integers).
    Stored: ``(start, current + cost, previous)`` expiring at ``start + 2 * W``.
    Remaining: ``floor((limit * W - previous * (W - e)) / W) - current``.
    Retry (cost <= limit), in whole microseconds rounded up:

    - ``current + cost <= limit``: wait until the previous window's weight has shrunk enough,
      ``e' = W - floor((limit - current - cost) * W / previous)``; retry ``e' - e``.
    - otherwise: in the next window ``current`` becomes ``previous``,
      ``e2 = W - floor((limit - cost) * W / current)``; retry ``W - e + e2``.
    """
    size = w.window_us
    start = now - now % size
    e = now - start
    cur = prev = 0
    if state is not None:
        if state[0] == start:
            _, cur, prev = state
        elif state[0] == start - size:
            prev = state[1]
    headroom = w.limit * size - prev * (size - e)
    if (cur + w.cost) * size <= headroom:
        cur += w.cost
        stored: tuple[SlidingState, int] | None = (
            ((start, cur, prev), start + 2 * size) if w.cost else None
        )
        return stored, LimitState(
            True, w.limit, max(0, headroom // size - cur), 0.0, _sliding_reset(cur, prev, e, size)
        )
    if w.cost > w.limit:
        retry = math.inf
    elif cur + w.cost <= w.limit:  # prev > 0 here, or the hit would have fitted
        retry = _seconds(size - ((w.limit - cur - w.cost) * size) // prev - e)
    else:  # cur > 0 here
        retry = _seconds(size - e + size - ((w.limit - w.cost) * size) // cur)
    return None, LimitState(
        False,
        w.limit,
        max(0, headroom // size - cur),
        retry,
        _sliding_reset(cur, prev, e, size),
    )


def _sliding_reset(cur: int, prev: int, e: int, size: int) -> float:
    return _seconds(size - e) if cur or prev else 0.0


def moving_window(
    state: MovingState | None, now: int, w: Window
) -> tuple[tuple[MovingState, int] | None, LimitState]:
    """An exact moving window: the hits of the last ``window_us``, one timestamp per unit.

    Hits at ``t`` count while ``t + W > now``. Allowed iff ``len(hits) + cost <= limit``.
    Stored: the live hits plus `cost` copies of ``now``, expiring at ``now + W``.
    Retry: the ``k``-th oldest hit leaves at ``hits[k - 1] + W`` with
    ``k = len(hits) + cost - limit``.
    """
    horizon = now - w.window_us
    hits = tuple(t for t in state if t > horizon) if state else ()
    count = len(hits)
    if count + w.cost <= w.limit:
        hits = hits + (now,) * w.cost
        stored: tuple[MovingState, int] | None = (hits, now + w.window_us) if w.cost else None
        reset = _seconds(hits[0] + w.window_us - now) if hits else 0.0
        return stored, LimitState(True, w.limit, w.limit - len(hits), 0.0, reset)
    if w.cost > w.limit:
        retry = math.inf
    else:
        retry = _seconds(hits[count + w.cost - w.limit - 1] + w.window_us - now)
    reset = _seconds(hits[0] + w.window_us - now) if hits else 0.0
    return None, LimitState(False, w.limit, max(0, w.limit - count), retry, reset)


def window(state: object, now: int, w: Window) -> tuple[_Stored, LimitState]:
    """Dispatch on ``w.strategy``; `state` is whatever the same strategy stored before."""
    if w.strategy == "fixed":
        return fixed_window(state, now, w)  # type: ignore[arg-type]
    if w.strategy == "sliding":
        return sliding_window(state, now, w)  # type: ignore[arg-type]
    return moving_window(state, now, w)  # type: ignore[arg-type]
