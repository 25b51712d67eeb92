"""The op records: validation, one result family, and `shared_by` (a worker's share of a limit)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shieldware.ops import (
    US,
    Bucket,
    Count,
    Hit,
    LeaseState,
    LimitState,
    Take,
    Window,
    ttl_us,
)
from shieldware.stores import MemoryStore

HOUR_US = 3600 * US

buckets = st.builds(
    Bucket,
    key=st.just("k"),
    interval_us=st.integers(1, 10**9),
    capacity=st.integers(1, 1000),
    cost=st.integers(1, 1000),
)
windows = st.builds(
    Window,
    key=st.just("w"),
    limit=st.integers(1, 1000),
    window_us=st.integers(1, 10**9),
    strategy=st.sampled_from(["fixed", "sliding", "moving"]),
    cost=st.integers(1, 1000),
)


def test_empty_ops_are_refused_when_built() -> None:
    with pytest.raises(ValueError, match="bucket"):
        Take(())
    with pytest.raises(ValueError, match="window"):
        Hit(())


def test_results_are_named_tuples() -> None:
    for result in (LimitState(True, 1, 1, 0.0, 0.0), LeaseState(True, 1, 1), Count(1, 1.0)):
        assert isinstance(result, tuple)
        assert result._asdict()


@pytest.mark.parametrize(
    ("seconds", "expected"), [(0, 1), (1e-9, 1), (1.0, US), (0.5000001, 500001)]
)
def test_ttl_is_rounded_up_and_never_zero(seconds: float, expected: int) -> None:
    assert ttl_us(seconds) == expected


def test_one_worker_shares_nothing() -> None:
    take = Take((Bucket("k", 1000, 10),))
    hit = Hit((Window("w", 10, HOUR_US),))
    assert take.shared_by(1) is take
    assert hit.shared_by(1) is hit


def test_a_bucket_shared_by_three() -> None:
    (b,) = Take((Bucket("k", 1000, 10, cost=2),)).shared_by(3).buckets
    assert b == Bucket("k", 3000, 4, 2)  # 3x slower, ceil(10 / 3) of the burst


def test_a_window_shared_by_three() -> None:
    (w,) = Hit((Window("w", 10, HOUR_US, "moving", cost=2),)).shared_by(3).windows
    assert w == Window("w", 3, HOUR_US, "moving", 2)  # floor(10 / 3) per window


@given(st.lists(buckets, min_size=1, max_size=3), st.integers(1, 64))
def test_a_buckets_share_keeps_keys_costs_and_the_fleets_rate(
    bs: list[Bucket], workers: int
) -> None:
    shared = Take(tuple(bs)).shared_by(workers).buckets
    for b, s in zip(bs, shared, strict=True):
        assert (s.key, s.cost) == (b.key, b.cost)
        assert s.interval_us == b.interval_us * workers  # n workers together earn the rate
        assert s.capacity * workers >= b.capacity  # and together hold at least the burst
        assert s.capacity >= min(b.cost, b.capacity)  # a request that fits still can
        assert s.capacity <= b.capacity  # and one that can never fit still never does


@given(st.lists(windows, min_size=1, max_size=3), st.integers(1, 64))
def test_a_windows_share_never_exceeds_the_limit_across_the_fleet(
    ws: list[Window], workers: int
) -> None:
    shared = Hit(tuple(ws)).shared_by(workers).windows
    for w, s in zip(ws, shared, strict=True):
        assert (s.key, s.window_us, s.strategy, s.cost) == (w.key, w.window_us, w.strategy, w.cost)
        assert s.limit * workers <= w.limit or s.limit == min(w.cost, w.limit)  # fleet within it
        assert s.limit >= min(w.cost, w.limit)  # a request that fits still can
        assert s.limit <= w.limit  # and one that can never fit still never does


@given(st.integers(1, 50), st.integers(1, 8))
def test_workers_together_admit_about_the_burst(capacity: int, workers: int) -> None:
    """n local stores, each deciding its share, admit between the burst and burst + n - 1."""
    take = Take((Bucket("k", HOUR_US, capacity),)).shared_by(workers)
    total = 0
    for _ in range(workers):
        store = MemoryStore(clock=lambda: 10**12)
        total += sum(store.run(take)[0].allowed for _ in range(capacity + 1))
    assert capacity <= total <= capacity + workers - 1
