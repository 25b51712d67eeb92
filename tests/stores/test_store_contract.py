"""One contract, every store: memory, Redis (sync and async, on our own client and on redis-py)
and Redis Cluster (sync and async).

Each test runs an op through `run(op)`, the way the store under test is driven by a real adapter:
`store.run` for WSGI, `store.arun` on one event loop for ASGI.
"""

from __future__ import annotations

import asyncio
import math
import secrets
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from shieldware import ConfigurationError, StoreError
from shieldware.ops import (
    Acquire,
    Add,
    Bucket,
    Count,
    Get,
    GetText,
    Hit,
    Incr,
    LeaseState,
    Op,
    Release,
    SetText,
    Strategy,
    Take,
    Window,
)
from shieldware.stores import MemoryStore, RedisStore, Store, require_ops, store_from_url

HOUR_US = 3_600_000_000
EVERY_OP = frozenset({Take, Add, Hit, Acquire, Release, Incr, Get, SetText, GetText})


class Runner:
    """Runs an op on the store under test the way one adapter would; `store` is that store."""

    def __init__(self, store: Store, call: Callable[[Op[Any]], Any]) -> None:
        self.store = store
        self._call = call

    def __call__(self, op: Op[Any]) -> Any:
        return self._call(op)


def _sync(store: Store) -> Iterator[Runner]:
    yield Runner(store, store.run)
    store.close()


def _async(store: Store) -> Iterator[Runner]:
    loop = asyncio.new_event_loop()
    try:
        yield Runner(store, lambda op: loop.run_until_complete(store.arun(op)))
    finally:
        store.close()  # closes the asyncio client on its (idle) loop too
        loop.close()


@pytest.fixture(
    params=[
        "memory",
        *(
            pytest.param(kind, marks=pytest.mark.redis)
            for kind in (
                "redis-sync",
                "redis-async",
                "redispy-sync",
                "redispy-async",
                "cluster-sync",
                "cluster-async",
            )
        ),
    ],
)
def run(request: pytest.FixtureRequest) -> Iterator[Runner]:
    kind: str = request.param
    if kind == "memory":
        yield from _sync(MemoryStore(1000))
        return
    if kind.startswith("redis-"):
        store = store_from_url(request.getfixturevalue("redis_url"))
    elif kind.startswith("redispy"):
        store = store_from_url(request.getfixturevalue("redis_url") + "&driver=redis-py")
    else:
        url = request.getfixturevalue("redis_cluster_url")
        store = RedisStore(url, prefix=f"swtest:{secrets.token_hex(6)}:", timeout=1.0)
    yield from (_sync(store) if kind.endswith("sync") else _async(store))


def key(name: str) -> str:
    """Keys as a layer builds them: hash-tagged, so one request's buckets share a cluster slot."""
    return f"{{client-1}}:{name}"


def test_bucket_admits_its_capacity_then_rejects(run: Runner) -> None:
    bucket = Bucket(key("b"), HOUR_US, 3)
    states = [run(Take((bucket,)))[0] for _ in range(4)]
    assert [s.allowed for s in states] == [True, True, True, False]
    assert [s.remaining for s in states] == [2, 1, 0, 0]
    assert all(s.limit == 3 for s in states)
    assert states[0].retry_after == 0.0
    assert states[0].reset_after == pytest.approx(3600, abs=5)
    assert states[3].retry_after == pytest.approx(3600, abs=5)
    assert states[3].reset_after == pytest.approx(3 * 3600, abs=5)


def test_rejected_take_charges_no_bucket(run: Runner) -> None:
    wide, narrow = Bucket(key("wide"), HOUR_US, 5), Bucket(key("narrow"), HOUR_US, 1)
    first = run(Take((wide, narrow)))
    assert [s.allowed for s in first] == [True, True]
    second = run(Take((wide, narrow)))
    assert [s.allowed for s in second] == [True, False]  # wide would conform; narrow rejects
    assert second[0].remaining == 4  # ...and wide was not charged
    assert second[1].retry_after == pytest.approx(3600, abs=5)
    (third,) = run(Take((wide,)))
    assert third.allowed
    assert third.remaining == 3


def test_cost_above_capacity_never_conforms_and_charges_nothing(run: Runner) -> None:
    bucket = Bucket(key("big"), HOUR_US, 3, cost=4)
    (state,) = run(Take((bucket,)))
    assert not state.allowed
    assert math.isinf(state.retry_after)
    assert state.remaining == 3
    (state,) = run(Take((Bucket(key("big"), HOUR_US, 3),)))
    assert state.allowed
    assert state.remaining == 2


def test_cost_is_charged_in_units(run: Runner) -> None:
    def take(cost: int) -> Any:
        return run(Take((Bucket(key("cost"), HOUR_US, 10, cost=cost),)))[0]

    assert take(4).remaining == 6
    assert take(4).remaining == 2
    rejected = take(4)
    assert not rejected.allowed
    assert rejected.remaining == 2
    assert rejected.retry_after == pytest.approx(2 * 3600, abs=5)
    assert take(2).remaining == 0


