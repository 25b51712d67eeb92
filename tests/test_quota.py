"""Window quotas: the pure arithmetic (properties) and the `Quota` layer."""

from __future__ import annotations

import ipaddress
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shieldware import Action, ConfigurationError, Facts, MemoryStore, Quota, Shield
from shieldware.ops import Window
from shieldware.rate import fixed_window, moving_window, sliding_window, window

US = 1_000_000

strategies_ = st.sampled_from(["fixed", "sliding", "moving"])
windows = st.builds(
    Window,
    key=st.just("k"),
    limit=st.integers(1, 12),
    window_us=st.integers(1_000, 10 * US),
    strategy=strategies_,
    cost=st.integers(1, 3),
)
gaps = st.lists(st.integers(0, 4 * US), min_size=1, max_size=80)


def run(w: Window, deltas: list[int], start: int = 10**12) -> list[tuple[int, bool, Any]]:
    state: Any = None
    now, out = start, []
    for d in deltas:
        now += d
        stored, result = window(state, now, w)
        if result.allowed:
            state = stored[0] if stored else state
        else:
            assert stored is None
        out.append((now, result.allowed, result))
    return out


@settings(max_examples=150)
@given(windows, gaps, st.integers(0, 10**15))
def test_honouring_retry_after_succeeds_and_one_microsecond_earlier_does_not(
    w: Window, deltas: list[int], start: int
) -> None:
    state: Any = None
    now = start
    for d in deltas:
        now += d
        stored, result = window(state, now, w)
        if result.allowed:
            state = stored[0] if stored else state
            assert result.retry_after == 0
            continue
        if w.cost > w.limit:
            assert math.isinf(result.retry_after)
            continue
        wait = round(result.retry_after * US)
        assert wait >= 1
        assert window(state, now + wait, w)[1].allowed
        assert not window(state, now + wait - 1, w)[1].allowed


@settings(max_examples=150)
@given(windows.filter(lambda w: w.strategy == "moving"), gaps)
def test_moving_window_never_admits_more_than_limit_in_any_window(
    w: Window, deltas: list[int]
) -> None:
    admitted = [now for now, ok, _ in run(w, deltas) for _ in range(w.cost) if ok]
    for t in admitted:
        assert sum(1 for u in admitted if t - w.window_us < u <= t) <= w.limit


@settings(max_examples=150)
@given(windows.filter(lambda w: w.strategy == "fixed"), gaps)
def test_fixed_window_admits_at_most_limit_per_window(w: Window, deltas: list[int]) -> None:
    rows = run(w, deltas)
    opened, used = None, 0
    for now, ok, _ in rows:
        if (opened is None or now >= opened + w.window_us) and ok:
            opened, used = now, 0
        if ok:
            used += w.cost
            assert used <= w.limit


@settings(max_examples=150)
@given(windows.filter(lambda w: w.strategy == "sliding"), gaps)
def test_sliding_counter_weighted_count_stays_within_limit(w: Window, deltas: list[int]) -> None:
    state: Any = None
    now = 10**12
    for d in deltas:
        now += d
        stored, result = sliding_window(state, now, w)
        if result.allowed and stored:
            state = stored[0]
            start, cur, prev = state
            e = now - start
            assert prev * (w.window_us - e) + cur * w.window_us <= w.limit * w.window_us
            assert 0 <= result.remaining <= w.limit


def test_examples_of_each_strategy() -> None:
    w = Window("k", 2, 10 * US, "fixed")
    s1, r = fixed_window(None, 0, w)
    assert s1 == ((1, 10 * US), 10 * US)
    assert r.remaining == 1
    _, r = fixed_window(s1[0], 9 * US, Window("k", 2, 10 * US, "fixed", 2))
    assert not r.allowed
    assert r.retry_after == pytest.approx(1.0)
    # sliding: 10 units last window, 2 now, 25% into this one: 10*0.75 + 2 = 9.5 of 10
    w = Window("k", 10, 4 * US, "sliding")
    _, r = sliding_window((4 * US, 2, 10), 5 * US, w)
    assert not r.allowed
    # wait until 10*(1-e/4) + 3 <= 10, i.e. e >= 1.2 s: 0.2 s from now
    assert r.retry_after == pytest.approx(0.2)
    # moving: hits at 0 and 1 s with limit 2 over 5 s: the next fits at 5 s
    _, r = moving_window((0, 1 * US), 2 * US, Window("k", 2, 5 * US, "moving"))
    assert not r.allowed
    assert r.retry_after == pytest.approx(3.0)


def req(ip: str = "203.0.113.7") -> Facts:
    return Facts("GET", "/api", client_ip=ipaddress.ip_address(ip))


@pytest.mark.parametrize("strategy", ["fixed", "sliding", "moving"])
def test_quota_layer_counts_per_key_and_refuses_with_429(strategy: str) -> None:
    s = Shield([Quota("3/hour", strategy=strategy, jitter=0)], store=MemoryStore())  # type: ignore[arg-type]
    assert [s.decide(req()).action for _ in range(4)] == [Action.ALLOW] * 3 + [Action.THROTTLE]
    refused = s.decide(req()).verdict
    assert refused.rule == "quota/quota"
    assert refused.status == 429
    assert refused.retry_after is not None
    assert refused.retry_after > 1000
    assert s.decide(req("198.51.100.1")).action is Action.ALLOW


def test_several_windows_are_charged_together_with_headers_for_each() -> None:
    s = Shield([Quota("2/minute; 3/hour", name="plan", jitter=0)])
    d = s.decide(req())
    fields = dict(d.headers)
    assert fields["ratelimit-policy"] == (
        '"plan-2-per-60s";q=2;w=60, "plan-3-per-3600s";q=3;w=3600'
    )
    assert fields["ratelimit"].startswith('"plan-2-per-60s";r=1;t=')
    s.decide(req())
    refused = s.decide(req())
    assert refused.verdict.rule == "quota/plan-2-per-60s"
    assert '"plan-3-per-3600s";r=1' in dict(refused.headers)["ratelimit"]  # not charged


def test_quota_configuration_errors() -> None:
    with pytest.raises(ConfigurationError):
        Quota("3/hour", strategy="leaky")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError):
        Quota("100000/hour", strategy="moving")
    with pytest.raises(ConfigurationError):
        Quota("2/hour", cost=3)
    with pytest.raises(ConfigurationError):
        Quota("often")
