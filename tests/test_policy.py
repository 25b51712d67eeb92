"""Chain semantics, driven directly through both drivers (no server)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Generator
from typing import Any

import pytest

from shieldware import (
    Action,
    ConfigurationError,
    Decision,
    Facts,
    IPList,
    MemoryStore,
    Shield,
    StoreError,
    StoreOverloaded,
    Threshold,
    Verdict,
    shadowed,
)
from shieldware.layer import Progress
from shieldware.ops import Add, Bucket, LimitState, Op, Take
from shieldware.verdict import Reason

FACTS = Facts(method="GET", path="/")


class Fixed:
    """A pure layer returning a fixed verdict and counting its calls."""

    def __init__(self, name: str, action: Action = Action.PASS, weight: float = 0.0) -> None:
        self.name = name
        self.verdict = Verdict(action, f"test/{name}", "fixed", weight=weight)
        self.calls = 0

    def check(self, facts: Facts, progress: Progress) -> Verdict:
        self.calls += 1
        return self.verdict


class Seen:
    """Records the score and trail it was given."""

    name = "seen"

    def __init__(self) -> None:
        self.score: float | None = None
        self.trail: list[str] = []

    def check(self, facts: Facts, progress: Progress) -> Verdict:
        self.score = progress.score
        self.trail = [v.rule for v in progress.trail]
        return Verdict(Action.PASS, "test/seen", "seen")


class Bucketed:
    """A stateful layer: one GCRA bucket of capacity 2, refilling slowly."""

    name = "bucketed"

    def check(self, facts: Facts, progress: Progress) -> Generator[Op[Any], Any, Verdict]:
        states: tuple[LimitState, ...] = yield Take((Bucket("k", 60_000_000, 2),))
        if states[0].allowed:
            return Verdict(Action.PASS, "test/bucket", "ok")
        return Verdict(Action.THROTTLE, "test/bucket", "over", retry_after=states[0].retry_after)


class Broken:
    name = "broken"

    def check(self, facts: Facts, progress: Progress) -> Verdict:
        raise RuntimeError("bug")


class FailingStore(MemoryStore):
    def run(self, op: Any) -> Any:
        raise StoreError("down")

    async def arun(self, op: Any) -> Any:
        raise StoreError("down")


def both(shield: Shield, facts: Facts = FACTS) -> tuple[Decision, Decision]:
    return shield.decide(facts), asyncio.run(shield.adecide(facts))


def test_empty_chain_allows_by_default() -> None:
    for d in both(Shield()):
        assert d.action is Action.ALLOW
        assert d.verdict.rule == "default/allow"
        assert not d.answered
        assert d.trail == ()


def test_first_decisive_verdict_wins_and_stops_the_chain() -> None:
    first, deny, never = Fixed("a", weight=1), Fixed("b", Action.DENY), Fixed("c", Action.ALLOW)
    decision = Shield([first, deny, never]).decide(FACTS)
    assert decision.action is Action.DENY
    assert decision.verdict.rule == "test/b"
    assert [v.rule for v in decision.trail] == ["test/a", "test/b"]
    assert never.calls == 0
    assert decision.answered


def test_allow_is_decisive_and_skips_later_layers() -> None:
    deny = Fixed("deny", Action.DENY)
    decision = Shield([Fixed("ok", Action.ALLOW), deny]).decide(FACTS)
    assert decision.action is Action.ALLOW
    assert deny.calls == 0


def test_weights_add_up_and_later_layers_see_them() -> None:
    seen = Seen()
    decision = Shield([Fixed("a", weight=2), Fixed("b", weight=3.5), seen]).decide(FACTS)
    assert seen.score == 5.5
    assert seen.trail == ["test/a", "test/b"]
    assert decision.score == 5.5


def test_thresholds_pick_the_highest_reached() -> None:
    thresholds = [Threshold(5, Action.THROTTLE), Threshold(10, Action.DENY, name="bad")]
    low = Shield([Fixed("a", weight=4)], thresholds=thresholds).decide(FACTS)
    mid = Shield([Fixed("a", weight=7)], thresholds=thresholds).decide(FACTS)
    high = Shield([Fixed("a", weight=12)], thresholds=thresholds).decide(FACTS)
    assert low.action is Action.ALLOW
    assert mid.action is Action.THROTTLE
    assert mid.verdict.rule == "threshold/throttle"
    assert high.action is Action.DENY
    assert high.verdict.rule == "threshold/bad"
    assert high.trail[-1] is high.verdict


def test_threshold_must_block() -> None:
    with pytest.raises(ConfigurationError):
        Threshold(1, Action.ALLOW)


def test_challenge_threshold_needs_a_challenger() -> None:
    with pytest.raises(ConfigurationError, match="challenger"):
        Shield(thresholds=[Threshold(3, Action.CHALLENGE)])


def test_challenge_threshold_asks_the_challenger() -> None:
    class Challenging(Fixed):
        def challenge(self, facts: Facts, progress: Progress) -> Verdict:
            return Verdict(Action.CHALLENGE, "test/pow", f"score-{progress.score:g}")

    shield = Shield([Challenging("c", weight=4)], thresholds=[Threshold(3, Action.CHALLENGE)])
    for d in both(shield):
        assert d.action is Action.CHALLENGE
        assert d.verdict.reason == "score-4"


def test_shadow_mode_decides_but_never_enforces() -> None:
    shield = Shield([Fixed("d", Action.DENY)], mode="shadow")
    for d in both(shield):
        assert d.action is Action.DENY
        assert not d.enforced
        assert not d.answered


def test_shadowed_layer_is_recorded_not_counted_nor_decisive() -> None:
    decision = Shield([shadowed(Fixed("d", Action.DENY, weight=9)), Fixed("a", weight=1)]).decide(
        FACTS
    )
    assert decision.action is Action.ALLOW
    assert decision.score == 1
    assert decision.trail[0].shadow
    assert decision.trail[0].action is Action.DENY


def test_stateful_layer_through_both_drivers_shares_the_store() -> None:
    shield = Shield([Bucketed()])
    actions = [
        shield.decide(FACTS).action,
        asyncio.run(shield.adecide(FACTS)).action,
        shield.decide(FACTS).action,
    ]
    assert actions == [Action.ALLOW, Action.ALLOW, Action.THROTTLE]


def test_store_failure_fails_open_by_default(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, "shieldware")
    for d in both(Shield([Bucketed()], store=FailingStore())):
        assert d.action is Action.ALLOW
        assert d.degraded
        assert d.trail[0].reason == "store-failed-open"
    assert "store failed" in caplog.text


def test_store_failure_fails_closed_when_asked() -> None:
    for d in both(Shield([Bucketed()], store=FailingStore(), on_store_error="closed")):
        assert d.action is Action.DENY
        assert d.verdict.status == 503
        assert d.answered


def test_layer_that_catches_store_errors_decides_itself() -> None:
    class Careful:
        name = "careful"

        def check(self, facts: Facts, progress: Progress) -> Generator[Op[Any], Any, Verdict]:
            try:
                yield Take((Bucket("k", 1000, 1),))
            except StoreError:
                return Verdict(Action.THROTTLE, "test/careful", "closed-on-error", degraded=True)
            return Verdict(Action.PASS, "test/careful", "ok")

    for d in both(Shield([Careful()], store=FailingStore())):
        assert d.action is Action.THROTTLE
        assert d.verdict.reason == "closed-on-error"


def test_buggy_layer_never_escapes(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, "shieldware")
    for d in both(Shield([Broken(), Fixed("after", weight=1)])):
        assert d.action is Action.ALLOW
        assert d.trail[0].reason == "layer-failed"
        assert d.score == 1
    assert "RuntimeError" in caplog.text


def test_reporters_receive_every_decision_even_when_one_fails() -> None:
    got: list[Decision] = []

    class Bad:
        def report(self, decision: Decision, facts: Facts) -> None:
            raise ValueError("nope")

    class Good:
        def report(self, decision: Decision, facts: Facts) -> None:
            got.append(decision)

    shield = Shield([Fixed("d", Action.DENY)], mode="shadow", reporters=[Bad(), Good()])
    both(shield)
    assert len(got) == 2
    assert all(not d.enforced for d in got)


def test_invalid_configuration_reports_every_error() -> None:
    with pytest.raises(ConfigurationError) as info:
        Shield([Fixed("a"), Fixed("a"), object()], mode="loud")  # type: ignore[list-item,arg-type]
    text = str(info.value)
    assert "unique" in text
    assert "layer #2" in text
    assert "mode" in text


def test_after_ops_run_on_finish() -> None:
    store = MemoryStore()

    class Leasing:
        name = "leasing"

        def check(self, facts: Facts, progress: Progress) -> Verdict:
            from shieldware.ops import Add

            return Verdict(Action.PASS, "test/lease", "ok", after=(Add("released", 60),))

    shield = Shield([Leasing()], store=store)
    decision = shield.decide(FACTS)
    assert len(store) == 0
    shield.finish(decision)
    assert len(store) == 1
    from shieldware.ops import Add

    assert store.run(Add("released", 60)) is False


def test_explain_names_every_rule() -> None:
    decision = Shield([Fixed("a", weight=1), Fixed("b", Action.DENY)]).decide(FACTS)
    text = decision.explain()
    assert "deny by test/b" in text
    assert "test/a: pass fixed weight=1" in text


def test_shadowed_layer_headers_are_not_sent() -> None:
    class Limited:
        name = "trial"

        def check(self, facts: Facts, progress: Progress) -> Verdict:
            return Verdict(Action.THROTTLE, "trial", "over", headers=(("ratelimit", "r=0"),))

    class Counted:
        name = "counted"

        def check(self, facts: Facts, progress: Progress) -> Verdict:
            return Verdict(Action.PASS, "counted", "ok", headers=(("x-ok", "1"),))

    decision = Shield([shadowed(Limited()), Counted()]).decide(FACTS)
    assert decision.headers == (("x-ok", "1"),)
    alone = Shield([shadowed(Limited())]).decide(FACTS)
    assert alone.headers == ()
    assert alone.trail[0].headers == (("ratelimit", "r=0"),)  # still recorded for the reports


def test_close_reaches_layers_and_store() -> None:
    closed: list[str] = []

    class Closing(Fixed):
        def close(self) -> None:
            closed.append(self.name)

    class Store(MemoryStore):
        def close(self) -> None:
            closed.append("store")
            super().close()

        async def aclose(self) -> None:
            closed.append("store-async")

    shield = Shield([Closing("a"), shadowed(Closing("b")), Fixed("c")], store=Store())
    asyncio.run(shield.aclose())
    assert closed == ["store-async", "a", "b", "store"]


def test_shadow_mode_sends_no_headers() -> None:
    class Limited:
        name = "limited"

        def check(self, facts: Facts, progress: Progress) -> Verdict:
            return Verdict(Action.THROTTLE, "limited", "over", headers=(("ratelimit", "r=0"),))

    decision = Shield([Limited()], mode="shadow").decide(FACTS)
    assert decision.action is Action.THROTTLE
    assert not decision.answered
    assert decision.headers == ()
    assert decision.trail[0].headers == (("ratelimit", "r=0"),)


def test_async_driver_calls_inline_stores_directly() -> None:
    calls: list[str] = []

    class Inline(MemoryStore):
        def run(self, op: Any) -> Any:
            calls.append("run")
            return super().run(op)

        async def arun(self, op: Any) -> Any:
            calls.append("arun")
            return super().run(op)

    class Awaited(Inline):
        runs_inline = False

    for store, expected in ((Inline(), "run"), (Awaited(), "arun")):
        calls.clear()
        assert asyncio.run(Shield([Bucketed()], store=store).adecide(FACTS)).action is Action.ALLOW
        assert calls == [expected]


class OverloadedStore(MemoryStore):
    def run(self, op: Any) -> Any:
        raise StoreOverloaded("no free connection")

    async def arun(self, op: Any) -> Any:
        raise StoreOverloaded("no free connection")


class Gatekeeper(Bucketed):
    """A stateful challenger: the chain defaults its failure policy to closed."""

    name = "gatekeeper"

    def challenge(self, facts: Facts, progress: Progress) -> Verdict:
        return Verdict(Action.CHALLENGE, "test/gatekeeper", "prove-it")


def test_a_busy_store_is_shed_whatever_the_failure_policy() -> None:
    for d in both(Shield([Bucketed()], store=OverloadedStore(), on_store_error="open")):
        assert d.action is Action.DENY
        assert d.verdict.status == 503
        assert d.verdict.retry_after == 1.0
        assert d.verdict.reason == Reason.STORE_OVERLOADED


def test_a_challenger_fails_closed_unless_told_otherwise() -> None:
    for d in both(Shield([Gatekeeper()], store=FailingStore(), on_store_error="open")):
        assert d.action is Action.DENY
        assert d.verdict.reason == Reason.STORE_FAILED_CLOSED
    opened = Gatekeeper()
    opened.on_store_error = "open"  # type: ignore[attr-defined]
    for d in both(Shield([opened], store=FailingStore())):
        assert d.action is Action.ALLOW


def test_debug_re_raises_a_layers_bug() -> None:
    with pytest.raises(RuntimeError, match="bug"):
        Shield([Broken()], debug=True).decide(FACTS)


def test_a_layer_bug_follows_a_closed_policy() -> None:
    for d in both(Shield([Broken()], on_store_error="closed")):
        assert d.action is Action.DENY
        assert d.verdict.status == 503
        assert d.verdict.reason == Reason.LAYER_FAILED


def test_a_store_that_cannot_run_a_layers_ops_is_refused_at_construction() -> None:
    class TakeOnly(MemoryStore):
        supports = frozenset({Take})

    class Adding(Fixed):
        ops = frozenset({Add})

    with pytest.raises(ConfigurationError, match="Add"):
        Shield([Adding("adding")], store=TakeOnly())
    Shield([Fixed("pure")], store=TakeOnly())  # a layer with no ops needs nothing


def test_inert_layers_drop_out_and_an_empty_shield_is_inert() -> None:
    assert Shield([]).inert
    assert Shield([IPList()]).inert  # empty lists can say nothing
    assert not Shield([IPList(deny=["10.0.0.0/8"])]).inert
    assert not Shield([], reporters=[lambda d, f: None]).inert  # type: ignore[list-item]
    assert Shield([IPList(), Fixed("x")]).decide(FACTS).trail[0].rule == "test/x"


def test_an_unreadable_head_found_late_is_a_400() -> None:
    class ReadsHeaders:
        name = "reads"

        def check(self, facts: Facts, progress: Progress) -> Verdict:
            facts.header("user-agent")
            return Verdict(Action.PASS, "test/reads", "read")

    scope = {"type": "http", "method": "GET", "path": "/", "headers": [(b"user-agent", 7)]}
    for d in both(Shield([ReadsHeaders()]), Facts.from_scope(scope)):
        assert d.action is Action.DENY
        assert d.verdict.status == 400
        assert d.verdict.reason == Reason.BAD_REQUEST
