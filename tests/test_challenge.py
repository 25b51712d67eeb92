"""The ProofOfWork layer: challenge pages, API mode, verify endpoint, metering and escalation."""

from __future__ import annotations

import ipaddress
import json
import threading
from collections.abc import Iterable
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shieldware import Action, Facts, MemoryStore, Shield, Threshold, Verdict
from shieldware.clientip import network_of
from shieldware.layers import ProofOfWork
from shieldware.layers.challenge import BASE_PATH
from shieldware.match import path
from shieldware.pow import TokenKit, binding, solve
from shieldware.secret import resolve_secrets
from tests.conftest import NEW_SECRET, OLD_SECRET, SECRET

UA = "Mozilla/5.0 (test)"
HTML = "text/html,application/xhtml+xml"


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def make(clock: Clock | None = None, store: MemoryStore | None = None, **options: object) -> Shield:
    options.setdefault("count", 2)
    options.setdefault("bits", 4)
    layer = ProofOfWork(SECRET, clock=clock or Clock(), **options)  # type: ignore[arg-type]
    return Shield([layer], store=store if store is not None else MemoryStore())


def facts(
    target: str = "/page",
    *,
    ip: str = "10.1.2.3",
    accept: str = HTML,
    method: str = "GET",
    headers: Iterable[tuple[str, str]] = (),
    scheme: str = "http",
    ua: str = UA,
) -> Facts:
    p, _, q = target.partition("?")
    base = (("accept", accept), ("user-agent", ua))
    return Facts(
        method,
        p,
        headers=(*base, *headers),
        client_ip=ipaddress.ip_address(ip),
        query=q,
        scheme=scheme,
    )


def challenge_of(shield: Shield, f: Facts) -> tuple[str, int, int]:
    """(token, count, bits) of the challenge `f` receives."""
    decision = shield.decide(f)
    assert decision.action is Action.CHALLENGE, decision.explain()
    d = decision.verdict.detail
    reply = decision.verdict.reply
    assert reply is not None
    if reply.status == 401:
        token = json.loads(reply.body)["challenge"]["token"]
    else:
        body = reply.body.decode()
        token = body.split('data-challenge="', 1)[1].split('"', 1)[0]
    return token, int(d["count"]), int(d["bits"])


def answer(token: str, count: int, bits: int) -> str:
    return ",".join(str(n) for n in solve(token.split(".")[1], count, bits))


def verify(shield: Shield, token: str, nonces: str, ret: str = "/page", **kw: object) -> Verdict:
    query = f"c={token}&s={nonces}&r={quote(ret, safe='')}"
    return shield.decide(facts(f"{BASE_PATH}verify?{query}", **kw)).verdict  # type: ignore[arg-type]


def cookie_from(verdict: Verdict) -> tuple[str, str]:
    assert verdict.reply is not None
    raw = verdict.reply.header("set-cookie")
    assert raw is not None
    name, _, rest = raw.partition("=")
    return name, rest.split(";", 1)[0]


def clearance(shield: Shield, **kw: object) -> str:
    token, count, bits = challenge_of(shield, facts(**kw))  # type: ignore[arg-type]
    verdict = verify(shield, token, answer(token, count, bits), **kw)
    assert verdict.action is Action.ALLOW, verdict
    return cookie_from(verdict)[1]


# -- the page --------------------------------------------------------------------------------
def test_browser_gets_an_accessible_csp_friendly_page() -> None:
    decision = make().decide(facts("/page?x=1"))
    reply = decision.verdict.reply
    assert reply is not None
    assert reply.status == 403
    assert reply.header("cache-control") == "no-store"
    body = reply.body.decode()
    # no inline script or style: every <script> has a src, no on* handlers, no <style>
    assert body.count("<script") == body.count("<script src=")
    assert "<style" not in body
    assert " onload=" not in body
    assert "javascript:" not in body
    assert 'aria-live="polite"' in body
    assert "<progress" in body
    assert "<noscript>" in body
    assert "Why am I seeing this?" in body
    assert 'lang="en"' in body
    assert 'data-return="/page?x=1"' in body


