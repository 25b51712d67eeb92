"""The penalty box: strikes, growing bans, decay, local refusals, escalation to a challenge."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest

from shieldware import (
    Action,
    ConfigurationError,
    Facts,
    MemoryStore,
    PenaltyBox,
    Shield,
    StoreError,
    TokenBucket,
    Verdict,
)
from shieldware.layer import Progress
from shieldware.ops import Op
from shieldware.verdict import Reply

US = 1_000_000


class Clock:
    def __init__(self) -> None:
        self.now = 10**12

    def __call__(self) -> int:
        return self.now


class CountingStore(MemoryStore):
    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.ops: list[Op[Any]] = []
        self.down = False

    def run(self, op: Op[Any]) -> Any:
        self.ops.append(op)
        if self.down:
            raise StoreError("down")
        return super().run(op)


def req(ip: str = "203.0.113.7") -> Facts:
    return Facts("GET", "/", client_ip=ipaddress.ip_address(ip))


def setup(**kw: Any) -> tuple[Shield, Clock, CountingStore]:
    clock = Clock()
    store = CountingStore(clock=clock)
    bucket = TokenBucket("1/second", burst=1, jitter=0, local_cache=0)
    box = PenaltyBox(bucket, strikes=2, ban=10, growth=3, max_ban=100, decay=50, **kw)
    return Shield([box], store=store), clock, store


def test_repeated_refusals_earn_a_ban_that_grows_then_caps() -> None:
    s, clock, _ = setup(local_cache=0)
    assert s.decide(req()).action is Action.ALLOW
    first = s.decide(req())  # strike 1: an ordinary 429
    assert first.verdict.rule == "ratelimit"
    assert first.verdict.retry_after == 1.0
    banned = s.decide(req())  # strike 2: banned for 10 s
    assert banned.verdict.rule == "penalty/banned"
    assert banned.verdict.retry_after == 10
    clock.now += 5 * US
    still = s.decide(req())
    assert still.verdict.reason == "penalty-box"
    assert still.verdict.retry_after == 5
    clock.now += 5 * US  # ban over; the record remains: the next strike costs 30 s, then 90, 100
    waits = []
    for _ in range(4):
        d = s.decide(req())
        while d.verdict.rule != "penalty/banned":
            d = s.decide(req())
        waits.append(d.verdict.retry_after)
        clock.now += int(d.verdict.retry_after or 0) * US
    assert waits == [30, 90, 100, 100]
    assert s.decide(req("198.51.100.1")).action is Action.ALLOW  # others are unaffected


def test_good_behaviour_decays_the_record() -> None:
    s, clock, _ = setup(local_cache=0)
    for _ in range(3):
        s.decide(req())  # allowed, strike, ban (10 s)
    clock.now += (10 + 50) * US  # the ban, then `decay` seconds of quiet
    s.decide(req())
    s.decide(req())
    assert s.decide(req()).verdict.retry_after == 10  # back to the base ban


def test_a_ban_is_refused_locally_without_store_ops() -> None:
    s, _, store = setup()
    for _ in range(3):
        s.decide(req())
    before = len(store.ops)
    for _ in range(20):
        d = s.decide(req())
        assert d.verdict.rule == "penalty/banned"
        assert d.verdict.detail["local"] is True
    assert len(store.ops) == before


def test_bans_are_shared_through_the_store() -> None:
    # Two processes (two Shields) on one store: a ban issued by one is honoured by the other.
    s, _, store = setup(local_cache=0)
    other = Shield([PenaltyBox(TokenBucket("100/second"), strikes=2, ban=10)], store=store)
    for _ in range(3):
        s.decide(req())
    assert other.decide(req()).verdict.rule == "penalty/banned"


class FakeChallenger:
    name = "pow"

    def __init__(self) -> None:
        self.asked = 0

    def check(self, facts: Facts, progress: Progress) -> Verdict:
        return Verdict(Action.PASS, "pow", "not-needed")

    def challenge(self, facts: Facts, progress: Progress) -> Verdict:
        self.asked += 1
        return Verdict(Action.CHALLENGE, "pow/challenge", "challenge-issued", reply=Reply(403))


def test_escalation_to_a_challenge_before_the_ban() -> None:
    challenger = FakeChallenger()
    s, _, _ = setup(on_limit="challenge", challenger=challenger, local_cache=0)
    s.decide(req())
    d = s.decide(req())
    assert d.action is Action.CHALLENGE
    assert d.verdict.rule == "pow/challenge"
    assert challenger.asked == 1
    assert s.decide(req()).verdict.rule == "penalty/banned"  # still refusing after: ban


def test_challenge_without_a_challenger_throttles(caplog: pytest.LogCaptureFixture) -> None:
    s, _, _ = setup(on_limit="challenge", local_cache=0)
    assert "no challenger" in caplog.text
    s.decide(req())
    d = s.decide(req())
    assert d.action is Action.THROTTLE
    assert d.verdict.status == 429
    with pytest.raises(ConfigurationError):
        PenaltyBox(TokenBucket("1/second"), on_limit="captcha")


def test_store_failure_lets_the_wrapped_layer_decide() -> None:
    s, _, store = setup()
    store.down = True
    d = s.decide(req())
    assert d.action is Action.ALLOW
    assert d.degraded


def test_ban_arithmetic_never_overflows() -> None:
    box = PenaltyBox(TokenBucket("1/second"), strikes=1, ban=1, growth=10, max_ban=3600)
    assert box.ban_for(0) == 0
    assert box.ban_for(1) == 1
    assert box.ban_for(2) == 10
    assert box.ban_for(10**9) == 3600
