"""Redis stops mid-run and comes back: no exception, no hang, the failure policy holds, and
service recovers without a restart. Runs against a private redis-server we can kill."""

from __future__ import annotations

import asyncio
import ipaddress
import time
from collections.abc import Generator
from typing import Any

import pytest

from shieldware import Action, Facts, Shield, StoreError, Verdict
from shieldware.layer import Progress
from shieldware.ops import Bucket, Op, Take
from shieldware.stores import CircuitBreaker, CircuitOpen, FallbackStore, MemoryStore, RedisStore
from shieldware.verdict import Reason

pytestmark = pytest.mark.redis

HOUR_US = 3_600_000_000
FACTS = Facts("GET", "/", client_ip=ipaddress.ip_address("192.0.2.1"))
#: Generous: one decision against a dead server must end within its timeout, not seconds later.
NO_HANG = 1.0


class Limit:
    """A minimal token-bucket layer (the real one lives in layers/ratelimit.py)."""

    name = "test/limit"

    def __init__(self, capacity: int) -> None:
        self.bucket = Bucket("{192.0.2.1}:limit", HOUR_US, capacity)

    def check(self, facts: Facts, progress: Progress) -> Generator[Op[Any], Any, Verdict]:
        (state,) = yield Take((self.bucket,))
        if state.allowed:
            return Verdict(Action.PASS, self.name, "conforms")
        return Verdict(Action.THROTTLE, self.name, "over-limit", status=429)


def outage_store(url: str, quiet: float = 0.1) -> RedisStore:
    breaker = CircuitBreaker(failures=2, cooldown=0.3, quiet=quiet)
    return RedisStore(url, timeout=0.2, breaker=breaker)


def timed(fn: Any) -> tuple[Any, float]:
    start = time.monotonic()
    result = fn()
    return result, time.monotonic() - start


@pytest.mark.parametrize("policy", ["open", "closed"])
def test_sync_decisions_survive_an_outage(redis_server: Any, policy: Any) -> None:
    store = outage_store(redis_server.url)
    shield = Shield([Limit(3)], store=store, on_store_error=policy)
    actions = [shield.decide(FACTS).action for _ in range(4)]
    assert actions == [Action.ALLOW, Action.ALLOW, Action.ALLOW, Action.THROTTLE]

    redis_server.stop()
    for _ in range(10):
        time.sleep(0.03)  # the breaker waits for a quiet spell with no success before opening
        decision, elapsed = timed(lambda: shield.decide(FACTS))
        assert elapsed < NO_HANG
        assert decision.degraded
        if policy == "open":
            assert decision.action is Action.ALLOW
            assert decision.trail[0].reason == Reason.STORE_FAILED_OPEN
        else:
            assert decision.action is Action.DENY
            assert decision.verdict.status == 503
    assert store.breaker is not None
    assert store.breaker.opened >= 1  # the later calls never touched a socket

    redis_server.start()  # same port, empty data
    deadline = time.monotonic() + 5
    while shield.decide(FACTS).degraded:
        assert time.monotonic() < deadline, "service did not recover"
        time.sleep(0.05)
    assert shield.decide(FACTS).action is Action.ALLOW
    store.close()


def test_async_decisions_survive_an_outage(redis_server: Any) -> None:
    store = outage_store(redis_server.url)
    shield = Shield([Limit(2)], store=store, on_store_error="open")

    async def scenario() -> None:
        actions = [(await shield.adecide(FACTS)).action for _ in range(3)]
        assert actions == [Action.ALLOW, Action.ALLOW, Action.THROTTLE]
        redis_server.stop()
        for _ in range(10):
            start = time.monotonic()
            decision = await shield.adecide(FACTS)
            assert time.monotonic() - start < NO_HANG
            assert decision.degraded
            assert decision.action is Action.ALLOW
        redis_server.start()
        deadline = time.monotonic() + 5
        while (await shield.adecide(FACTS)).degraded:
            assert time.monotonic() < deadline, "service did not recover"
            await asyncio.sleep(0.05)
        await store.aclose()

    asyncio.run(scenario())
    store.close()


def test_open_circuit_fails_without_touching_the_network(redis_server: Any) -> None:
    store = outage_store(redis_server.url, quiet=0)
    take = Take((Bucket("k", HOUR_US, 5),))
    store.run(take)
    redis_server.stop()
    for _ in range(2):
        with pytest.raises(StoreError) as caught:
            store.run(take)
        assert not isinstance(caught.value, CircuitOpen)
        assert caught.value.original is not None
    with pytest.raises(CircuitOpen):
        store.run(take)
    store.close()


def test_a_server_that_never_was_fails_fast() -> None:
    store = RedisStore("redis://127.0.0.1:9/0", timeout=0.05, breaker=False)  # discard port
    start = time.monotonic()
    with pytest.raises(StoreError):
        store.run(Take((Bucket("k", 1, 1),)))
    assert time.monotonic() - start < NO_HANG


def test_fallback_store_keeps_limits_locally_during_an_outage(redis_server: Any) -> None:
    degraded: list[StoreError] = []
    primary = outage_store(redis_server.url)
    store = FallbackStore(primary, MemoryStore(100), on_degraded=degraded.append)
    shield = Shield([Limit(2)], store=store)
    assert shield.decide(FACTS).action is Action.ALLOW
    redis_server.stop()
    actions = [shield.decide(FACTS).action for _ in range(3)]
    assert actions == [Action.ALLOW, Action.ALLOW, Action.THROTTLE]  # a local bucket now
    assert store.degraded == 3
    assert len(degraded) == 3
    store.close()


@pytest.mark.parametrize(
    "url", ["redis+cluster://127.0.0.1:9,127.0.0.1:11", "redis+sentinel://127.0.0.1:9/main"]
)
def test_unreachable_cluster_or_sentinel_fails_fast_sync_and_async(url: str) -> None:
    store = RedisStore(url, timeout=0.05, breaker=False, pool_timeout=1.0)
    take = Take((Bucket("{c}:k", 1, 1),))
    start = time.monotonic()
    with pytest.raises(StoreError):
        store.run(take)

    async def go() -> None:
        with pytest.raises(StoreError):
            await store.arun(take)
        await store.aclose()

    asyncio.run(go())
    assert time.monotonic() - start < 2 * NO_HANG
    store.close()
