"""The Lua scripts and their Python references (`shieldware.rate` through `MemoryStore`) agree.

GCRA buckets, the three window strategies, leases and counters: random op sequences go to both
stores, driven by one explicit clock (the MemoryStore takes an injected clock; each script takes
``now`` as its first argument, a test-only seam: in production it always reads Redis ``TIME``).
Times sit on a grid of about 10 s so that no key's real Redis TTL can run out while hypothesis
walks the fake clock: the two stores must then agree on every number of every answer.
"""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shieldware.ops import (
    Acquire,
    Bucket,
    Count,
    Get,
    Hit,
    Incr,
    Op,
    Release,
    Strategy,
    Take,
    Window,
)
from shieldware.stores import MemoryStore, RedisStore

pytestmark = pytest.mark.redis

GRID = 10_000_019  # µs; odd on purpose, so values are not round
_examples = itertools.count()


@pytest.fixture(scope="module")
def redis_store(redis_available: None) -> Iterator[RedisStore]:
    prefix = f"swtest:{secrets.token_hex(6)}:"
    store = RedisStore("redis://127.0.0.1:6379/0", prefix=prefix, timeout=2.0)
    yield store
    store.close()


step = st.tuples(
    st.integers(0, 40),  # clock advance, in grid units
    st.sampled_from(["a", "b", "ab"]),  # which buckets the request takes
    st.integers(1, 10),  # cost
)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    start=st.integers(1_600_000_000_000_000, 1_900_000_000_000_000),
    intervals=st.tuples(st.integers(1, 20), st.integers(1, 20)),
    capacities=st.tuples(st.integers(1, 8), st.integers(1, 8)),
    steps=st.lists(step, min_size=1, max_size=30),
)
def test_lua_and_python_gcra_agree(
    redis_store: RedisStore,
    start: int,
    intervals: tuple[int, int],
    capacities: tuple[int, int],
    steps: list[tuple[int, str, int]],
) -> None:
    tag = f"{{ex{next(_examples)}}}"  # fresh keys per example, one cluster slot per example
    now = [start]
    memory = MemoryStore(100, clock=lambda: now[0])
    for advance, which, cost in steps:
        now[0] += advance * GRID
        buckets = tuple(
            Bucket(f"{tag}:{name}", intervals[i] * GRID, capacities[i], cost)
            for i, name in enumerate("ab")
            if name in which
        )
        expected = memory.run(Take(buckets))
        assert redis_store._run_at(Take(buckets), now[0]) == expected


window = st.tuples(
    st.sampled_from(["fixed", "sliding", "moving"]),
    st.integers(1, 6),  # limit
    st.integers(1, 20),  # window length, in grid units
)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    start=st.integers(1_600_000_000_000_000, 1_900_000_000_000_000),
    windows=st.tuples(window, window),
    steps=st.lists(
        st.tuples(st.integers(0, 30), st.sampled_from(["a", "b", "ab"]), st.integers(0, 7)),
        min_size=1,
        max_size=30,
    ),
)
def test_lua_and_python_windows_agree(
    redis_store: RedisStore,
    start: int,
    windows: tuple[tuple[Strategy, int, int], ...],
    steps: list[tuple[int, str, int]],
) -> None:
    tag = f"{{ex{next(_examples)}}}"
    now = [start]
    memory = MemoryStore(100, clock=lambda: now[0])
    for advance, which, cost in steps:
        now[0] += advance * GRID
        op = Hit(
            tuple(
                Window(f"{tag}:{name}", limit, size * GRID, strategy, cost)
                for (strategy, limit, size), name in zip(windows, "ab", strict=True)
                if name in which
            )
        )
        assert redis_store._run_at(op, now[0]) == memory.run(op)


lease_op = st.one_of(
    st.tuples(st.just("acquire"), st.sampled_from("abcd"), st.integers(1, 3), st.integers(1, 5)),
    st.tuples(st.just("release"), st.sampled_from("abcd"), st.just(0), st.just(0)),
    st.tuples(st.just("incr"), st.just("n"), st.integers(0, 3), st.integers(1, 5)),
    st.tuples(st.just("get"), st.just("n"), st.just(0), st.just(0)),
)


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    start=st.integers(1_600_000_000_000_000, 1_900_000_000_000_000),
    steps=st.lists(st.tuples(st.integers(0, 6), lease_op), min_size=1, max_size=30),
)
def test_lua_and_python_leases_and_counters_agree(
    redis_store: RedisStore, start: int, steps: list[tuple[int, tuple[str, str, int, int]]]
) -> None:
    tag = f"{{ex{next(_examples)}}}"
    now = [start]
    memory = MemoryStore(100, clock=lambda: now[0])
    for advance, (kind, name, number, ttl) in steps:
        now[0] += advance * GRID
        ttl_s = ttl * GRID / 1_000_000
        op: Op[Any]
        if kind == "acquire":
            op = Acquire(f"{tag}:leases", name, number, ttl_s)
        elif kind == "release":
            op = Release(f"{tag}:leases", name)
        elif kind == "incr":
            # Counters expire by Redis's own clock, which the test cannot drive: keep them alive
            # here (the contract suite checks their expiry in real time).
            op = Incr(f"{tag}:{name}", 1000 * ttl_s, number)
        else:
            op = Get(f"{tag}:{name}")
        got, expected = redis_store._run_at(op, now[0]), memory.run(op)
        if isinstance(expected, Count):
            # A Get's TTL comes from Redis's own expiry clock, which the test cannot drive.
            assert isinstance(got, Count)
            assert got.value == expected.value
        else:
            assert got == expected