def test_page_text_is_localisable() -> None:
    from shieldware.pow import PageText

    text = PageText(lang="fr", heading="Un instant", why_title="Pourquoi cette page ?")
    body = make(text=text).decide(facts()).verdict.reply.body.decode()  # type: ignore[union-attr]
    assert 'lang="fr"' in body
    assert "Un instant" in body
    assert "Pourquoi cette page ?" in body


def test_hostile_path_is_escaped_in_the_page() -> None:
    body = make().decide(facts('/"><script>alert(1)</script>')).verdict.reply.body  # type: ignore[union-attr]
    assert b"<script>alert(1)" not in body


def test_assets_are_served_from_the_reserved_path() -> None:
    shield = make()
    for name, kind in [
        ("pow.js", "javascript"),
        ("pow-worker.js", "javascript"),
        ("pow.css", "css"),
    ]:
        decision = shield.decide(facts(BASE_PATH + name, accept="*/*"))
        assert decision.answered
        assert decision.verdict.reply is not None
        assert decision.verdict.reply.status == 200
        assert kind in (decision.verdict.reply.header("content-type") or "")
    for bad in ["../secret.py", "nope.js", "", "pow.js/..", "__init__.py"]:
        decision = shield.decide(facts(BASE_PATH + bad))
        assert decision.verdict.reply is not None
        assert decision.verdict.reply.status == 404


# -- API mode --------------------------------------------------------------------------------
def test_api_client_gets_a_401_with_the_challenge() -> None:
    reply = make().decide(facts("/api", accept="application/json")).verdict.reply
    assert reply is not None
    assert reply.status == 401
    auth = reply.header("www-authenticate") or ""
    assert auth.startswith("Shieldware-PoW challenge=")
    problem = json.loads(reply.body)
    assert reply.header("content-type") == "application/problem+json"
    assert problem["status"] == 401
    assert problem["challenge"]["algorithm"] == "sha256"


def test_api_answer_in_a_header_yields_a_reusable_clearance() -> None:
    shield = make()
    token, count, bits = challenge_of(shield, facts("/api", accept="application/json"))
    header = ("shieldware-pow-answer", f"{token};{answer(token, count, bits)}")
    decision = shield.decide(facts("/api", accept="application/json", headers=[header]))
    assert not decision.answered, decision.explain()
    # a solve in API mode is reported as one, with its server-side solve time
    assert decision.trail[0].reason == "solved"
    assert decision.trail[0].detail["solve_ms"] >= 0
    issued = dict(decision.headers)["shieldware-clearance"]
    again = shield.decide(
        facts("/api", accept="application/json", headers=[("shieldware-clearance", issued)])
    )
    assert not again.answered
    assert again.trail[0].reason == "cleared"
    # the same answer twice is a replay: the client gets a fresh challenge, not a pass
    replay = shield.decide(facts("/api", accept="application/json", headers=[header]))
    assert replay.action is Action.CHALLENGE
    assert replay.verdict.reason == "answer-pow-replayed"


def test_post_without_clearance_is_never_replayed() -> None:
    shield = make()
    page = shield.decide(facts("/login?next=/x", method="POST")).verdict.reply
    assert page is not None
    assert page.status == 403
    body = page.body.decode()
    assert "Your form was not sent" in body
    assert 'data-return="/login"' in body
    api = shield.decide(facts("/login", method="POST", accept="application/json")).verdict.reply
    assert api is not None
    assert api.status == 401


