"""TokenBucket and RateLimit as layers: verdicts, headers, several buckets, failure policies."""

from __future__ import annotations

import ipaddress
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shieldware import (
    GLOBAL,
    Action,
    ConfigurationError,
    Facts,
    FallbackStore,
    MemoryStore,
    RateLimit,
    Shield,
    StoreError,
    TokenBucket,
    by_ip,
    by_principal,
    by_route,
)
from shieldware.match import path
from shieldware.ops import Op, Take
from shieldware.verdict import Reason


class Clock:
    def __init__(self) -> None:
        self.now = 10**12

    def __call__(self) -> int:
        return self.now


class CountingStore(MemoryStore):
    """A memory store that counts ops and can be switched off."""

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.ops: list[Op[Any]] = []
        self.down = False

    def run(self, op: Op[Any]) -> Any:
        self.ops.append(op)
        if self.down:
            raise StoreError("down")
        return super().run(op)


def req(ip: str = "203.0.113.7", path_: str = "/", **kw: Any) -> Facts:
    return Facts("GET", path_, client_ip=ipaddress.ip_address(ip), **kw)


def shield(*layers: Any, store: Any = None, **options: Any) -> Shield:
    store = store if store is not None else MemoryStore(clock=Clock())
    return Shield(layers, store=store, **options)


def test_burst_then_throttle_with_retry_after_and_headers() -> None:
    s = shield(TokenBucket("60/minute", burst=3, jitter=0))
    decisions = [s.decide(req()) for _ in range(4)]
    assert [d.action for d in decisions] == [Action.ALLOW] * 3 + [Action.THROTTLE]
    refused = decisions[-1].verdict
    assert refused.rule == "ratelimit"
    assert refused.reason == "rate-limited"
    assert refused.status == 429
    assert refused.retry_after == 1.0
    assert dict(decisions[0].headers)["ratelimit"] == '"ratelimit";r=2;t=1'
    assert dict(refused.headers)["ratelimit"] == '"ratelimit";r=0;t=1'
    assert dict(refused.headers)["ratelimit-policy"] == '"ratelimit";q=60;w=60;sw-burst=3'


def test_two_clients_have_two_buckets_but_an_ipv6_64_has_one() -> None:
    s = shield(TokenBucket("1/minute", burst=1))
    assert s.decide(req("203.0.113.7")).action is Action.ALLOW
    assert s.decide(req("203.0.113.8")).action is Action.ALLOW
    assert s.decide(req("203.0.113.7")).action is Action.THROTTLE
    assert s.decide(req("2001:db8::1")).action is Action.ALLOW
    assert s.decide(req("2001:db8::ffff")).action is Action.THROTTLE


def test_retry_after_is_never_earlier_than_the_bucket_allows_and_jitter_is_small() -> None:
    layer = TokenBucket("1/minute", burst=1, jitter=0.1, local_cache=0)
    s = shield(layer)
    s.decide(req())
    waits = {s.decide(req()).verdict.retry_after for _ in range(200)}
    assert all(w is not None and 60 <= w <= 66 for w in waits)
    assert len(waits) > 1  # jittered, so refused clients do not return as one herd


def test_a_rejected_take_charges_no_bucket() -> None:
    store = MemoryStore(clock=Clock())
    layer = RateLimit(
        [
            TokenBucket("100/minute", burst=100, key=GLOBAL, name="global"),
            TokenBucket("1/minute", burst=2, name="per-ip"),
        ],
        jitter=0,
    )
    s = shield(layer, store=store)
    for _ in range(2):
        assert s.decide(req()).action is Action.ALLOW
    for _ in range(5):
        d = s.decide(req())
        assert d.action is Action.THROTTLE
        assert d.verdict.rule == "ratelimit/per-ip"
    # the global bucket was charged twice, not seven times
    d = s.decide(req("198.51.100.1"))
    assert d.action is Action.ALLOW
    assert '"global";r=97' in dict(d.headers)["ratelimit"]


