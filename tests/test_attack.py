"""The under-attack switch and its profile: flips, expiry, reports, what the attack chain does."""

from __future__ import annotations

import asyncio
import ipaddress
import json
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shieldware import Action, ConfigurationError, Facts, Shield
from shieldware.attack import (
    AttackEvent,
    AttackProfile,
    AttackState,
    is_navigation,
    parse_until,
    read_state,
)
from shieldware.attack.profile import HISTORY_PREFIX
from shieldware.errors import StoreError
from shieldware.layer import shadowed
from shieldware.layers import IPList, ProofOfWork, TokenBucket
from shieldware.layers.challenge import BASE_PATH
from shieldware.match import path
from shieldware.ops import Add, GetText, Op
from shieldware.pow import solve
from shieldware.stores import MemoryStore
from tests.conftest import SECRET
from tests.test_challenge import challenge_of

UA = "Mozilla/5.0 (X11; Linux x86_64) Chrome/126.0 Safari/537.36"
HTML = "text/html,application/xhtml+xml"
NOW = 1_800_000_000.0


class Clock:
    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Events:
    """A reporter that only listens to flips."""

    def __init__(self) -> None:
        self.events: list[AttackEvent] = []

    def report(self, decision: Any, facts: Any) -> None:
        pass

    def attack_changed(self, event: AttackEvent) -> None:
        self.events.append(event)


def facts(
    target: str = "/page",
    *,
    ip: str = "10.1.2.3",
    accept: str = HTML,
    method: str = "GET",
    headers: Iterable[tuple[str, str]] = (),
    principal: str | None = None,
    navigate: bool = True,
) -> Facts:
    p, _, q = target.partition("?")
    base = [("accept", accept), ("user-agent", UA)]
    if navigate:
        base.append(("sec-fetch-mode", "navigate"))
    return Facts(
        method,
        p,
        headers=(*base, *headers),
        client_ip=ipaddress.ip_address(ip),
        query=q,
        principal=principal,
    )


def shield_with(
    clock: Clock | None = None,
    *,
    profile: AttackProfile | None = None,
    layers: list[Any] | None = None,
    store: Any = None,
    **options: Any,
) -> Shield:
    """A small chain like the preset's, with an easy puzzle (tests solve it)."""
    clock = clock or Clock()
    options.setdefault("match", path("/login"))
    pow_layer = ProofOfWork(SECRET, count=1, bits=4, max_bits=12, clock=clock, **options)
    chain = layers if layers is not None else [TokenBucket("120/minute", burst=60), pow_layer]
    shield = Shield(
        chain,
        store=store if store is not None else MemoryStore(),
        attack=profile or AttackProfile(),
        debug=True,
    )
    assert shield.switch is not None
    shield.switch.clock = clock
    return shield


def solve_and_verify(shield: Shield, f: Facts) -> str:
    """Solve `f`'s challenge through the verify endpoint; the clearance cookie's value."""
    token, count, bits = challenge_of(shield, f)
    nonces = ",".join(str(n) for n in solve(token.split(".")[1], count, bits))
    query = f"c={token}&s={nonces}&r={quote('/page', safe='')}"
    verdict = shield.decide(facts(f"{BASE_PATH}verify?{query}", ip=str(f.client_ip))).verdict
    assert verdict.action is Action.ALLOW, verdict
    assert verdict.reply is not None
    cookie = verdict.reply.header("set-cookie")
    assert cookie is not None
    return cookie.split("=", 1)[1].split(";", 1)[0]


# -- the switch --------------------------------------------------------------------------------
def test_a_flip_changes_the_chain_at_once_and_off_restores_it() -> None:
    shield = shield_with()
    assert shield.decide(facts()).action is Action.ALLOW
    state = shield.under_attack(reason="flood from AS64500", by="test")
    assert state.on
    assert state.by == "test"
    assert state.reason == "flood from AS64500"
    decision = shield.decide(facts())
    assert decision.action is Action.CHALLENGE
    assert decision.verdict.status == 403  # the interstitial page
    shield.under_attack(False, reason="over", by="test")
    assert shield.decide(facts()).action is Action.ALLOW


def test_every_flip_is_reported_with_who_when_and_why() -> None:
    clock = Clock()
    events = Events()
    shield = shield_with(clock)
    shield.reporters = (events,)
    shield.under_attack(reason="flood", by="cli:ann", until=timedelta(minutes=5))
    clock.now += 60
    shield.under_attack(False, reason="calm", by="liveview")
    assert [(e.source, e.active, e.state.by, e.state.reason) for e in events.events] == [
        ("flip", True, "cli:ann", "flood"),
        ("flip", False, "liveview", "calm"),
    ]
    first = events.events[0].state
    assert first.at == NOW
    assert first.until == NOW + 300
    assert list(shield.switch.recent) == events.events  # type: ignore[union-attr]


