"""A healthy Redis behind an exhausted connection pool: overload, not an outage (issue 12).

Every op that finds no free connection within the (short) pool wait fails with `StoreOverloaded`,
which the chain sheds whatever its failure policy; none fails with a plain `StoreError` (which the
default policy would answer "open"), the circuit breaker is not told, and the store serves again
once the burst is over. The server is a private one we pause with ``CLIENT PAUSE``, so the two
pooled connections stay busy while fifty callers queue for them.
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import redis

from shieldware import StoreError
from shieldware.errors import StoreOverloaded
from shieldware.ops import Add, Bucket, Take
from shieldware.stores import FallbackStore, RedisStore

pytestmark = pytest.mark.redis

HOUR_US = 3_600_000_000
CALLERS = 50
#: Longer than the pool wait, shorter than the socket timeout: the two callers holding the
#: connections finish, the rest time out waiting for one.
PAUSE_MS = 600


def small_pool_store(url: str) -> RedisStore:
    return RedisStore(url, timeout=5.0, max_connections=2, pool_timeout=0.05)


def pause(url: str) -> None:
    """Hold every other client of the server for PAUSE_MS (this one gets its OK at once)."""
    with redis.Redis.from_url(url) as admin:
        admin.execute_command("CLIENT", "PAUSE", PAUSE_MS, "ALL")


def classify(outcomes: list[Any]) -> tuple[int, int, list[Any]]:
    """(answered, overloaded, anything else)."""
    answered = sum(1 for o in outcomes if isinstance(o, tuple))
    overloaded = sum(1 for o in outcomes if isinstance(o, StoreOverloaded))
    other = [o for o in outcomes if not isinstance(o, (tuple, StoreOverloaded))]
    return answered, overloaded, other


def take(i: int) -> Take:
    return Take((Bucket(f"{{c}}:{i}", HOUR_US, 10),))


def assert_shed_not_failed(store: RedisStore, outcomes: list[Any]) -> None:
    answered, overloaded, other = classify(outcomes)
    assert other == []  # no plain StoreError, nothing else either
    assert overloaded > 0
    assert answered + overloaded == CALLERS
    for error in outcomes:
        if isinstance(error, StoreOverloaded):
            assert isinstance(error, StoreError)  # still one, for callers that know no more
            assert error.original is not None
    assert store.breaker is not None
    assert store.breaker.state == "closed"  # a busy pool says nothing about the server
    assert store.breaker.opened == 0


def test_async_pool_exhaustion_is_overload_and_the_store_recovers(redis_server: Any) -> None:
    store = small_pool_store(redis_server.url)

    async def one(i: int) -> Any:
        try:
            return await store.arun(take(i))
        except StoreError as exc:
            return exc

    async def scenario() -> None:
        await asyncio.gather(one(-1), one(-2))  # both connections made before the pause
        await asyncio.to_thread(pause, redis_server.url)
        outcomes = await asyncio.gather(*(one(i) for i in range(CALLERS)))
        assert_shed_not_failed(store, list(outcomes))
        await asyncio.sleep(PAUSE_MS / 1000)
        assert (await store.arun(Add("{c}:after", 60))) is True
        await store.aclose()

    asyncio.run(scenario())
    store.close()


def sync_burst(store: RedisStore | FallbackStore, url: str) -> list[Any]:
    """CALLERS threads run one op each while the server holds the pool's two connections."""

    def one(i: int) -> Any:
        try:
            return store.run(take(i))
        except StoreError as exc:
            return exc

    with ThreadPoolExecutor(CALLERS) as pool:
        list(pool.map(one, [-1, -2]))  # both connections made before the pause
        pause(url)
        return list(pool.map(one, range(CALLERS)))


def test_sync_pool_exhaustion_is_overload_and_the_store_recovers(redis_server: Any) -> None:
    store = small_pool_store(redis_server.url)
    assert_shed_not_failed(store, sync_burst(store, redis_server.url))
    time.sleep(PAUSE_MS / 1000)
    assert store.run(Add("{c}:after", 60)) is True
    store.close()


def test_a_fallback_store_never_answers_overload_locally(redis_server: Any) -> None:
    """A busy primary is shed, not answered by the fallback: a local store knows no spent ids,
    bans or leases, and an attacker can fill the pool at will."""
    store = FallbackStore(small_pool_store(redis_server.url), workers=2)
    outcomes = sync_burst(store, redis_server.url)
    assert all(isinstance(o, (tuple, StoreOverloaded)) for o in outcomes), outcomes
    assert any(isinstance(o, StoreOverloaded) for o in outcomes)
    assert store.degraded == 0
    store.close()