def test_rules_with_match_cost_and_keys_that_do_not_apply() -> None:
    layer = RateLimit(
        [
            TokenBucket("10/minute", burst=5, match=path("/login"), name="login"),
            TokenBucket("10/minute", burst=10, key=by_principal, name="user"),
            TokenBucket(
                "10/minute",
                burst=4,
                key=by_ip + by_route,
                cost=lambda f: 2 if f.path.startswith("/search") else 0,
                name="search",
            ),
        ],
        jitter=0,
    )
    s = shield(layer)
    d = s.decide(req(path_="/home"))
    assert d.headers == ()
    assert d.action is Action.ALLOW
    d = s.decide(req(path_="/login"))
    assert dict(d.headers)["ratelimit"] == '"login";r=4;t=6'
    d = s.decide(req(path_="/login", principal="alice"))
    assert dict(d.headers)["ratelimit"].startswith('"login";r=3;t=6, "user";r=9')
    assert s.decide(req(path_="/search/1")).action is Action.ALLOW
    assert s.decide(req(path_="/search/2")).action is Action.ALLOW
    assert s.decide(req(path_="/search/3")).action is Action.THROTTLE  # cost 2, burst 4


def test_cost_above_burst_is_refused_without_retry_after() -> None:
    with pytest.raises(ConfigurationError):
        TokenBucket("10/minute", burst=2, cost=3)
    s = shield(TokenBucket("10/minute", burst=2, cost=lambda f: 3))
    d = s.decide(req())
    assert d.action is Action.THROTTLE
    assert d.verdict.reason == "cost-exceeds-limit"
    assert d.verdict.retry_after is None


def test_local_over_limit_cache_refuses_without_a_store_op() -> None:
    clock = Clock()
    store = CountingStore(clock=clock)
    s = shield(TokenBucket("1/minute", burst=1, jitter=0), store=store)
    s.decide(req())
    s.decide(req())  # refused by the store: the key is now known blocked for ~60 s
    before = len(store.ops)
    for _ in range(50):
        d = s.decide(req())
        assert d.action is Action.THROTTLE
        assert d.verdict.reason == "rate-limited-locally"
        assert d.verdict.retry_after is not None
        assert 59 <= d.verdict.retry_after <= 60
    assert len(store.ops) == before
    assert s.decide(req("198.51.100.9")).action is Action.ALLOW  # other keys still ask the store
    assert len(store.ops) == before + 1


@pytest.mark.parametrize(
    ("policy", "action", "reason"),
    [
        ("open", Action.ALLOW, Reason.STORE_FAILED_OPEN),
        ("closed", Action.DENY, Reason.STORE_FAILED_CLOSED),
    ],
)
def test_failure_policies(policy: str, action: Action, reason: str) -> None:
    store = CountingStore(clock=Clock())
    store.down = True
    s = shield(TokenBucket("1/minute", burst=2, on_store_error=policy), store=store)
    d = s.decide(req())
    assert d.action is action
    assert d.trail[0].reason == reason
    assert d.degraded
    if policy == "closed":
        assert d.verdict.status == 503


def test_layers_inherit_the_shields_failure_policy() -> None:
    store = CountingStore(clock=Clock())
    store.down = True
    closed = shield(TokenBucket("1/minute"), store=store, on_store_error="closed")
    assert closed.decide(req()).verdict.reason == Reason.STORE_FAILED_CLOSED
    assert closed.decide(req()).verdict.status == 503
    # a layer's own policy wins over the Shield's
    own = shield(
        TokenBucket("1/minute", on_store_error="open"), store=store, on_store_error="closed"
    )
    assert own.decide(req()).action is Action.ALLOW