def test_until_expires_by_itself_and_each_process_reports_it() -> None:
    clock = Clock()
    events = Events()
    shield = shield_with(clock)
    shield.reporters = (events,)
    shield.under_attack(until="90s", by="test")
    assert shield.decide(facts()).action is Action.CHALLENGE
    clock.now += 91
    shield.switch.due = 0  # type: ignore[union-attr]  # the refresh interval passed
    assert shield.decide(facts()).action is Action.ALLOW
    assert [e.source for e in events.events] == ["flip", "expired"]
    assert not events.events[-1].active
    assert shield.attack_status().on  # the record stays; it is simply over
    assert not shield.attack_status().active(clock.now)


def test_another_process_flip_is_observed_at_the_next_refresh() -> None:
    store = MemoryStore()
    mono = Clock(100.0)
    one, two = shield_with(store=store), shield_with(store=store)
    for s in (one, two):
        s.switch.monotonic = mono  # type: ignore[union-attr]
    events = Events()
    two.reporters = (events,)
    assert two.decide(facts()).action is Action.ALLOW  # reads the store: off
    one.under_attack(reason="flood", by="other-worker")
    assert two.decide(facts()).action is Action.ALLOW  # cached until the refresh is due
    mono.now += 0.5
    assert two.decide(facts()).action is Action.CHALLENGE
    assert [(e.source, e.state.by) for e in events.events] == [("observed", "other-worker")]


class CountingStore(MemoryStore):
    def __init__(self) -> None:
        super().__init__()
        self.reads = 0
        self.fail = False

    def run(self, op: Op[Any]) -> Any:
        if isinstance(op, GetText):
            self.reads += 1
            if self.fail:
                raise StoreError("down")
        return super().run(op)


def test_the_switch_is_read_once_per_refresh_interval_not_per_request() -> None:
    store = CountingStore()
    shield = shield_with(store=store)
    mono = Clock(100.0)
    shield.switch.monotonic = mono  # type: ignore[union-attr]
    for _ in range(500):
        shield.decide(facts(navigate=False, accept="*/*"))
    assert store.reads == 1
    mono.now += 0.5
    for _ in range(500):
        shield.decide(facts(navigate=False, accept="*/*"))
    assert store.reads == 2


def test_an_unreadable_store_keeps_the_last_known_state() -> None:
    store = CountingStore()
    shield = shield_with(store=store)
    mono = Clock(100.0)
    shield.switch.monotonic = mono  # type: ignore[union-attr]
    shield.under_attack(by="test")
    store.fail = True
    mono.now += 1
    assert shield.decide(facts()).action is Action.CHALLENGE  # still on
    assert store.reads == 1


def test_the_async_driver_follows_the_switch_too() -> None:
    shield = shield_with()

    async def main() -> list[Action]:
        before = (await shield.adecide(facts())).action
        await shield.aunder_attack(reason="flood", by="test")
        return [before, (await shield.adecide(facts())).action]

    assert asyncio.run(main()) == [Action.ALLOW, Action.CHALLENGE]


def test_a_shield_without_a_profile_has_no_switch() -> None:
    shield = Shield([IPList()])
    assert shield.switch is None
    with pytest.raises(ConfigurationError, match="attack profile"):
        shield.under_attack()


def test_the_preset_has_the_switch_and_no_monitor_unless_asked() -> None:
    plain = Shield.default(SECRET)
    assert plain.switch is not None
    assert plain.switch.monitor is None
    auto = Shield.default(SECRET, auto_attack=True)
    assert auto.switch is not None
    assert auto.switch.monitor in auto.reporters
    assert Shield.default(SECRET, attack=None).switch is None


# -- the profile -------------------------------------------------------------------------------
def test_people_with_a_clearance_notice_nothing() -> None:
    shield = shield_with()
    shield.under_attack(by="test")
    cookie = solve_and_verify(shield, facts())
    shield.under_attack(False, by="test")
    for attack in (False, True):
        shield.under_attack(attack, by="test")
        decision = shield.decide(facts(headers=[("cookie", f"sw_pow={cookie}")]))
        assert decision.action is Action.ALLOW, decision.explain()
        assert decision.verdict.status is None


