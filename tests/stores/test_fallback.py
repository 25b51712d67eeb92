"""`FallbackStore`: a shared store that fails is replaced by a local one, at each worker's share.

Against real failures: a Redis URL on a port nobody listens on, and a private redis-server we kill
and restart mid-run.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import pytest

from shieldware import ConfigurationError, StoreError
from shieldware.ops import (
    Acquire,
    Add,
    Bucket,
    Get,
    GetText,
    Hit,
    Incr,
    Op,
    Release,
    SetText,
    Take,
    Window,
)
from shieldware.stores import CircuitBreaker, FallbackStore, MemoryStore, RedisStore
from tests.conftest import free_port

HOUR_US = 3_600_000_000
EVERY_OP = frozenset({Take, Add, Hit, Acquire, Release, Incr, Get, SetText, GetText})


def dead_redis() -> RedisStore:
    """A Redis nobody answers for: every op is refused at once."""
    return RedisStore(f"redis://127.0.0.1:{free_port()}/0", timeout=0.2)


def admitted(store: FallbackStore, op: Take | Hit, tries: int) -> int:
    return sum(store.run(op)[0].allowed for _ in range(tries))


class TakeOnly(MemoryStore):
    """A store that runs only `Take` (a third-party store, say)."""

    supports = frozenset({Take})


class Nope(Op[int]):
    __slots__ = ()


def test_default_fallback_is_a_bounded_memory_store() -> None:
    store = FallbackStore(dead_redis())
    assert isinstance(store.fallback, MemoryStore)
    assert store.fallback.max_entries == 10_000
    assert store.shared is True
    assert store.workers == 1
    store.close()


def test_supports_is_what_both_stores_run() -> None:
    assert FallbackStore(dead_redis()).supports == EVERY_OP
    assert FallbackStore(dead_redis(), TakeOnly()).supports == {Take}
    assert FallbackStore(TakeOnly(), MemoryStore()).supports == {Take}


@pytest.mark.parametrize("workers", [0, -1])
def test_workers_must_be_positive(workers: int) -> None:
    with pytest.raises(ConfigurationError):
        FallbackStore(MemoryStore(), workers=workers)


@pytest.mark.parametrize("workers", [1, 2, 4])
def test_a_dead_redis_is_replaced_by_each_workers_share_of_a_bucket(workers: int) -> None:
    degraded: list[StoreError] = []
    store = FallbackStore(dead_redis(), workers=workers, on_degraded=degraded.append)
    bucket = Take((Bucket("{c}:b", HOUR_US, 8),))
    assert admitted(store, bucket, 20) == 8 // workers
    assert store.degraded == len(degraded) == 20
    assert all(isinstance(e, StoreError) for e in degraded)
    store.close()


@pytest.mark.parametrize("workers", [1, 3])
def test_a_dead_redis_is_replaced_by_each_workers_share_of_a_window(workers: int) -> None:
    store = FallbackStore(dead_redis(), workers=workers)
    hit = Hit((Window("{c}:w", 9, HOUR_US, "fixed"),))
    assert admitted(store, hit, 20) == 9 // workers
    store.close()


def test_ops_without_a_share_run_unchanged_on_the_fallback() -> None:
    store = FallbackStore(dead_redis(), workers=4)
    assert store.run(Add("{c}:id", 60)) is True
    assert store.run(Add("{c}:id", 60)) is False
    assert store.run(Incr("{c}:n", 60, 3)) == 3
    assert store.run(Acquire("{c}:l", "a", 1, 60)).acquired
    store.close()


def test_async_falls_back_too() -> None:
    store = FallbackStore(dead_redis(), workers=2)
    bucket = Take((Bucket("{c}:b", HOUR_US, 4),))

    async def scenario() -> list[bool]:
        allowed = [(await store.arun(bucket))[0].allowed for _ in range(5)]
        await store.primary.aclose()  # type: ignore[attr-defined]
        return allowed

    assert asyncio.run(scenario()) == [True, True, False, False, False]
    assert store.degraded == 5
    store.close()


def test_an_unknown_op_is_a_bug_not_a_reason_to_fall_back() -> None:
    store = FallbackStore(MemoryStore())
    with pytest.raises(TypeError):
        store.run(Nope())
    assert store.degraded == 0


def test_a_failing_hook_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    def broken(exc: StoreError) -> None:
        raise RuntimeError("reporter down")

    store = FallbackStore(dead_redis(), on_degraded=broken)
    with caplog.at_level(logging.ERROR, logger="shieldware"):
        assert store.run(Add("{c}:x", 60)) is True
    assert "on_degraded hook failed" in caplog.text
    store.close()


@pytest.mark.redis
def test_a_killed_redis_falls_back_and_recovers(redis_server: Any) -> None:
    breaker = CircuitBreaker(failures=2, cooldown=0.2, quiet=0)
    store = FallbackStore(RedisStore(redis_server.url, timeout=0.2, breaker=breaker), workers=2)
    bucket = Take((Bucket("{c}:kill", HOUR_US, 6),))
    assert admitted(store, bucket, 2) == 2  # shared: Redis holds the debt
    assert store.degraded == 0
    redis_server.stop()
    assert admitted(store, bucket, 10) == 3  # local: this worker's half of 6, from full
    assert store.degraded == 10
    assert breaker.opened >= 1
    redis_server.start()  # same port, empty (no persistence): a fresh bucket
    time.sleep(0.3)  # past the breaker's cool-down: the next op is its probe, and succeeds
    before = store.degraded
    assert admitted(store, bucket, 8) == 6  # shared again, the full bucket
    assert store.degraded == before
    assert breaker.state == "closed"
    store.close()