def test_local_fallback_is_a_store_concern() -> None:
    with pytest.raises(ConfigurationError, match="FallbackStore"):
        TokenBucket("1/minute", on_store_error="local")
    store = CountingStore(clock=Clock())
    store.down = True
    fallback = FallbackStore(store, workers=2)
    s = shield(TokenBucket("10/minute", burst=4), store=fallback)
    decisions = [s.decide(req()) for _ in range(4)]
    # half the burst each for two workers: 2 admitted, then refused locally
    assert [d.action for d in decisions] == [Action.ALLOW] * 2 + [Action.THROTTLE] * 2
    assert fallback.degraded == 3  # two admitted, one refused; the fourth is refused locally
    assert decisions[2].verdict.retry_after is not None
    assert decisions[2].verdict.retry_after >= 12  # the local rate is halved: 1 per 12 s


def test_async_driver_gives_the_same_answers() -> None:
    import asyncio

    s = shield(TokenBucket("1/minute", burst=2))

    async def run() -> list[Action]:
        return [(await s.adecide(req())).action for _ in range(3)]

    assert asyncio.run(run()) == [Action.ALLOW, Action.ALLOW, Action.THROTTLE]


def test_legacy_headers_on_request_and_none() -> None:
    s = shield(TokenBucket("60/minute", burst=10, headers="legacy"))
    assert dict(s.decide(req()).headers) == {
        "x-ratelimit-limit": "60",
        "x-ratelimit-remaining": "9",
        "x-ratelimit-reset": "1",
    }
    assert shield(TokenBucket("60/minute", headers="none")).decide(req()).headers == ()


def test_configuration_errors() -> None:
    with pytest.raises(ConfigurationError):
        TokenBucket("lots")
    with pytest.raises(ConfigurationError):
        TokenBucket("1/minute", burst=0)
    with pytest.raises(ConfigurationError):
        RateLimit([TokenBucket("1/minute", name="a"), TokenBucket("2/minute", name="a")])
    with pytest.raises(ConfigurationError):
        RateLimit([])
    with pytest.raises(ConfigurationError):
        TokenBucket("1/minute", on_store_error="maybe")
    with pytest.raises(ConfigurationError):
        TokenBucket("1/minute", headers="draft-99")


def test_window_equivalent_default_and_the_t_header_counts_to_the_next_unit() -> None:
    layer = TokenBucket("100/minute", jitter=0)
    assert layer.burst == 100
    s = shield(layer)
    d = s.decide(req())
    item = dict(d.headers)["ratelimit"]
    assert item == '"ratelimit";r=99;t=1'  # 0.6 s rounded up
    assert math.isclose(layer.rate.interval_us, 600_000)


def test_take_ops_carry_hash_tagged_keys_sharing_one_slot() -> None:
    store = CountingStore(clock=Clock())
    layer = RateLimit(
        [
            TokenBucket("10/minute", name="a"),
            TokenBucket("5/minute", key=by_ip + by_route, name="b"),
        ]
    )
    shield(layer, store=store).decide(req(path_="/x"))
    (op,) = store.ops
    assert isinstance(op, Take)
    tags = {b.key.split(":")[1] for b in op.buckets}
    assert len(tags) == 1
    assert len(op.buckets) == 2
    assert by_ip is layer.rules[0].key


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 8),
    st.sampled_from(["1/second", "30/minute", "7/hour"]),
    st.lists(st.integers(0, 3 * 10**6), min_size=1, max_size=60),
)
def test_through_the_layer_retry_after_honoured_means_success(
    burst: int, rate: str, gaps: list[int]
) -> None:
    clock = Clock()
    s = shield(TokenBucket(rate, burst=burst, local_cache=0), store=MemoryStore(clock=clock))
    for gap in gaps:
        clock.now += gap
        d = s.decide(req())
        if d.action is Action.THROTTLE:
            retry = d.verdict.retry_after
            assert retry is not None
            header = dict(d.headers)["ratelimit"]
            assert header.endswith(f";t={int(retry)}")  # t equals Retry-After on a refusal
            clock.now += int(retry * 10**6)
            assert s.decide(req()).action is Action.ALLOW
