"""The memory store: GCRA through `Take`, single use through `Add`, the bound, thread safety."""

from __future__ import annotations

import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shieldware import ConfigurationError, MemoryStore, store_from_url
from shieldware.ops import Acquire, Add, Bucket, Get, Hit, Incr, Op, Release, Take, Window
from shieldware.rate import Rate


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000_000

    def __call__(self) -> int:
        return self.now


def take(store: MemoryStore, *buckets: Bucket) -> tuple[bool, ...]:
    return tuple(s.allowed for s in store.run(Take(buckets)))


def test_gcra_burst_then_steady_rate() -> None:
    clock = Clock()
    store = MemoryStore(clock=clock)
    bucket = Bucket("ip", Rate.parse("60/minute").interval_us, capacity=3)
    assert [take(store, bucket)[0] for _ in range(4)] == [True, True, True, False]
    clock.now += 999_999
    assert take(store, bucket) == (False,)
    clock.now += 1
    assert take(store, bucket) == (True,)


def test_rejected_take_reports_retry_after_and_charges_nobody() -> None:
    clock = Clock()
    store = MemoryStore(clock=clock)
    roomy = Bucket("roomy", 1_000_000, 10)
    tight = Bucket("tight", 1_000_000, 1)
    assert take(store, roomy, tight) == (True, True)
    states = store.run(Take((roomy, tight)))
    assert [s.allowed for s in states] == [True, False]
    assert states[1].retry_after == pytest.approx(1.0)
    assert states[0].remaining == 9  # the roomy bucket was not charged by the rejected take


def test_cost_above_capacity_never_conforms() -> None:
    store = MemoryStore(clock=Clock())
    (state,) = store.run(Take((Bucket("k", 1000, 5, cost=6),)))
    assert not state.allowed
    assert state.retry_after == float("inf")


def test_add_is_single_use_until_expiry() -> None:
    clock = Clock()
    store = MemoryStore(clock=clock)
    assert store.run(Add("id", 2.0)) is True
    assert store.run(Add("id", 2.0)) is False
    clock.now += 2_000_000
    assert store.run(Add("id", 2.0)) is True


def test_flood_of_distinct_keys_stays_at_the_bound_and_spares_debtors() -> None:
    clock = Clock()
    store = MemoryStore(max_entries=1000, clock=clock)
    debtor = Bucket("debtor", 60_000_000, 2)  # long debt: expires last
    take(store, debtor)
    take(store, debtor)
    for i in range(50_000):
        take(store, Bucket(f"flood-{i}", 1_000_000, 10))
        clock.now += 1
    assert len(store) == 1000
    assert store.evictions > 0
    assert take(store, debtor) == (False,)  # the debtor was not evicted into a fresh bucket


def test_expired_entries_are_reclaimed_before_live_ones() -> None:
    clock = Clock()
    store = MemoryStore(max_entries=10, clock=clock)
    for i in range(10):
        store.run(Add(f"old-{i}", 1.0))
    clock.now += 2_000_000
    for i in range(10):
        store.run(Add(f"new-{i}", 1.0))
    assert len(store) == 10
    assert store.evictions == 0


def test_thread_safety_exact_admissions() -> None:
    store = MemoryStore()
    bucket = Bucket("shared", 3_600_000_000, 500)
    admitted: list[int] = []
    lock = threading.Lock()

    def worker() -> None:
        mine = sum(take(store, bucket)[0] for _ in range(200))
        with lock:
            admitted.append(mine)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(admitted) == 500


def test_single_use_under_threads() -> None:
    store = MemoryStore()
    results: list[bool] = []
    barrier = threading.Barrier(8)

    def worker() -> None:
        barrier.wait()
        results.append(store.run(Add("once", 60)))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count(True) == 1


@given(
    st.lists(st.tuples(st.integers(0, 3_000_000), st.integers(1, 4)), max_size=60),
    st.integers(1, 8),
)
def test_gcra_never_admits_more_than_burst_plus_rate(
    steps: list[tuple[int, int]], capacity: int
) -> None:
    clock = Clock()
    start = clock.now
    store = MemoryStore(clock=clock)
    interval = 1_000_000
    admitted = 0
    for delta, cost in steps:
        clock.now += delta
        (state,) = store.run(Take((Bucket("k", interval, capacity, cost),)))
        if state.allowed:
            admitted += cost
        assert 0 <= state.remaining <= capacity
    assert admitted <= capacity + (clock.now - start) // interval


