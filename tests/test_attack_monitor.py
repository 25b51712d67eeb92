"""The automatic trigger, on a fake clock: on within seconds of a flood, off after the calm period,
never flapping under a bursty flood, and leaving a person's flip alone."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shieldware import Action, ConfigurationError, Facts, Shield, Verdict
from shieldware.attack import AttackMonitor, AttackProfile, Trigger
from shieldware.layers import ProofOfWork, TokenBucket
from shieldware.match import path
from shieldware.stores import MemoryStore
from shieldware.verdict import Decision
from tests.conftest import SECRET

T0 = 1_800_000_000.0
FACTS = Facts("GET", "/", client_ip=ipaddress.ip_address("10.0.0.1"))
ALLOW = Decision(Verdict(Action.ALLOW, "default/allow", "x"), (), enforced=True)
_deny = Verdict(Action.DENY, "iplist", "listed", status=403)
DENY = Decision(_deny, (_deny,), enforced=True)


class Clock:
    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def make(trigger: Trigger | None = None) -> tuple[Shield, AttackMonitor, Clock]:
    clock = Clock()
    shield = Shield(
        [
            TokenBucket("100/second"),
            ProofOfWork(SECRET, match=path("/login"), clock=clock),
        ],
        store=MemoryStore(),
        attack=AttackProfile(),
    )
    assert shield.switch is not None
    shield.switch.clock = clock
    monitor = AttackMonitor(shield, trigger, clock=clock)
    return shield, monitor, clock


def second(monitor: AttackMonitor, clock: Clock, requests: int, blocked: int = 0) -> None:
    """One second of traffic: `requests` decisions, `blocked` of them refusals."""
    for i in range(requests):
        monitor.report(DENY if i < blocked else ALLOW, FACTS)
    clock.now += 1
    monitor.tick()


def active(shield: Shield) -> bool:
    assert shield.switch is not None
    return shield.switch.active


def test_a_rate_flood_turns_the_switch_on_within_seconds_and_off_after_the_calm() -> None:
    shield, monitor, clock = make(Trigger(calm_period=10))
    for _ in range(30):  # a quiet site: the baseline learns ~8 req/s
        second(monitor, clock, 8)
    assert not active(shield)
    assert 6 < monitor.baseline < 8
    took = 0
    while not active(shield):
        second(monitor, clock, 400)
        took += 1
        assert took < 10
    assert took == 3  # 3 hot seconds of the last 5
    state = shield.switch.state  # type: ignore[union-attr]
    assert state.by == "auto"
    assert "req/s vs baseline" in state.reason
    for _ in range(20):  # the flood goes on: it stays on
        second(monitor, clock, 400)
    assert active(shield)
    calm = 0
    while active(shield):
        second(monitor, clock, 8)
        calm += 1
        assert calm < 30
    assert calm == 10
    assert [on for _, on in monitor.flips] == [True, False]
    assert 6 < monitor.baseline < 9  # the flood did not teach the baseline


def test_a_refusal_share_signal_and_a_latency_signal() -> None:
    shield, monitor, clock = make(Trigger(rate_factor=None, calm_period=5))
    for _ in range(3):
        second(monitor, clock, 50, blocked=30)  # 60% refused
    assert active(shield)
    assert "refused/challenged" in shield.switch.state.reason  # type: ignore[union-attr]

    shield, monitor, clock = make(Trigger(rate_factor=None, blocked_share=None, latency=0.5))
    for _ in range(3):
        for _ in range(30):
            monitor.observe_latency(0.8)
        second(monitor, clock, 30)
    assert active(shield)
    assert "app latency 0.80 s" in shield.switch.state.reason  # type: ignore[union-attr]


def test_little_traffic_never_triggers_whatever_its_share() -> None:
    shield, monitor, clock = make()
    for _ in range(60):
        second(monitor, clock, 10, blocked=10)  # everything refused, but 10 req/s < min_rate
    assert not active(shield)


def test_a_person_flip_holds_the_monitor_back() -> None:
    shield, monitor, clock = make(Trigger(calm_period=5, hold=120))
    shield.under_attack(True, reason="manual", by="cli:ann")
    for _ in range(30):  # calm: but a person turned it on, so it stays on
        second(monitor, clock, 1)
    assert active(shield)
    shield.under_attack(False, reason="manual", by="cli:ann")
    for _ in range(60):  # a flood within the hold: left to the person
        second(monitor, clock, 500)
    assert not active(shield)
    for _ in range(61):  # the hold is over
        second(monitor, clock, 500)
    assert active(shield)


def test_a_gap_in_traffic_is_evaluated_as_calm_seconds() -> None:
    shield, monitor, clock = make(Trigger(calm_period=10))
    for _ in range(5):
        second(monitor, clock, 500)
    assert active(shield)
    clock.now += 3600  # nothing for an hour
    monitor.tick()
    assert not active(shield)


def test_bad_thresholds_fail_at_construction() -> None:
    with pytest.raises(ConfigurationError, match="hot_seconds"):
        Trigger(hot_seconds=6, window=5)
    with pytest.raises(ConfigurationError, match="signal"):
        Trigger(blocked_share=None, rate_factor=None, latency=None)
    with pytest.raises(ConfigurationError, match="attack"):
        AttackMonitor(Shield([TokenBucket("1/second")]))


def test_the_rule_is_explainable() -> None:
    _, monitor, clock = make()
    second(monitor, clock, 30, blocked=20)
    text = "\n".join(monitor.describe())
    assert "3 of the last 5 s" in text
    assert "off after 30 s calm" in text
    assert "last second: 30 req, 20 refused/challenged" in text


@settings(max_examples=150)
@given(
    data=st.data(),
    calm=st.integers(5, 30),
    base=st.integers(0, 15),
)
def test_a_bursty_flood_makes_at_most_one_on_off_cycle(
    data: st.DataObject, calm: int, base: int
) -> None:
    """Bursts of any size and length, with pauses shorter than the calm period: one flood.

    (A second below every threshold is a pause, whatever its traffic.)
    """
    shield, monitor, clock = make(Trigger(calm_period=calm))
    for _ in range(20):
        second(monitor, clock, base)
    # A burst second is a flood second: above every threshold the baseline (at most `base`) sets.
    hot = max(20, 4 * max(base, 5))
    burst = st.tuples(
        st.integers(1, 8), st.integers(0, calm - 1), st.integers(hot, 2000), st.integers(0, 100)
    )
    bursts = data.draw(st.lists(burst, min_size=1, max_size=12))
    for length, pause, rate, refused_pct in bursts:
        for _ in range(length):
            second(monitor, clock, rate, blocked=rate * refused_pct // 100)
        for _ in range(pause):
            second(monitor, clock, base)
    for _ in range(calm + 10):  # the flood is over
        second(monitor, clock, base)
    ons = [on for _, on in monitor.flips]
    assert ons in ([], [True, False])
    assert not active(shield)


def test_timed_measures_the_app_and_feeds_the_latency_signal() -> None:
    import asyncio

    shield, monitor, clock = make(Trigger(rate_factor=None, blocked_share=None, latency=0.04))

    async def slow(scope: dict[str, object], receive: object, send: object) -> None:
        await asyncio.sleep(0.05)
        await send({"type": "http.response.start", "status": 200, "headers": []})  # type: ignore[operator]
        await send({"type": "http.response.body", "body": b"ok"})  # type: ignore[operator]

    timed = monitor.timed(slow)

    async def one_second() -> None:
        async def receive() -> dict[str, object]:
            return {"type": "http.request"}

        async def send(message: object) -> None:
            pass

        await asyncio.gather(*(timed({"type": "http"}, receive, send) for _ in range(25)))
        for _ in range(25):
            monitor.report(ALLOW, FACTS)

    for _ in range(3):
        asyncio.run(one_second())
        clock.now += 1
        monitor.tick()
    assert monitor.last is not None
    assert monitor.last.latency is not None
    assert monitor.last.latency >= 0.05  # asyncio.sleep never returns early
    assert active(shield)


@pytest.mark.redis
def test_inside_an_event_loop_the_monitor_flips_a_redis_switch_without_blocking(
    redis_url: str,
) -> None:
    import asyncio

    clock = Clock()
    shield = Shield(
        [ProofOfWork(SECRET, match=path("/login"), clock=clock)],
        store=redis_url,
        attack=AttackProfile(),
    )
    assert shield.switch is not None
    shield.switch.clock = clock
    monitor = AttackMonitor(shield, Trigger(calm_period=2), clock=clock)

    async def flood_then_calm() -> list[bool]:
        seen = []
        for rate in (500, 500, 500, 0, 0, 0):
            second(monitor, clock, rate)
            for _ in range(100):  # the flip runs as a task on this loop
                if not monitor._tasks:
                    break
                await asyncio.sleep(0.01)
            seen.append(shield.switch.active)  # type: ignore[union-attr]
        await shield.aclose()
        return seen

    seen = asyncio.run(flood_then_calm())
    assert seen == [False, False, True, True, False, False]  # off after 2 calm seconds
    assert [on for _, on in monitor.flips] == [True, False]