def test_api_routes_need_a_clearance_or_a_principal() -> None:
    shield = shield_with()
    api = {"accept": "application/json", "navigate": False}
    assert shield.decide(facts("/api/orders", **api)).action is Action.ALLOW  # type: ignore[arg-type]
    shield.under_attack(by="test")
    decision = shield.decide(facts("/api/orders", **api))  # type: ignore[arg-type]
    assert decision.action is Action.CHALLENGE
    assert decision.verdict.status == 401
    signed_in = shield.decide(facts("/api/orders", principal="user:7", **api))  # type: ignore[arg-type]
    assert signed_in.action is Action.ALLOW
    # Not an API route, not a navigation (an image, a fetch): the normal rules.
    assert shield.decide(facts("/logo.png", accept="image/*", navigate=False)).action is (
        Action.ALLOW
    )


def test_networks_with_no_clearance_history_pay_one_bit_more() -> None:
    shield = shield_with()
    shield.under_attack(by="test")
    _, _, bits = challenge_of(shield, facts(ip="10.9.9.9"))
    assert bits == 5  # base 4, +1: nobody from 10.9.9.0/24 solved lately
    solve_and_verify(shield, facts(ip="10.9.9.9"))  # the solve is remembered
    _, _, bits = challenge_of(shield, facts(ip="10.9.9.10"))  # a neighbour, same /24
    assert bits == 4
    _, _, bits = challenge_of(shield, facts(ip="10.7.7.7"))
    assert bits == 5


def test_history_is_a_store_record_every_worker_shares() -> None:
    store = MemoryStore()
    shield = shield_with(store=store)
    shield.under_attack(by="test")
    store.run(Add(HISTORY_PREFIX + "10.4.4.0/24", 60))
    _, _, bits = challenge_of(shield_with(store=store), facts(ip="10.4.4.4"))
    assert bits == 4


def test_budgets_tighten_for_requests_without_a_clearance() -> None:
    shield = shield_with()
    asset = {"accept": "image/*", "navigate": False}

    def admitted(ip: str, cookie: str | None = None) -> int:
        extra = [("cookie", f"sw_pow={cookie}")] if cookie else []
        return sum(
            shield.decide(facts("/logo.png", ip=ip, headers=extra, **asset)).action  # type: ignore[arg-type]
            is Action.ALLOW
            for _ in range(70)
        )

    assert admitted("10.2.0.1") == 60  # the normal burst
    shield.under_attack(by="test")
    assert admitted("10.2.0.2") == 15  # a quarter of it
    cookie = solve_and_verify(shield, facts(ip="10.2.0.3"))
    # A clearance keeps the normal budget (less what its two tight requests, the challenge and
    # the answer, took: same key, four normal units each).
    assert admitted("10.2.0.3", cookie) == 60 - 2 * 4


def test_chosen_shadowed_layers_are_enforced_under_attack() -> None:
    clock = Clock()
    pow_layer = ProofOfWork(SECRET, count=1, bits=4, clock=clock, match=path("/login"))
    deny = shadowed(IPList(deny=["203.0.113.0/24"]))
    shield = shield_with(
        clock, layers=[deny, pow_layer], profile=AttackProfile(promote=("iplist",))
    )
    bad = facts("/logo.png", ip="203.0.113.5", accept="image/*", navigate=False)
    assert shield.decide(bad).action is Action.ALLOW  # shadowed: recorded, not enforced
    shield.under_attack(by="test")
    assert shield.decide(bad).action is Action.DENY


def test_profile_mistakes_fail_at_construction() -> None:
    with pytest.raises(ConfigurationError, match="budget_factor"):
        AttackProfile(budget_factor=0)
    with pytest.raises(ConfigurationError, match="promote"):
        shield_with(profile=AttackProfile(promote=("nope",)))
    with pytest.raises(ConfigurationError, match="ProofOfWork"):
        Shield([IPList()], attack=AttackProfile())
    # Without navigation or API gating, no proof-of-work layer is needed.
    Shield([TokenBucket("10/second")], attack=AttackProfile(navigation=False, api=None))


@pytest.mark.parametrize(
    ("headers", "method", "expected"),
    [
        ((("sec-fetch-mode", "navigate"),), "GET", True),
        ((("sec-fetch-mode", "navigate"),), "POST", True),
        ((("sec-fetch-mode", "cors"), ("accept", HTML)), "GET", False),
        ((("accept", HTML),), "GET", True),
        ((("accept", HTML),), "POST", False),
        ((("accept", "*/*"),), "GET", False),
        ((), "GET", False),
    ],
)
def test_what_counts_as_a_navigation(
    headers: tuple[tuple[str, str], ...], method: str, expected: bool
) -> None:
    f = Facts(method, "/", headers=headers, client_ip=ipaddress.ip_address("10.0.0.1"))
    assert is_navigation(f) is expected


# -- the record --------------------------------------------------------------------------------
@given(st.text(max_size=300))
def test_a_record_never_raises_on_garbage(text: str) -> None:
    state = AttackState.from_text(text)
    assert state is None or isinstance(state, AttackState)