def test_hammered_keys_keep_the_heap_the_size_of_the_table() -> None:
    """Every update pushes a heap row; stale rows must not pile up (they once reached 200,000)."""
    clock = Clock()
    store = MemoryStore(clock=clock)
    buckets = [Bucket(f"hot-{i}", 1, 10**9) for i in range(64)]
    longest = 0
    for i in range(200_000):
        store.run(Take((buckets[i % 64],)))
        clock.now += 1
        longest = max(longest, len(store._heap))
    assert len(store) == 64
    assert longest <= 2 * 64 + store._heap_slack + 1


class Lazy(MemoryStore):
    """The reference: never rebuilds its heap, so only stale-row skipping orders evictions."""

    def _compact(self, now: int) -> None:
        pass


class Eager(MemoryStore):
    """Rebuilds its heap as soon as it holds more than twice the entries."""

    _heap_slack = 0


def _live(store: MemoryStore, now: int) -> set[str]:
    return {key for key, (_, expires) in store._values.items() if expires > now}


def test_evictions_after_a_compaction_follow_expiry_order() -> None:
    clock = Clock()
    eager, lazy = Eager(40, clock=clock), Lazy(40, clock=clock)
    stores = (eager, lazy)
    for i in range(40):  # expiries 10 ms apart, in an order unrelated to the key names
        for store in stores:
            store.run(Add(f"k{(i * 7) % 40}", 0.01 * (i + 1)))
    for _ in range(200):  # one hot key: every update leaves a stale row behind
        for store in stores:
            store.run(Incr("hot", 5.0))
    assert len(eager._heap) < len(lazy._heap)  # the eager store did compact
    assert _live(eager, clock.now) == _live(lazy, clock.now)
    for i in range(40):  # a flood of new keys: evictions take the earliest expiries first
        clock.now += 1000
        for store in stores:
            store.run(Add(f"new-{i}", 1.0))
        assert _live(eager, clock.now) == _live(lazy, clock.now)
    assert eager.evictions == lazy.evictions == 41
    assert "hot" in _live(eager, clock.now)


def _op(kind: int, key: int, amount: int) -> Op[object]:
    """One of every op; keys are namespaced per kind of state, as layers namespace theirs."""
    strategy = ("fixed", "sliding", "moving")[amount % 3]
    ops: list[Op[object]] = [
        Take((Bucket(f"t{key}", 250_000, 3, 1 + amount % 3),)),  # type: ignore[list-item]
        Add(f"c{key}", amount / 4),
        Incr(f"c{key}", amount / 2),
        Hit((Window(f"h{strategy}{key}", 3, 1_000_000, strategy),)),  # type: ignore[list-item]
        Acquire(f"l{key}", f"lease-{amount % 2}", 2, amount / 3),
        Release(f"l{key}", f"lease-{amount % 2}"),
        Get(f"c{key}"),
    ]
    return ops[kind]


@given(
    st.lists(
        st.tuples(st.integers(0, 6), st.integers(0, 2), st.integers(1, 8), st.integers(0, 100_000)),
        max_size=300,
    )
)
def test_compaction_changes_no_result_and_no_eviction(
    steps: list[tuple[int, int, int, int]],
) -> None:
    clock = Clock()
    eager, lazy = Eager(8, clock=clock), Lazy(8, clock=clock)
    for kind, key, amount, delta in steps:
        clock.now += delta
        op = _op(kind, key, amount)
        assert eager.run(op) == lazy.run(op)
        assert eager.evictions == lazy.evictions
        assert _live(eager, clock.now) == _live(lazy, clock.now)
    # deletions (a released lease, an expired read) never add rows: the bound is the table's
    assert len(eager._heap) <= 2 * eager.max_entries + 1


def test_bad_configuration() -> None:
    with pytest.raises(ConfigurationError):
        MemoryStore(0)
    with pytest.raises(ConfigurationError):
        store_from_url("memory://?max_entries=lots")
    with pytest.raises(ConfigurationError):
        store_from_url("carrier-pigeon://")
    assert store_from_url("memory://?max_entries=7").max_entries == 7  # type: ignore[attr-defined]
    with pytest.raises(ConfigurationError):
        Rate.parse("lots per fortnight")
