"""`Memo`, the one bounded cache: first in, first out, and bounded under racing threads."""

from __future__ import annotations

import threading
from collections import OrderedDict

from hypothesis import given
from hypothesis import strategies as st

from shieldware.memo import Memo


@given(st.integers(1, 8), st.lists(st.integers(0, 20), max_size=200))
def test_a_memo_is_a_fifo_of_at_most_maxsize(maxsize: int, keys: list[int]) -> None:
    memo: Memo[int, int] = Memo(maxsize)
    model: OrderedDict[int, int] = OrderedDict()
    for key in keys:
        if memo.get(key) is None:
            assert memo.put(key, key * 2) == key * 2
            model[key] = key * 2
            while len(model) > maxsize:
                model.popitem(last=False)
        assert list(memo.items()) == list(model.items())
        assert len(memo) <= maxsize


def test_racing_puts_trim_back_to_the_bound() -> None:
    memo: Memo[tuple[int, int], int] = Memo(16)
    start = threading.Barrier(8)

    def work(thread: int) -> None:
        start.wait()
        for i in range(5_000):
            memo.put((thread, i), i)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(memo) <= 16


def test_the_order_stays_bounded_when_threads_put_the_same_keys() -> None:
    memo: Memo[int, int] = Memo(16)
    start = threading.Barrier(8)

    def work() -> None:
        start.wait()
        for i in range(5_000):
            memo.put(i, i)  # every thread puts the same keys: some are met twice

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(memo) <= 16
    assert len(memo._order) <= 16 + 8 * 2  # at most a few duplicates left behind
    memo.put(10**6, 0)
    assert 10**6 in memo


def test_entries_set_without_put_are_still_evicted() -> None:
    memo: Memo[int, int] = Memo(4)
    for i in range(4):
        memo[i] = i  # plain dict assignment: not in the eviction order
    memo.put(99, 99)
    assert len(memo) == 4
    assert 0 not in memo
