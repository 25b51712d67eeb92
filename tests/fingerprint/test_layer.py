"""The Fingerprint layer: hard outcomes, bands, exemptions, shadow, debug header, bounds."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shieldware import Action, Facts, Shield, TrustedProxies, Verdict
from shieldware.errors import ConfigurationError
from shieldware.fingerprint import Signal, signal
from shieldware.fingerprint.head import Head
from shieldware.layer import Progress
from shieldware.layers import Fingerprint

from .helpers import CHROME_NAV, CHROME_UA, CURL, FIREFOX_NAV, facts, replace

IMPOSTOR = replace(CURL, user_agent=CHROME_UA)


def check(fp: Fingerprint, headers, **kw):
    return fp.check(facts(headers, **kw), Progress())


def test_browsers_pass_as_human_and_impostors_reach_the_challenge_band() -> None:
    fp = Fingerprint(verifier=False)
    for head in (CHROME_NAV, FIREFOX_NAV):
        v = check(fp, head)
        assert v.action is Action.PASS
        assert v.detail["band"] == "human"
        assert v.weight < 3
    v = check(fp, IMPOSTOR)
    assert v.action is Action.PASS
    assert v.rule == "fingerprint/challenge"
    assert v.weight >= 6
    v = check(fp, CURL)
    assert v.detail["band"] == "automation"


def test_soft_evidence_never_denies_unless_asked() -> None:
    assert check(Fingerprint(verifier=False), IMPOSTOR).action is Action.PASS
    v = check(Fingerprint(verifier=False, deny_at=6), IMPOSTOR)
    assert v.action is Action.DENY
    assert v.rule == "fingerprint/score"


def test_ua_allow_and_deny_lists_are_hard() -> None:
    fp = Fingerprint(verifier=False, allow_ua=[r"^MyMonitor/"], deny_ua=[r"EvilBot"])
    assert check(fp, [("user-agent", "MyMonitor/1.0")]).action is Action.ALLOW
    v = check(fp, [("user-agent", "Mozilla/5.0 EvilBot/2")])
    assert v.action is Action.DENY
    assert v.rule == "fingerprint/deny-ua"


@pytest.mark.parametrize(
    "path",
    [
        "/robots.txt",
        "/sitemap.xml",
        "/.well-known/security.txt",
        "/favicon.ico",
        "/feed.xml",
        "/blog/feed/",
        "/posts.rss",
    ],
)
def test_safe_paths_never_reach_the_challenge_band(path: str) -> None:
    v = check(Fingerprint(verifier=False), IMPOSTOR, path=path)
    assert v.weight <= 5.0
    assert v.detail["exempt"] == "path"
    assert v.detail["band"] == "automation"


def test_preview_bots_are_never_challenged() -> None:
    v = check(Fingerprint(verifier=False), [("user-agent", "Twitterbot/1.0")], path="/post/1")
    assert v.detail["band"] != "challenge"
    assert v.detail.get("exempt") == "ua:preview"


def test_shadow_signal_is_reported_not_counted() -> None:
    fp = Fingerprint(verifier=False, shadow_signals=["chrome-no-client-hints"])
    v = check(fp, IMPOSTOR)
    assert ("chrome-no-client-hints", 3.0, "") in v.detail["shadow"]
    assert "chrome-no-client-hints" not in {s[0] for s in v.detail["signals"]}


def test_weights_can_be_changed_or_zeroed_and_unknown_names_fail() -> None:
    fp = Fingerprint(verifier=False, weights={"ua-library": 0, "upgrade-insecure-requests": -2})
    assert check(fp, CURL).weight == 0
    assert check(fp, CHROME_NAV).weight == -2
    with pytest.raises(ConfigurationError, match="unknown signal"):
        Fingerprint(verifier=False, weights={"nope": 1})


def test_user_signal_runs_every_request_and_sees_the_path() -> None:
    @signal("admin-probe", 4.0, group="probe")
    def admin_probe(head: Head) -> object:
        return head.facts.path.startswith("/wp-admin") and head.facts.path

    assert isinstance(admin_probe, Signal)
    fp = Fingerprint(verifier=False, extra_signals=[admin_probe])
    assert check(fp, CHROME_NAV, path="/").weight == -1
    v = check(fp, CHROME_NAV, path="/wp-admin/x")
    assert v.weight == 3
    assert ("admin-probe", 4.0, "probe", "/wp-admin/x") in v.detail["signals"]


def test_debug_header_is_opt_in_and_can_be_scoped() -> None:
    assert check(Fingerprint(verifier=False), CURL).headers == ()
    fp = Fingerprint(
        verifier=False,
        debug_header="X-Shieldware-Fingerprint",
        debug_match=lambda f: f.header("x-debug") == "1",
    )
    assert check(fp, CURL).headers == ()
    ((name, value),) = check(fp, [*CURL, ("x-debug", "1")]).headers
    assert name == "x-shieldware-fingerprint"
    assert value == "score=3; band=automation; signals=ua-library:+3"


def test_ja4_only_from_the_shields_trusted_proxies() -> None:
    fp = Fingerprint(verifier=False, ja4_header="X-JA4")
    head = [*CHROME_NAV, ("x-ja4", "t13d1516h1_8daaf6152771_02713d6af862")]
    proxies = TrustedProxies(["10.0.0.0/8"])

    def via(peer: str, *extra: tuple[str, str]) -> Verdict:
        scope = {
            "type": "http",
            "method": "GET",
            "path": "/",
            "scheme": "https",
            "headers": [(k.lower().encode(), v.encode()) for k, v in (*head, *extra)],
            "client": (peer, 443),
        }
        verdict = fp.check(Facts.from_scope(scope, proxies), Progress())
        assert isinstance(verdict, Verdict)
        return verdict

    trusted = via("10.0.0.2", ("x-forwarded-for", "203.0.113.9"))
    assert "ja4-not-browser-alpn" in {s[0] for s in trusted.detail["signals"]}
    spoofed = via("203.0.113.9")
    names = {s[0] for s in spoofed.detail["signals"]}
    assert "fingerprint-header-spoofed" in names
    assert "ja4-not-browser-alpn" not in names


def test_explain_lists_ua_hfp_and_skips() -> None:
    detail = Fingerprint(verifier=False).explain(facts(CURL, scheme="http"))
    assert detail["ua"]["category"] == "library"
    assert detail["hfp"].startswith("hfp1_")
    assert "https" not in detail["why_skipped"] or "not https" in detail["why_skipped"]["https"]


def test_thresholds_helper_and_shield_integration() -> None:
    fp = Fingerprint(verifier=False)
    (threshold,) = fp.thresholds()
    assert threshold.score == 6.0
    assert threshold.action is Action.CHALLENGE
    shield = Shield([fp], thresholds=[])
    decision = shield.decide(facts(IMPOSTOR))
    assert decision.score >= 6
    assert decision.trail[0].rule == "fingerprint/challenge"


def test_cache_is_bounded_under_a_flood_of_distinct_heads() -> None:
    fp = Fingerprint(verifier=False, cache_size=100)
    for i in range(2000):
        check(fp, [("user-agent", f"flood-{i}"), ("accept", "*/*")])
    assert len(fp._cache) <= 100
    assert fp.classifier.classify.cache_info().currsize <= 100  # type: ignore[attr-defined]


def test_duplicate_signal_names_fail_at_construction() -> None:
    fp = Fingerprint(verifier=False)
    with pytest.raises(ConfigurationError, match="two signals"):
        Fingerprint(verifier=False, extra_signals=[fp.signals[0]])


headers_st = st.lists(
    st.tuples(
        st.sampled_from(
            [
                "user-agent",
                "accept",
                "sec-ch-ua",
                "sec-fetch-mode",
                "sec-fetch-dest",
                "accept-language",
                "sec-ch-ua-platform",
                "x-ja4",
                "cookie",
                "host",
            ]
        ),
        st.text(max_size=80),
    ),
    max_size=12,
)


@given(headers_st, st.sampled_from(["http", "https"]), st.booleans(), st.text(max_size=30))
def test_any_head_yields_a_verdict(headers, scheme, order_known, path) -> None:
    fp = _FUZZ
    v = fp.check(
        facts(headers, scheme=scheme, order_known=order_known, path="/" + path), Progress()
    )
    assert v.action in (Action.PASS, Action.ALLOW, Action.DENY)
    assert v.weight <= 50


_FUZZ = Fingerprint(verifier=False, ja4_header="x-ja4", debug_header="x-fp")


def test_threads_hammering_a_small_cache_never_fail() -> None:
    import threading

    fp = Fingerprint(verifier=False, cache_size=16)
    errors: list[BaseException] = []

    def work(offset: int) -> None:
        try:
            for i in range(300):
                v = check(fp, [("user-agent", f"agent-{offset}-{i % 40}"), ("accept", "*/*")])
                assert v.action is Action.PASS
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(fp._cache) <= 16


def test_huge_heads_are_scored_but_not_cached() -> None:
    fp = Fingerprint(verifier=False)
    head = [(f"x-{'n' * 3000}-{i}", "v") for i in range(3)] + CURL
    assert check(fp, head).detail["band"] == "automation"
    assert len(fp._cache) == 0


def _chrome_build(head, build: int):
    return replace(head, user_agent=CHROME_UA.replace(".0.0.0", f".0.{build}.0", 1))


def test_never_seen_builds_of_one_browser_share_one_evaluation() -> None:
    # A flood rotating Chrome build numbers must not make every request a full evaluation.
    fp = Fingerprint(verifier=False)
    first = check(fp, _chrome_build(CHROME_NAV, 6000))
    for build in range(6001, 6200):
        v = check(fp, _chrome_build(CHROME_NAV, build))
        assert (v.action, v.rule, v.weight) == (first.action, first.rule, first.weight)
    assert len(fp._cache) == 1
    # ... while what the parse reads still tells heads apart (another platform, a headless UA).
    check(fp, replace(CHROME_NAV, user_agent=CHROME_UA.replace("Chrome/", "HeadlessChrome/")))
    assert len(fp._cache) == 2
    assert check(fp, _chrome_build(IMPOSTOR, 6001)).weight >= 6


def test_a_signal_of_your_own_sees_every_raw_user_agent() -> None:
    @signal("build-6001", 4.0, cacheable=True)
    def build_6001(h: Head) -> object:
        return ".0.6001." in h.ua_raw

    fp = Fingerprint(verifier=False, extra_signals=[build_6001])
    plain = check(fp, _chrome_build(CHROME_NAV, 6000)).weight
    assert check(fp, _chrome_build(CHROME_NAV, 6001)).weight > plain
    assert check(fp, _chrome_build(CHROME_NAV, 6002)).weight == plain
    assert len(fp._cache) == 3


def test_allow_and_deny_ua_lists_see_the_raw_text_through_the_cache() -> None:
    fp = Fingerprint(verifier=False, deny_ua=[r"\.0\.6001\."])
    assert check(fp, _chrome_build(CHROME_NAV, 6000)).action is Action.PASS
    assert check(fp, _chrome_build(CHROME_NAV, 6001)).action is Action.DENY
    assert check(fp, _chrome_build(CHROME_NAV, 6002)).action is Action.PASS


_HEADS = [CHROME_NAV, FIREFOX_NAV, CURL, IMPOSTOR]
_EXTRA = st.lists(
    st.tuples(
        st.sampled_from(["Accept", "sec-fetch-mode", "X-Junk", "user-agent", "Sec-CH-UA", "dnt"]),
        st.sampled_from(["", "*/*", "navigate", "curl/8.0", '"Chromium";v="131"', "1"]),
    ),
    max_size=4,
)


_SHARED = Fingerprint(verifier=False)


@given(st.sampled_from(_HEADS), _EXTRA, st.booleans())
def test_the_raw_key_and_the_decoded_key_give_one_verdict(head, extra, twice) -> None:
    # ASGI heads are keyed off the raw lines, hand-built ones off decoded text: same verdicts.
    lines = [*head, *extra]
    raw = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in lines]
    scope = {"type": "http", "method": "GET", "path": "/", "headers": raw, "scheme": "https"}
    by_raw, by_text = _SHARED, Fingerprint(verifier=False)  # one cache across every example
    for _ in range(2 if twice else 1):  # the second round answers from each cache
        a = by_raw.check(Facts.from_scope(scope), Progress())
        text = [(k.lower(), v) for k, v in lines]  # hand-built facts take lower-case names
        b = by_text.check(Facts("GET", "/", text, scheme="https"), Progress())
        assert (a.action, a.rule, a.weight) == (b.action, b.rule, b.weight)
    assert Facts.from_scope(scope).raw_headers is not None
    assert Facts("GET", "/", lines).raw_headers is None