# -- verify endpoint -------------------------------------------------------------------------
def test_verify_sets_the_cookie_and_redirects_to_the_original_url() -> None:
    shield = make()
    token, count, bits = challenge_of(shield, facts("/page?x=1"))
    verdict = verify(shield, token, answer(token, count, bits), "/page?x=1")
    assert verdict.action is Action.ALLOW
    assert verdict.reply is not None
    assert verdict.reply.status == 303
    assert verdict.reply.header("location") == "/page?x=1"
    raw = verdict.reply.header("set-cookie") or ""
    assert raw.startswith("sw_pow=")
    assert "HttpOnly" in raw
    assert "SameSite=Lax" in raw
    assert "Max-Age=1800" in raw
    assert "Secure" not in raw
    assert "solve_ms" in verdict.detail
    name, value = cookie_from(verdict)
    passed = shield.decide(facts("/page?x=1", headers=[("cookie", f"{name}={value}")]))
    assert not passed.answered
    assert passed.trail[0].reason == "cleared"


def test_https_cookie_is_host_prefixed_and_secure() -> None:
    shield = make()
    token, count, bits = challenge_of(shield, facts(scheme="https"))
    verdict = verify(shield, token, answer(token, count, bits), scheme="https")
    raw = verdict.reply.header("set-cookie") or ""  # type: ignore[union-attr]
    assert raw.startswith("__Host-sw_pow=")
    assert "; Secure" in raw
    assert "Path=/;" in raw
    name, value = cookie_from(verdict)
    ok = shield.decide(facts(scheme="https", headers=[("cookie", f"{name}={value}")]))
    assert not ok.answered


@pytest.mark.parametrize(
    "target",
    ["//evil.example/", "/\\evil.example", "javascript:alert(1)", "/%2F%2Fevil", "https://e.x/"],
)
def test_verify_never_redirects_off_site(target: str) -> None:
    shield = make()
    token, count, bits = challenge_of(shield, facts())
    verdict = verify(shield, token, answer(token, count, bits), target)
    assert verdict.reply is not None
    assert verdict.reply.header("location") == "/"


def test_replayed_solution_is_refused() -> None:
    shield = make()
    token, count, bits = challenge_of(shield, facts())
    nonces = answer(token, count, bits)
    assert verify(shield, token, nonces).action is Action.ALLOW
    again = verify(shield, token, nonces)
    assert again.action is Action.DENY
    assert again.reason == "pow-replayed"
    assert again.reply is not None
    assert again.reply.status == 403


def test_concurrent_double_redemption_exactly_one_wins() -> None:
    shield = make()
    token, count, bits = challenge_of(shield, facts())
    nonces = answer(token, count, bits)
    results: list[Action] = []
    barrier = threading.Barrier(8)

    def redeem() -> None:
        barrier.wait()
        results.append(verify(shield, token, nonces).action)

    threads = [threading.Thread(target=redeem) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count(Action.ALLOW) == 1
    assert results.count(Action.DENY) == 7


def test_expired_challenge_is_refused() -> None:
    clock = Clock()
    shield = make(clock)
    token, count, bits = challenge_of(shield, facts())
    clock.now += 301
    verdict = verify(shield, token, answer(token, count, bits))
    assert verdict.action is Action.DENY
    assert verdict.reason == "pow-expired"


def test_foreign_binding_is_refused() -> None:
    shield = make()
    token, count, bits = challenge_of(shield, facts())
    nonces = answer(token, count, bits)
    assert verify(shield, token, nonces, ip="10.9.9.9").reason == "pow-foreign-binding"
    assert verify(shield, token, nonces, ua="curl/8").reason == "pow-foreign-binding"
    # another host of the same /24 may redeem it (CGNAT, Happy Eyeballs within a prefix)
    assert verify(shield, token, nonces, ip="10.1.2.200").action is Action.ALLOW


def test_wrong_difficulty_is_refused() -> None:
    clock = Clock()
    shield = make(clock, bits=6)
    bound = binding(network_of(ipaddress.ip_address("10.1.2.3"), 24, 64), UA)
    easy = TokenKit(resolve_secrets(SECRET), "pow").mint_challenge(
        now=clock.now, ttl=60, count=2, bits=2, level=0, bound=bound
    )
    verdict = verify(shield, easy.token, answer(easy.token, 2, 2))
    assert verdict.action is Action.DENY
    assert verdict.reason == "pow-wrong-difficulty"


def test_wrong_answer_is_refused() -> None:
    shield = make(bits=12)
    token, count, _bits = challenge_of(shield, facts())
    verdict = verify(shield, token, "0," * (count - 1) + "0")
    assert verdict.action is Action.DENY
    assert verdict.reason in ("pow-wrong-answer",)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    token=st.one_of(st.text(max_size=300), st.from_regex(r"c1(\.[A-Za-z0-9_-]{0,30}){9}")),
    nonces=st.text(max_size=80),
    ret=st.text(max_size=80),
)
def test_malformed_answers_yield_verdicts_never_exceptions(
    token: str, nonces: str, ret: str
) -> None:
    shield = make()
    query = f"c={quote(token)}&s={quote(nonces)}&r={quote(ret)}"
    decision = shield.decide(facts(f"{BASE_PATH}verify?{query}"))
    assert decision.verdict.action is Action.DENY
    assert decision.verdict.reason.startswith("pow-")
    headers = [("shieldware-pow-answer", f"{token};{nonces}")]
    api = shield.decide(facts("/api", accept="application/json", headers=headers))
    assert api.action in (Action.CHALLENGE, Action.THROTTLE)


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.data())
def test_tampered_clearance_is_challenged(data: st.DataObject) -> None:
    shield = make()
    value = clearance(shield)
    index = data.draw(st.integers(0, len(value) - 1))
    char = data.draw(st.sampled_from("Aa0-_.x"))
    forged = value[:index] + char + value[index + 1 :]
    decision = shield.decide(facts(headers=[("cookie", f"sw_pow={forged}")]))
    if forged == value:
        assert not decision.answered
    else:
        assert decision.action is Action.CHALLENGE