def test_bucket_refills_over_time(run: Runner) -> None:
    bucket = Bucket(key("refill"), 250_000, 1)  # one unit per 250 ms
    assert run(Take((bucket,)))[0].allowed
    rejected = run(Take((bucket,)))[0]
    assert not rejected.allowed
    assert 0 < rejected.retry_after <= 0.25
    time.sleep(0.5)
    assert run(Take((bucket,)))[0].allowed


def test_buckets_are_independent_per_key(run: Runner) -> None:
    assert run(Take((Bucket(key("one"), HOUR_US, 1),)))[0].allowed
    assert run(Take((Bucket(key("two"), HOUR_US, 1),)))[0].allowed
    assert not run(Take((Bucket(key("one"), HOUR_US, 1),)))[0].allowed


@pytest.mark.parametrize("name", ["sp ace", "ünïcode", "a{b}c", "new\nline", "x" * 300])
def test_any_key_text_works(run: Runner, name: str) -> None:
    bucket = Bucket(key(name), HOUR_US, 1)
    assert run(Take((bucket,)))[0].allowed
    assert not run(Take((bucket,)))[0].allowed


def test_add_is_true_only_when_new(run: Runner) -> None:
    assert run(Add(key("id-1"), 60)) is True
    assert run(Add(key("id-1"), 60)) is False
    assert run(Add(key("id-2"), 60)) is True


def test_add_expires_after_its_ttl(run: Runner) -> None:
    assert run(Add(key("short"), 0.25)) is True
    assert run(Add(key("short"), 0.25)) is False
    time.sleep(0.5)
    assert run(Add(key("short"), 0.25)) is True


class Nope(Op[int]):
    """An op no store knows."""

    __slots__ = ()


class TakeTwo(Take):
    """A subclass of a known op is a new op: stores dispatch on the exact type."""

    __slots__ = ()


@pytest.mark.parametrize("op", [Nope(), TakeTwo((Bucket(key("sub"), HOUR_US, 1),))])
def test_an_unknown_op_is_a_type_error_never_a_store_error(run: Runner, op: Op[Any]) -> None:
    """A bug must not read as an outage (which a failure policy may answer "open")."""
    for _ in range(5):  # often enough to trip a circuit breaker, were it counted as a failure
        with pytest.raises(TypeError, match=type(op).__name__) as caught:
            run(op)
        assert not isinstance(caught.value, StoreError)
    breaker = getattr(run.store, "breaker", None)
    assert breaker is None or breaker.state == "closed"
    assert run(Add(key("after-a-bug"), 60)) is True


def test_supports_names_every_op_the_store_runs(run: Runner) -> None:
    assert run.store.supports == EVERY_OP
    require_ops(run.store, EVERY_OP, "every-op layer")  # no complaint
    with pytest.raises(ConfigurationError) as caught:
        require_ops(run.store, [Take, Nope, TakeTwo], "ratelimit/custom")
    message = str(caught.value)
    assert "Nope" in message
    assert "TakeTwo" in message
    assert "ratelimit/custom" in message
    assert type(run.store).__name__ in message
    assert "Take," not in message  # the op it does run is not listed as missing


# -- window quotas -------------------------------------------------------------------------------
@pytest.mark.parametrize("strategy", ["fixed", "sliding", "moving"])
def test_window_admits_its_limit_then_rejects(run: Runner, strategy: Strategy) -> None:
    w = Window(key(f"w-{strategy}"), 3, HOUR_US, strategy)
    states = [run(Hit((w,)))[0] for _ in range(4)]
    assert [s.allowed for s in states] == [True, True, True, False]
    assert [s.remaining for s in states] == [2, 1, 0, 0]
    assert all(s.limit == 3 for s in states)
    assert 0 < states[3].retry_after <= 2 * 3600
    if strategy != "sliding":  # sliding's answer depends on where in the aligned window we are
        assert states[3].retry_after == pytest.approx(3600, abs=5)
        assert states[0].reset_after == pytest.approx(3600, abs=5)


@pytest.mark.parametrize("strategy", ["fixed", "sliding", "moving"])
def test_rejected_hit_charges_no_window(run: Runner, strategy: Strategy) -> None:
    wide = Window(key(f"wide-{strategy}"), 5, HOUR_US, strategy)
    narrow = Window(key(f"narrow-{strategy}"), 1, HOUR_US, "fixed")
    assert [s.allowed for s in run(Hit((wide, narrow)))] == [True, True]
    second = run(Hit((wide, narrow)))
    assert [s.allowed for s in second] == [True, False]
    assert second[0].remaining == 4
    assert run(Hit((wide,)))[0].remaining == 3


@pytest.mark.parametrize("strategy", ["fixed", "sliding", "moving"])
def test_window_cost_above_limit_never_fits(run: Runner, strategy: Strategy) -> None:
    (state,) = run(Hit((Window(key(f"big-{strategy}"), 3, HOUR_US, strategy, cost=4),)))
    assert not state.allowed
    assert math.isinf(state.retry_after)
    assert state.remaining == 3