@given(
    st.booleans(),
    st.text(max_size=200),
    st.text(max_size=80),
    st.floats(0, 4e9),
    st.none() | st.floats(0, 4e9),
)
def test_a_record_round_trips(
    on: bool, reason: str, by: str, at: float, until: float | None
) -> None:
    state = AttackState(on, reason, by, at, until)
    assert AttackState.from_text(state.to_text()) == state


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("90s", NOW + 90),
        ("15m", NOW + 900),
        ("2h", NOW + 7200),
        ("1d", NOW + 86400),
        (timedelta(minutes=1), NOW + 60),
        (NOW + 5, NOW + 5),
        (datetime.fromtimestamp(NOW + 30, tz=timezone.utc), NOW + 30),
        (datetime.fromtimestamp(NOW + 30, tz=timezone.utc).isoformat(), NOW + 30),
        (None, None),
    ],
)
def test_until_spellings(value: Any, expected: float | None) -> None:
    assert parse_until(value, NOW) == expected


@pytest.mark.parametrize("value", ["soon", "-5m", "0s", NOW - 1, "2020-01-01T00:00:00", "5x", ""])
def test_until_refuses_nonsense_and_the_past(value: Any) -> None:
    with pytest.raises(ValueError):
        parse_until(value, NOW)


def test_a_store_nobody_flipped_reads_off() -> None:
    assert not read_state(MemoryStore()).on


def test_the_switch_off_benchmark_runs() -> None:
    """A smoke run of ``python -m benchmarks.bench_attack`` (the figures are never judged here)."""
    from benchmarks import bench_attack

    result = bench_attack.run(rounds=2, reps=1)
    assert set(result) == {"noop", "default"}
    assert all(result[case][driver]["ratio"] > 0 for case in result for driver in ("sync", "async"))


# -- reporters ---------------------------------------------------------------------------------
def test_flips_reach_the_metrics_and_the_log(caplog: pytest.LogCaptureFixture) -> None:
    from shieldware.report import LoggingReporter, PrometheusReporter

    clock = Clock()
    metrics = PrometheusReporter()
    shield = shield_with(clock)
    shield.reporters = (metrics, LoggingReporter(json=True))
    with caplog.at_level("WARNING", logger="shieldware.decision"):
        shield.under_attack(reason="flood\nforged line", by="cli:ann", until="10m")
    text = metrics.exposition().decode()
    assert "shieldware_under_attack 1.0" in text
    assert 'shieldware_attack_flips_total{active="true",source="flip"} 1.0' in text
    records = [r for r in caplog.records if r.name == "shieldware.decision"]
    assert len(records) == 1
    fields = json.loads(records[0].getMessage())
    assert fields["event"] == "under-attack"
    assert fields["by"] == "cli:ann"
    assert fields["reason"] == "flood\nforged line"  # JSON-escaped: still one line
    assert "\n" not in records[0].getMessage()
    clock.now += 601
    shield.switch.due = 0  # type: ignore[union-attr]
    shield.decide(facts())
    text = metrics.exposition().decode()
    assert "shieldware_under_attack 0.0" in text
    assert 'shieldware_attack_flips_total{active="false",source="expired"} 1.0' in text


def test_a_store_without_the_switch_ops_is_refused_with_a_way_out() -> None:
    class TakeOnly(MemoryStore):
        supports = frozenset(MemoryStore.supports - {GetText})

    with pytest.raises(ConfigurationError, match=r"GetText.*attack=None"):
        Shield.default(SECRET, store=TakeOnly())
    assert Shield.default(SECRET, store=TakeOnly(), attack=None).switch is None


def test_the_default_chain_under_attack_challenges_pages_and_keeps_account_actions() -> None:
    # The preset's proof of work covers account posts only (pages are free); under attack its
    # twin covers every navigation, and an account post still needs a proof of its own.
    shield = Shield.default(SECRET)
    from tests.fingerprint.helpers import CHROME_NAV

    head = CHROME_NAV  # a person's browser: its pages are free while the switch is off
    client = ipaddress.ip_address("192.0.2.7")

    def decide(method: str, path: str) -> Any:
        return shield.decide(Facts(method, path, head, client_ip=client))

    assert decide("GET", "/login").action is Action.ALLOW  # off: the page is free
    shield.under_attack(True, reason="test")
    for page in ("/", "/login", "/pricing"):
        assert decide("GET", page).action is Action.CHALLENGE, page
    post = decide("POST", "/signup")
    assert post.action is Action.CHALLENGE
    assert post.verdict.rule.startswith("pow")