# -- clearances ------------------------------------------------------------------------------
def test_cookie_from_another_prefix_is_challenged() -> None:
    shield = make()
    value = clearance(shield)
    moved = shield.decide(facts(ip="192.0.2.7", headers=[("cookie", f"sw_pow={value}")]))
    assert moved.action is Action.CHALLENGE
    assert moved.verdict.reason == "clearance-foreign-binding"
    near = shield.decide(facts(ip="10.1.2.99", headers=[("cookie", f"sw_pow={value}")]))
    assert not near.answered


def test_cookie_after_expiry_is_challenged() -> None:
    clock = Clock()
    shield = make(clock)
    value = clearance(shield)
    clock.now += 1799
    assert not shield.decide(facts(headers=[("cookie", f"sw_pow={value}")])).answered
    clock.now += 2
    late = shield.decide(facts(headers=[("cookie", f"sw_pow={value}")]))
    assert late.action is Action.CHALLENGE
    assert late.verdict.reason == "clearance-expired"


def test_secret_rotation_keeps_live_clearances() -> None:
    store = MemoryStore()
    clock = Clock()
    old = Shield([ProofOfWork(OLD_SECRET, clock=clock, count=2, bits=4)], store=store)
    value = clearance(old)
    rotated = Shield([ProofOfWork([OLD_SECRET, NEW_SECRET], clock=clock, count=2, bits=4)])
    assert not rotated.decide(facts(headers=[("cookie", f"sw_pow={value}")])).answered
    retired = Shield([ProofOfWork(NEW_SECRET, clock=clock, count=2, bits=4)])
    refused = retired.decide(facts(headers=[("cookie", f"sw_pow={value}")]))
    assert refused.verdict.reason == "clearance-bad-signature"


def test_clearance_is_metered_and_escalates() -> None:
    shield = make(meter="1/hour", meter_burst=3)
    value = clearance(shield)
    cookie = [("cookie", f"sw_pow={value}")]
    for _ in range(3):
        assert not shield.decide(facts(headers=cookie)).answered
    dry = shield.decide(facts(headers=cookie))
    assert dry.action is Action.CHALLENGE
    assert dry.verdict.reason == "clearance-spent"
    assert dry.verdict.detail["level"] == 1
    assert dry.verdict.detail["bits"] > 4


