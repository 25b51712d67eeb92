"""GCRA properties (hypothesis) and the pitfalls of the research note, one test each."""

from __future__ import annotations

import math
import time
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shieldware import MemoryStore
from shieldware.errors import ConfigurationError
from shieldware.ops import Bucket, Take
from shieldware.rate import Rate, gcra, parse_rates

US = 1_000_000

buckets = st.builds(
    Bucket,
    key=st.just("k"),
    interval_us=st.integers(1, 5 * US),
    capacity=st.integers(1, 50),
    cost=st.just(1),
)
gaps = st.lists(st.integers(0, 3 * US), min_size=1, max_size=120)


def replay(bucket: Bucket, times: list[int], costs: list[int] | None = None) -> list[bool]:
    tat: int | None = None
    out = []
    for i, now in enumerate(times):
        b = (
            bucket
            if costs is None
            else Bucket(bucket.key, bucket.interval_us, bucket.capacity, costs[i])
        )
        new_tat, state = gcra(tat, now, b)
        if state.allowed:
            assert new_tat is not None
            tat = new_tat
        else:
            assert new_tat is None  # a refusal stores nothing
        out.append(state.allowed)
    return out


def arrivals(start: int, deltas: list[int]) -> list[int]:
    times, now = [], start
    for d in deltas:
        now += d
        times.append(now)
    return times


@settings(max_examples=150)
@given(buckets, gaps, st.integers(0, 10**15))
def test_admitted_over_any_span_never_exceeds_burst_plus_span_over_interval(
    bucket: Bucket, deltas: list[int], start: int
) -> None:
    times = arrivals(start, deltas)
    admitted = [t for t, ok in zip(times, replay(bucket, times), strict=True) if ok]
    for i, first in enumerate(admitted):
        for j in range(i, len(admitted)):
            span = admitted[j] - first
            assert j - i + 1 <= bucket.capacity + span / bucket.interval_us


@given(buckets, gaps)
def test_a_quiet_client_gets_its_whole_burst_at_once(bucket: Bucket, deltas: list[int]) -> None:
    now = 10**12
    assert replay(bucket, [now] * bucket.capacity) == [True] * bucket.capacity
    assert replay(bucket, [now] * (bucket.capacity + 1))[-1] is False


@given(st.integers(1, 10 * US), st.integers(1, 30), st.integers(1, 30), st.integers(0, 10**15))
def test_cost_above_capacity_is_never_admitted_and_promises_no_retry(
    interval: int, capacity: int, extra: int, now: int
) -> None:
    bucket = Bucket("k", interval, capacity, capacity + extra)
    for tat in (None, now - 1, now + interval):
        new_tat, state = gcra(tat, now, bucket)
        assert new_tat is None
        assert not state.allowed
        assert math.isinf(state.retry_after)


@given(buckets, gaps, st.integers(1, 5))
def test_honouring_retry_after_succeeds(bucket: Bucket, deltas: list[int], cost: int) -> None:
    cost = min(cost, bucket.capacity)
    b = Bucket("k", bucket.interval_us, bucket.capacity, cost)
    tat: int | None = None
    now = 10**12
    for d in deltas:
        now += d
        new_tat, state = gcra(tat, now, b)
        if state.allowed:
            tat = new_tat
            continue
        wait_us = math.ceil(state.retry_after * US)
        assert wait_us > 0
        _, later = gcra(tat, now + wait_us, b)
        assert later.allowed  # the retry the client was told about works...
        _, earlier = gcra(tat, now + wait_us - 2, b)
        assert not earlier.allowed or wait_us <= 2  # ...and not much earlier: the hint is tight


@given(buckets, gaps)
def test_remaining_and_stored_tat_are_consistent(bucket: Bucket, deltas: list[int]) -> None:
    tat: int | None = None
    now = 10**12
    for d in deltas:
        now += d
        new_tat, state = gcra(tat, now, bucket)
        assert 0 <= state.remaining <= bucket.capacity
        if state.allowed:
            assert new_tat is not None
            assert isinstance(new_tat, int)
            assert new_tat > now  # pitfall 3: the TTL (new_tat - now) is never 0
            assert new_tat - now <= bucket.capacity * bucket.interval_us
            tat = new_tat


def test_pitfall_ttl_rounding_capacity_one_at_ten_per_second() -> None:
    # throttled-py's EXPIRE floor(2*capacity/rate) became EXPIRE 0 here and admitted everything.
    store = MemoryStore(clock=lambda: 5 * US)
    bucket = Bucket("k", Rate.parse("10/second").interval_us, 1)
    assert [store.run(Take((bucket,)))[0].allowed for _ in range(3)] == [True, False, False]


def test_pitfall_sub_millisecond_emission_interval() -> None:
    rate = Rate.parse("5000/second")
    assert rate.interval_us == 200
    bucket = Bucket("k", rate.interval_us, 2)
    assert replay(bucket, [0, 0, 0, 199, 200, 400]) == [True, True, False, False, True, True]


def test_pitfall_corrupt_or_future_tat_is_clamped() -> None:
    # A failover to a host whose clock is far behind must not lock a client out for ages.
    bucket = Bucket("k", US, 5)
    now = 10**12
    _, state = gcra(now + 10**9, now, bucket)
    assert not state.allowed
    assert state.retry_after == pytest.approx(1.0)  # at most one unit's wait, not 1000 s
    assert state.reset_after == pytest.approx(5.0)


def test_pitfall_memory_store_clock_is_monotonic(monkeypatch: pytest.MonkeyPatch) -> None:
    store = MemoryStore()
    bucket = Bucket("k", 60 * US, 1)
    assert store.run(Take((bucket,)))[0].allowed
    # A wall-clock jump (NTP step, DST bug) must neither refill nor starve the bucket.
    monkeypatch.setattr(time, "time", lambda: 4_000_000_000.0)
    monkeypatch.setattr(time, "time_ns", lambda: 4_000_000_000 * 10**9)
    assert not store.run(Take((bucket,)))[0].allowed


_SPACE = st.sampled_from(["", " ", "  ", "\t"])
_UNIT = st.sampled_from(["second", "minute", "hour", "day", "month", "year", "Minute", "HOURS"])


@given(
    st.lists(
        st.tuples(
            _SPACE,
            st.integers(1, 10**6),
            _SPACE,
            st.sampled_from(["/", " per ", "per", "/ ", "PER"]),
            st.one_of(st.none(), st.integers(0, 100)),
            _SPACE,
            _UNIT,
            st.sampled_from(["", "s"]),
            _SPACE,
        ),
        min_size=1,
        max_size=3,
    ),
    st.sampled_from([";", ",", "|"]),
)
def test_rates_parse_exactly_as_limits_does(parts: list[tuple[Any, ...]], sep: str) -> None:
    import limits

    text = sep.join(
        f"{a}{n}{b}{s}{'' if m is None else m}{c}{u}{plural}{d}"
        for a, n, b, s, m, c, u, plural, d in parts
    )
    try:
        expected = [Rate(int(i.amount), float(i.get_expiry())) for i in limits.parse_many(text)]
    except ValueError:
        with pytest.raises(ConfigurationError):
            parse_rates(text)
        return
    assert parse_rates(text) == expected
    if len(expected) == 1:
        assert Rate.parse(text) == expected[0]
    else:  # a bucket has one rate: several are refused, never silently cut to the first
        with pytest.raises(ConfigurationError, match="Quota"):
            Rate.parse(text)
