"""The memory store's new ops: Hit, Acquire/Release, Incr/Get; every entry expires; bounded."""

from __future__ import annotations

import threading

import pytest

from shieldware import MemoryStore, StoreError
from shieldware.ops import Acquire, Add, Get, Hit, Incr, Op, Release, Window

US = 1_000_000


class Clock:
    def __init__(self) -> None:
        self.now = 10**12

    def __call__(self) -> int:
        return self.now


def test_hit_charges_all_windows_or_none() -> None:
    store = MemoryStore(clock=Clock())
    hourly = Window("h", 100, 3600 * US, "fixed")
    tight = Window("t", 1, 60 * US, "moving")
    assert [s.allowed for s in store.run(Hit((hourly, tight)))] == [True, True]
    states = store.run(Hit((hourly, tight)))
    assert [s.allowed for s in states] == [True, False]
    assert states[0].remaining == 99  # reported, not charged
    assert states[1].retry_after == pytest.approx(60.0)
    assert store.run(Hit((hourly,)))[0].remaining == 98


def test_acquire_release_and_lease_expiry() -> None:
    clock = Clock()
    store = MemoryStore(clock=clock)
    assert store.run(Acquire("k", "a", 2, 10)).acquired
    assert store.run(Acquire("k", "b", 2, 10)).in_flight == 2
    refused = store.run(Acquire("k", "c", 2, 10))
    assert not refused.acquired
    assert refused.in_flight == 2
    assert store.run(Release("k", "a")) is True
    assert store.run(Release("k", "a")) is False  # releasing twice is harmless
    assert store.run(Acquire("k", "c", 2, 10)).acquired
    clock.now += 10 * US  # the worker holding "b" and "c" died: their leases lapse
    assert store.run(Acquire("k", "d", 2, 10)).in_flight == 1
    assert store.run(Release("k", "d")) is True
    assert len(store) == 0  # the last release removes the key


def test_incr_refreshes_its_ttl_and_get_reads_counters_and_markers() -> None:
    clock = Clock()
    store = MemoryStore(clock=clock)
    assert store.run(Incr("n", 10)) == 1
    clock.now += 9 * US
    assert store.run(Incr("n", 10)) == 2
    clock.now += 9 * US
    count = store.run(Get("n"))
    assert count is not None
    assert count.value == 2
    assert count.ttl == pytest.approx(1.0)
    clock.now += 1 * US
    assert store.run(Get("n")) is None
    assert store.run(Incr("n", 10, 0)) == 0
    store.run(Add("ban", 5))
    ban = store.run(Get("ban"))
    assert ban is not None
    assert ban.value == 1
    assert ban.ttl == pytest.approx(5.0)


def test_every_new_op_leaves_entries_that_expire() -> None:
    clock = Clock()
    store = MemoryStore(clock=clock)
    store.run(Hit((Window("f", 5, US, "fixed"), Window("s", 5, US, "sliding"))))
    store.run(Hit((Window("m", 5, US, "moving"),)))
    store.run(Acquire("c", "lease", 3, 1))
    store.run(Incr("i", 1))
    assert len(store) == 5
    clock.now += 2 * US  # sliding keys live two windows
    for key in ("f", "s", "m", "c", "i"):
        assert store.run(Get(key)) is None
    assert store.run(Hit((Window("f", 5, US, "fixed"),)))[0].remaining == 4


def test_flood_of_new_op_keys_stays_at_the_bound() -> None:
    clock = Clock()
    store = MemoryStore(max_entries=500, clock=clock)
    store.run(Incr("offender", 3600))
    for i in range(5000):
        store.run(Hit((Window(f"w{i}", 10, US, "sliding"),)))
        store.run(Acquire(f"c{i}", "x", 1, 1))
        clock.now += 1
    assert len(store) == 500
    count = store.run(Get("offender"))  # the long-lived record survived: it expires last
    assert count is not None
    assert count.value == 1


def test_hit_is_exact_under_threads() -> None:
    store = MemoryStore()
    window = Window("shared", 300, 3600 * US, "moving")
    admitted = []

    def worker() -> None:
        n = sum(store.run(Hit((window,)))[0].allowed for _ in range(100))
        admitted.append(n)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(admitted) == 300


def test_unknown_op_is_a_type_error_not_a_store_error() -> None:
    class Strange(Op[int]):
        pass

    with pytest.raises(TypeError, match="Strange") as caught:
        MemoryStore().run(Strange())
    assert not isinstance(caught.value, StoreError)  # a bug, never an outage to fail open on