def test_score_tiers_raise_difficulty() -> None:
    class Weigh:
        name = "weigh"

        def __init__(self, weight: float) -> None:
            self.weight = weight

        def check(self, facts: Facts, progress: object) -> Verdict:
            return Verdict(Action.PASS, "weigh", "test", weight=self.weight)

    bits = []
    for weight in (0, 10, 15, 20):
        layer = ProofOfWork(SECRET, count=2, bits=4, max_bits=20)
        shield = Shield([Weigh(weight), layer])
        bits.append(shield.decide(facts()).verdict.detail["bits"])
    assert bits == [4, 5, 6, 7]


def test_min_score_and_match_decide_what_is_covered() -> None:
    class Weigh:
        name = "weigh"

        def check(self, facts: Facts, progress: object) -> Verdict:
            return Verdict(Action.PASS, "weigh", "test", weight=float(facts.header("x-w") or 0))

    layer = ProofOfWork(SECRET, match=path("/login"), min_score=20, count=2, bits=4)
    shield = Shield([Weigh(), layer])
    assert not shield.decide(facts("/")).answered
    assert shield.decide(facts("/login")).action is Action.CHALLENGE
    assert shield.decide(facts("/", headers=[("x-w", "25")])).action is Action.CHALLENGE


def test_challenge_threshold_uses_the_layer() -> None:
    class Weigh:
        name = "weigh"

        def check(self, facts: Facts, progress: object) -> Verdict:
            return Verdict(Action.PASS, "weigh", "test", weight=50)

    layer = ProofOfWork(SECRET, match=path("/never"), min_score=40, count=2, bits=4)
    shield = Shield([Weigh(), layer], thresholds=[Threshold(30, Action.CHALLENGE)])
    first = shield.decide(facts())
    assert first.action is Action.CHALLENGE
    assert first.verdict.reply is not None
    value = clearance(shield)
    ok = shield.decide(facts(headers=[("cookie", f"sw_pow={value}")]))
    assert not ok.answered, ok.explain()
    # an API client answering inline is metered once and gets one clearance header
    token, count, bits = challenge_of(shield, facts(accept="application/json"))
    header = ("shieldware-pow-answer", f"{token};{answer(token, count, bits)}")
    answered = shield.decide(facts(accept="application/json", headers=[header]))
    assert not answered.answered, answered.explain()
    assert [name for name, _ in answered.headers].count("shieldware-clearance") == 1


def test_fast_solves_are_flagged_and_weighted() -> None:
    clock = Clock()
    shield = make(clock, fast_weight=7.0, fast_hashrate=1000.0, tells=False)
    token, count, bits = challenge_of(shield, facts())
    fast = verify(shield, token, answer(token, count, bits))  # clock did not move: "0 ms"
    assert fast.detail["fast"] is True
    assert fast.weight == 7.0
    name, value = cookie_from(fast)
    later = shield.decide(facts(headers=[("cookie", f"{name}={value}")]))
    assert later.score == 7.0
    token, count, bits = challenge_of(shield, facts(ip="10.5.5.5"))
    clock.now += 5
    slow = verify(shield, token, answer(token, count, bits), ip="10.5.5.5")
    assert slow.detail["fast"] is False
    assert slow.weight == 0.0
    assert 4999 <= slow.detail["solve_ms"] <= 5001


def test_unsolved_challenges_elsewhere_raise_nobodys_difficulty() -> None:
    """A flood of challenges nobody solves, from many networks, leaves a person from a fresh
    network at the base difficulty (issue 13: pressure falls on the asker)."""
    shield = make(issue_burst=1000, ceiling_burst=100_000)
    for i in range(600):  # 600 challenges, never solved, from 200 networks
        challenge_of(shield, facts(ip=f"10.{i % 200}.{i % 7}.1"))
    assert challenge_of(shield, facts(ip="192.0.2.10"))[2] == 4


