"""The Lua GCRA and the Python GCRA (`rate.gcra` through `MemoryStore`) decide alike.

Both are driven by one explicit clock: the MemoryStore takes an injected clock, the script takes
``now`` as its first argument (a test-only seam; in production it always reads Redis ``TIME``).
Times sit on a grid of about 10 s so that no bucket's real Redis TTL can run out while hypothesis
walks the fake clock: the two stores must then agree on every number of every `BucketState`.
"""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shieldware import Bucket, Take
from shieldware.stores import MemoryStore, RedisStore

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