@pytest.mark.parametrize("strategy", ["fixed", "moving"])
def test_window_frees_up_after_its_length(run: Runner, strategy: Strategy) -> None:
    w = Window(key(f"short-{strategy}"), 2, 250_000, strategy, cost=2)  # 2 per 250 ms
    assert run(Hit((w,)))[0].allowed
    assert not run(Hit((w,)))[0].allowed
    time.sleep(0.5)
    assert run(Hit((w,)))[0].allowed


# -- concurrency leases --------------------------------------------------------------------------
def test_leases_up_to_the_limit(run: Runner) -> None:
    k = key("leases")
    assert run(Acquire(k, "a", 2, 60)) == LeaseState(True, 2, 1)
    assert run(Acquire(k, "b", 2, 60)) == LeaseState(True, 2, 2)
    assert run(Acquire(k, "c", 2, 60)) == LeaseState(False, 2, 2)
    assert run(Release(k, "a")) is True
    assert run(Release(k, "a")) is False
    assert run(Acquire(k, "c", 2, 60)) == LeaseState(True, 2, 2)
    assert run(Acquire(k, "c", 2, 60)) == LeaseState(True, 2, 2)  # the same lease counts once


def test_expired_leases_are_dropped(run: Runner) -> None:
    k = key("dead-worker")
    assert run(Acquire(k, "a", 1, 0.25)).acquired
    assert not run(Acquire(k, "b", 1, 0.25)).acquired
    time.sleep(0.5)
    assert run(Acquire(k, "b", 1, 60)) == LeaseState(True, 1, 1)
    assert run(Release(k, "a")) is False


def test_release_of_an_unknown_lease_is_false(run: Runner) -> None:
    assert run(Release(key("nobody"), "x")) is False


# -- counters ------------------------------------------------------------------------------------
def test_counters_count_and_read(run: Runner) -> None:
    k = key("offences")
    assert run(Get(k)) is None
    assert run(Incr(k, 60)) == 1
    assert run(Incr(k, 60, 2)) == 3
    count = run(Get(k))
    assert count is not None
    assert count.value == 3
    assert 59 < count.ttl <= 60


def test_incr_refreshes_the_life_of_a_counter(run: Runner) -> None:
    k = key("refresh")
    assert run(Incr(k, 0.25)) == 1
    assert run(Incr(k, 60, 0)) == 1  # amount 0: just outlive a ban
    time.sleep(0.5)
    count = run(Get(k))
    assert isinstance(count, Count)
    assert count.value == 1
    assert 58 < count.ttl <= 60
    assert run(Incr(key("fade"), 0.05)) == 1
    time.sleep(0.15)
    assert run(Get(key("fade"))) is None


def test_an_add_marker_reads_as_one(run: Runner) -> None:
    assert run(Add(key("ban"), 30)) is True
    count = run(Get(key("ban")))
    assert count is not None
    assert count.value == 1
    assert 29 < count.ttl <= 30


def test_get_of_a_window_or_lease_key_is_none(run: Runner) -> None:
    run(Hit((Window(key("gw"), 3, HOUR_US, "fixed"),)))
    run(Acquire(key("gl"), "a", 3, 60))
    assert run(Get(key("gw"))) is None
    assert run(Get(key("gl"))) is None


# -- text records (the under-attack switch) -------------------------------------------------------
def test_set_text_then_get_text_round_trips(run: Runner) -> None:
    assert run(GetText(key("t"))) is None
    assert run(SetText(key("t"), '{"on": true, "reason": "flood \u00e9"}')) is True
    assert run(GetText(key("t"))) == '{"on": true, "reason": "flood \u00e9"}'
    assert run(SetText(key("t"), "second")) is True  # replaces
    assert run(GetText(key("t"))) == "second"
    assert run(Get(key("t"))) is None  # a text record is not a counter


def test_set_text_with_a_ttl_expires(run: Runner) -> None:
    assert run(SetText(key("short"), "x", ttl=0.05)) is True
    assert run(GetText(key("short"))) == "x"
    if isinstance(run.store, MemoryStore):  # its clock is a seam: ten seconds later
        run.store.clock = lambda: time.monotonic_ns() // 1000 + 10_000_000
    else:
        time.sleep(0.2)
    assert run(GetText(key("short"))) is None


def test_get_text_ignores_a_counter_and_a_marker(run: Runner) -> None:
    run(Incr(key("n"), 60))
    run(Add(key("m"), 60))
    assert run(GetText(key("n"))) is None
    assert run(GetText(key("m"))) is None


def test_set_text_refuses_oversized_text_and_bad_ttls() -> None:
    with pytest.raises(ValueError):
        SetText("k", "x" * 5000)
    with pytest.raises(ValueError):
        SetText("k", "x", ttl=0)