def test_a_network_that_keeps_asking_pays_more_and_only_it() -> None:
    shield = make(issue_rate="30/minute", issue_burst=30)
    bits = [challenge_of(shield, facts(ip=f"10.1.2.{i}"))[2] for i in range(20)]
    assert bits[0] == 4
    assert bits[-1] == 5  # past half its issue budget
    assert challenge_of(shield, facts(ip="10.1.3.1"))[2] == 4  # the next /24 is untouched


def test_the_site_wide_ceiling_refuses_issuing_instead_of_raising_bits() -> None:
    ticks = [0]
    store = MemoryStore(clock=lambda: ticks[0])
    shield = make(store=store, ceiling_rate="10/minute", ceiling_burst=10)
    for i in range(10):
        assert challenge_of(shield, facts(ip=f"10.{i}.0.1"))[2] == 4
    refused = shield.decide(facts(ip="10.99.0.1"))
    assert refused.action is Action.THROTTLE
    assert refused.verdict.reason == "challenge-ceiling-reached"
    assert refused.verdict.status == 503
    assert refused.verdict.retry_after is not None
    assert refused.verdict.retry_after >= 1
    ticks[0] += 120 * 1_000_000  # the ceiling refills by itself
    assert challenge_of(shield, facts(ip="10.99.0.1"))[2] == 4


def test_escalation_persists_per_network_when_the_dry_clearance_is_dropped() -> None:
    """Issue 12 #9: a client whose clearance ran dry cannot reset its level by dropping it."""
    shield = make(meter="1/hour", meter_burst=2)
    value = clearance(shield)
    cookie = [("cookie", f"sw_pow={value}")]
    for _ in range(2):
        assert not shield.decide(facts(headers=cookie)).answered
    dry = shield.decide(facts(headers=cookie))
    assert dry.verdict.reason == "clearance-spent"
    assert dry.verdict.detail["level"] == 1
    # the same network, no cookie at all (and another address in the /24): still level 1
    fresh = shield.decide(facts(ip="10.1.2.99"))
    assert fresh.action is Action.CHALLENGE
    assert fresh.verdict.reason == "no-clearance"
    assert fresh.verdict.detail["level"] == 1
    assert fresh.verdict.detail["bits"] == dry.verdict.detail["bits"]
    # another network is not touched
    assert shield.decide(facts(ip="10.7.7.7")).verdict.detail["level"] == 0


def test_escalation_decays_with_the_store_clock() -> None:
    ticks = [0]
    store = MemoryStore(clock=lambda: ticks[0])
    shield = make(store=store, meter="1/hour", meter_burst=1, level_ttl=600)
    value = clearance(shield)
    cookie = [("cookie", f"sw_pow={value}")]
    assert not shield.decide(facts(headers=cookie)).answered
    assert shield.decide(facts(headers=cookie)).verdict.detail["level"] == 1
    assert shield.decide(facts()).verdict.detail["level"] == 1
    ticks[0] += 601 * 1_000_000
    assert shield.decide(facts()).verdict.detail["level"] == 0


@pytest.mark.redis
def test_escalation_persists_per_network_on_redis(redis_url: str) -> None:
    shield = Shield(
        [ProofOfWork(SECRET, clock=Clock(), count=2, bits=4, meter="1/hour", meter_burst=1)],
        store=redis_url,
    )
    try:
        value = clearance(shield)
        cookie = [("cookie", f"sw_pow={value}")]
        assert not shield.decide(facts(headers=cookie)).answered
        assert shield.decide(facts(headers=cookie)).verdict.detail["level"] == 1
        assert shield.decide(facts(ip="10.1.2.200")).verdict.detail["level"] == 1
        assert shield.decide(facts(ip="10.1.9.200")).verdict.detail["level"] == 0
    finally:
        shield.close()


def test_issuing_is_rate_limited_per_prefix() -> None:
    shield = make(issue_rate="2/minute", issue_burst=2)
    assert challenge_of(shield, facts())
    assert challenge_of(shield, facts(ip="10.1.2.4"))
    third = shield.decide(facts(ip="10.1.2.5"))
    assert third.action is Action.THROTTLE
    assert third.verdict.status == 429
    assert third.verdict.retry_after
    assert third.verdict.retry_after > 0
    assert shield.decide(facts(ip="10.1.3.5")).action is Action.CHALLENGE


def test_what_one_gpu_buys_per_prefix_and_minute_is_bounded() -> None:
    """An attacker who solves instantly (a GPU) still gets only the defaults' budget per prefix.

    Over one minute (the store clock stepped 10 s at a time, the attacker greedy at each step)
    one /24 gets at most 60 challenges, 20 clearances and 1,200 requests: docs/proof-of-work.md.
    """
    ticks = [0]
    store = MemoryStore(clock=lambda: ticks[0])
    layer = ProofOfWork(SECRET, count=1, bits=1, max_bits=1)  # "free" solves, default budgets
    shield = Shield([layer], store=store)
    challenges = clearances = passed = 0
    cookies: list[tuple[str, str]] = []
    for step in range(7):  # t = 0, 10, ..., 60 s
        ticks[0] = step * 10_000_000
        for i in range(40):
            ip = f"10.1.2.{(step * 40 + i) % 250}"
            decision = shield.decide(facts(ip=ip, accept="application/json"))
            if decision.action is not Action.CHALLENGE:
                continue
            challenges += 1
            token = json.loads(decision.verdict.reply.body)["challenge"]["token"]  # type: ignore[union-attr]
            header = ("shieldware-pow-answer", f"{token};{answer(token, 1, 1)}")
            redeemed = shield.decide(facts(ip=ip, accept="application/json", headers=[header]))
            if not redeemed.answered:
                clearances += 1
                passed += 1
                cookies.append((ip, dict(redeemed.headers)["shieldware-clearance"]))
        for n in range(400):
            ip, token = cookies[n % len(cookies)]
            ok = shield.decide(
                facts(ip=ip, accept="application/json", headers=[("shieldware-clearance", token)])
            )
            passed += not ok.answered
    assert 30 <= challenges <= 60
    assert 10 <= clearances <= 20
    assert 600 <= passed <= 1200


def test_default_preset_challenges_account_routes_and_high_scores() -> None:
    shield = Shield.default(SECRET)
    assert not shield.decide(facts("/")).answered
    assert not shield.decide(facts("/api/hello", accept="*/*")).answered
    assert not shield.decide(facts("/login")).answered  # the form page is free...
    assert shield.decide(facts("/signup", method="POST")).action is Action.CHALLENGE  # its post
    register = facts("/register", method="POST", accept="application/json")
    assert shield.decide(register).action is Action.CHALLENGE


@pytest.mark.redis
def test_concurrent_double_redemption_on_redis(redis_url: str) -> None:
    layer = ProofOfWork(SECRET, count=2, bits=4, clock=Clock())
    shield = Shield([layer], store=redis_url)  # the URL carries a key prefix of its own
    try:
        token, count, bits = challenge_of(shield, facts())
        nonces = answer(token, count, bits)
        results: list[Action] = []
        barrier = threading.Barrier(8)

        def redeem() -> None:
            barrier.wait()
            results.append(verify(shield, token, nonces).action)

        threads = [threading.Thread(target=redeem) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert results.count(Action.ALLOW) == 1
        assert results.count(Action.DENY) == 7
    finally:
        shield.store.close()


def test_verify_endpoint_answers_api_clients_with_json() -> None:
    shield = make()
    token, count, bits = challenge_of(shield, facts("/api", accept="application/json"))
    header = ("shieldware-pow-answer", f"{token};{answer(token, count, bits)}")
    decision = shield.decide(
        facts(BASE_PATH + "verify", accept="application/json", headers=[header])
    )
    reply = decision.verdict.reply
    assert reply is not None
    assert reply.status == 200
    body = json.loads(reply.body)
    assert body["clearance"] == reply.header("shieldware-clearance")
    ok = shield.decide(
        facts(
            "/api", accept="application/json", headers=[("shieldware-clearance", body["clearance"])]
        )
    )
    assert not ok.answered


def test_default_preset_challenges_what_the_fingerprint_layer_distrusts() -> None:
    shield = Shield.default(SECRET)
    headless = (
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "HeadlessChrome/120.0.0.0 Safari/537.36"
    )
    decision = shield.decide(facts("/", ua=headless))
    assert decision.action is Action.CHALLENGE
    assert decision.score >= 6
    assert not shield.decide(facts("/", ua="curl/8.5", accept="*/*")).answered  # rate limits' job


def test_refusal_page_is_localisable() -> None:
    from shieldware.pow import PageText

    shield = make(
        text=PageText(lang="de", rejected_title="Prüfung fehlgeschlagen", again="Nochmal")
    )
    verdict = verify(shield, "garbage", "1,2")
    assert verdict.reply is not None
    body = verdict.reply.body.decode()
    assert 'lang="de"' in body
    assert "Prüfung fehlgeschlagen" in body
    assert "Nochmal" in body


def test_ipv6_clients_are_bound_to_their_64() -> None:
    shield = make()
    value = clearance(shield, ip="2001:db8:1:2::10")
    cookie = [("cookie", f"sw_pow={value}")]
    assert not shield.decide(facts(ip="2001:db8:1:2::beef", headers=cookie)).answered
    moved = shield.decide(facts(ip="2001:db8:1:3::10", headers=cookie))
    assert moved.verdict.reason == "clearance-foreign-binding"


def test_buckets_taken_together_share_a_cluster_slot() -> None:
    from redis.crc import key_slot

    layer = ProofOfWork(SECRET)
    meter = layer._bucket("meter", "tid", (1000, 5), slot="10.1.2.0/24")
    traffic = layer._bucket("traffic", "10.1.2.0/24", (1000, 5), slot="10.1.2.0/24")
    other = layer._bucket("traffic", "10.9.9.0/24", (1000, 5), slot="10.9.9.0/24")
    assert key_slot(meter.key.encode()) == key_slot(traffic.key.encode())
    assert meter.key != traffic.key != other.key


@pytest.mark.parametrize("target", ["/sign\udcffup", "/a\ud800b"])
def test_a_lone_surrogate_path_is_challenged_not_passed(target: str) -> None:
    """Attack: a path no encoder can write made the interstitial raise, and the layer's failure
    let the request through. It is challenged like any other path."""
    decision = make().decide(facts(target))
    assert decision.action is Action.CHALLENGE, decision.explain()
    assert not decision.degraded
    reply = decision.verdict.reply
    assert reply is not None
    assert 'data-return="/' in reply.body.decode()


def test_a_person_with_a_browser_head_gets_the_base_difficulty_during_a_flood() -> None:
    """The default chain under a flood of unsolved challenges (bots from 300 networks, some
    headless): a person from a fresh network, with a browser's head, pays the base bits."""
    from shieldware.drill import BROWSER_HEADERS, HEADLESS_UA

    shield = Shield.default(SECRET)
    bot_heads = [("user-agent", HEADLESS_UA), ("accept", "text/html")]
    for i in range(900):
        f = Facts(
            "POST",
            "/signup",
            headers=bot_heads,
            client_ip=ipaddress.ip_address(f"198.18.{i % 255}.{1 + i // 255}"),
        )
        shield.decide(f)
    person = Facts(
        "POST",
        "/signup",
        headers=list(BROWSER_HEADERS.items()),
        client_ip=ipaddress.ip_address("192.0.2.10"),
    )
    decision = shield.decide(person)
    assert decision.action is Action.CHALLENGE
    assert decision.verdict.detail["bits"] == 17
    assert decision.verdict.detail["level"] == 0
