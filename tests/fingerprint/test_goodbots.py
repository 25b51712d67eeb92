"""Verified good bots: published ranges, FCrDNS off the request path, spoofed claims."""

from __future__ import annotations

import ipaddress
import threading

import pytest

from shieldware import Action, ConfigurationError, Shield
from shieldware.fingerprint import BotVerifier, GoodBot, builtin_good_bots
from shieldware.layer import Progress
from shieldware.layers import Fingerprint
from tests.conftest import SECRET

from .helpers import FakeResolver, facts

GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
GPTBOT = "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)"
HEAD = [("user-agent", GOOGLEBOT), ("accept", "*/*"), ("accept-encoding", "gzip")]
# Documentation addresses, outside every published range: only FCrDNS can vouch for them.
REAL = "203.0.113.77"
FAKE = "203.0.113.66"
RESOLVER = FakeResolver(
    {REAL: ["crawl-203-0-113-77.googlebot.com."], FAKE: ["crawl-1.googlebot.com.evil.example"]},
    {"crawl-203-0-113-77.googlebot.com": [REAL]},
)


def ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    return ipaddress.ip_address(text)


def test_snapshot_is_dated_with_sources() -> None:
    bots = builtin_good_bots()
    names = {b.name for b in bots}
    assert {"googlebot", "bingbot", "gptbot", "ccbot", "applebot", "duckduckbot"} <= names
    assert all(b.source for b in bots)
    assert all(b.networks or b.rdns for b in bots)
    assert all(b.date for b in bots if b.networks)


def test_published_googlebot_ranges_verify_without_dns() -> None:
    resolver = FakeResolver({}, {})
    verifier = BotVerifier(resolver=resolver)
    bot = verifier.claimed(GOOGLEBOT)
    assert bot is not None
    inside = next(iter(bot.networks)).split("/")[0]
    assert verifier.verify(bot, ip(inside)).method == "ranges"
    assert resolver.calls == 0


def test_claims_are_recognised() -> None:
    verifier = BotVerifier(resolver=RESOLVER)
    assert verifier.claimed(GOOGLEBOT).name == "googlebot"  # type: ignore[union-attr]
    assert verifier.claimed(GPTBOT).name == "gptbot"  # type: ignore[union-attr]
    assert verifier.claimed("Mozilla/5.0 (Windows NT 10.0)") is None


def test_ranges_verify_or_fail_at_once() -> None:
    verifier = BotVerifier(resolver=RESOLVER)
    gpt = verifier.claimed(GPTBOT)
    assert gpt is not None
    assert verifier.verify(gpt, ip("20.171.206.10")).outcome == "verified"
    failed = verifier.verify(gpt, ip(FAKE))
    assert (failed.outcome, failed.method) == ("failed", "ranges")


def test_fcrdns_is_pending_first_then_cached() -> None:
    resolver = FakeResolver(RESOLVER.ptr, RESOLVER.a)
    verifier = BotVerifier(resolver=resolver)
    bot = verifier.claimed(GOOGLEBOT)
    assert bot is not None
    first = verifier.verify(bot, ip(REAL))
    assert (first.outcome, first.method) == ("unverifiable", "pending")
    verifier.drain()
    assert verifier.verify(bot, ip(REAL)).outcome == "verified"
    calls = resolver.calls
    assert verifier.verify(bot, ip(REAL)).outcome == "verified"
    assert resolver.calls == calls  # cached: no new lookups
    verifier.verify(bot, ip(FAKE))
    verifier.drain()
    assert verifier.verify(bot, ip(FAKE)).outcome == "failed"
    verifier.close()


def test_forward_mismatch_fails() -> None:
    resolver = FakeResolver(
        {REAL: ["crawl-x.googlebot.com"]}, {"crawl-x.googlebot.com": ["1.2.3.4"]}
    )
    verifier = BotVerifier(resolver=resolver)
    bot = verifier.claimed(GOOGLEBOT)
    assert bot is not None
    assert verifier.fcrdns(bot, REAL) is False


def test_pending_queue_is_bounded() -> None:
    gate = threading.Event()

    class Slow(FakeResolver):
        def reverse(self, address: str):  # type: ignore[no-untyped-def]
            gate.wait(5)
            return []

    verifier = BotVerifier(resolver=Slow({}, {}), max_pending=3, workers=1)
    bot = verifier.claimed(GOOGLEBOT)
    assert bot is not None
    methods = [verifier.verify(bot, ip(f"203.0.113.{i}")).method for i in range(10)]
    assert methods.count("pending") == 3
    assert methods.count("busy") == 7
    gate.set()
    verifier.drain()
    verifier.close()


def test_layer_allows_verified_search_bots_and_denies_spoofed_ones() -> None:
    verifier = BotVerifier(resolver=RESOLVER)
    fp = Fingerprint(verifier=verifier)
    assert fp.check(facts(HEAD, ip=REAL), Progress()).action is Action.PASS  # pending
    fp.check(facts(HEAD, ip=FAKE), Progress())
    verifier.drain()
    allowed = fp.check(facts(HEAD, ip=REAL), Progress())
    assert allowed.action is Action.ALLOW
    assert allowed.rule == "fingerprint/verified-bot"
    denied = fp.check(facts(HEAD, ip=FAKE), Progress())
    assert denied.action is Action.DENY
    assert denied.rule == "fingerprint/spoofed-bot"
    assert denied.detail["good_bot"]["method"] == "fcrdns"
    verifier.close()


def test_range_failures_are_soft_and_ai_crawlers_are_not_waved_through() -> None:
    fp = Fingerprint(verifier=BotVerifier(resolver=RESOLVER))
    head = [("user-agent", GPTBOT), ("accept", "*/*")]
    spoofed = fp.check(facts(head, ip=FAKE), Progress())
    assert spoofed.action is Action.PASS
    assert spoofed.detail["band"].startswith("challenge")
    assert spoofed.detail["good_bot"]["outcome"] == "failed"
    real = fp.check(facts(head, ip="20.171.206.10"), Progress())
    assert real.action is Action.PASS
    assert real.detail["band"] == "automation"
    assert real.detail["good_bot"]["outcome"] == "verified"


def test_update_networks_replaces_a_snapshot() -> None:
    verifier = BotVerifier(resolver=RESOLVER)
    verifier.update_networks("gptbot", ["203.0.113.0/24"])
    bot = verifier.claimed(GPTBOT)
    assert isinstance(bot, GoodBot)
    assert bot.date == "runtime"
    assert verifier.verify(bot, ip(FAKE)).outcome == "verified"


def test_bots_that_share_ranges_share_one_set_and_its_updates() -> None:
    by_name = {bot.name: bot for bot in builtin_good_bots()}
    assert by_name["google-inspectiontool"].networks is by_name["googlebot"].networks
    verifier = BotVerifier(resolver=RESOLVER)
    verifier.update_networks("googlebot", ["203.0.113.0/24"])
    fresh = {bot.name: bot.networks for bot in verifier.bots}
    assert fresh["google-inspectiontool"] is fresh["googlebot"]
    assert ip(FAKE) in fresh["google-inspectiontool"]
    assert ip(FAKE) not in fresh["google-other"]


def test_a_bot_may_share_only_an_earlier_bots_ranges() -> None:
    with pytest.raises(ConfigurationError, match="nobody"):
        GoodBot.from_dict({"name": "x", "ua": "X", "networks_of": "nobody"}, {})


def test_every_verifiable_bot_is_known_to_the_packs() -> None:
    """The layer only asks the verifier about UAs some pack knows; none may slip through."""
    from shieldware.fingerprint import UAClassifier, builtin_packs

    classify = UAClassifier(builtin_packs())
    for bot in builtin_good_bots():
        for name in bot.ua.pattern.split("|"):
            sample = name.replace("[A-Za-z]*", "").replace("\\", "")
            assert classify(f"Mozilla/5.0 (compatible; {sample}/1.0)").hits, (bot.name, sample)


def _inside(name: str) -> str:
    """An address inside the first published range of bot `name`."""
    bot = next(b for b in builtin_good_bots() if b.name == name)
    return str(next(ipaddress.ip_network(next(iter(bot.networks))).hosts()))


@pytest.mark.parametrize(
    ("token", "operator"),
    [
        ("Google-Agent", "google-fetchers"),
        ("Google-GeminiNotebook", "google-fetchers"),
        ("GoogleMessages", "google-fetchers"),
        ("Google-Read-Aloud", "google-fetchers"),
        ("FeedFetcher-Google", "google-fetchers"),
        ("Google-InspectionTool", "google-inspectiontool"),
    ],
)
def test_fetchers_acting_for_a_user_pay_like_anyone_else(token: str, operator: str) -> None:
    """Attack: anyone can make these fetch /signup; verified, they were let through outright.
    (The sign-up page itself is free since issue 13; its post, the account action, pays.)"""
    shield = Shield.default(SECRET)
    head = [("user-agent", f"Mozilla/5.0 (compatible; {token}/1.0)"), ("accept", "*/*")]
    decision = shield.decide(facts(head, path="/signup", method="POST", ip=_inside(operator)))
    assert decision.action is Action.CHALLENGE, decision.explain()
    fingerprint = next(v for v in decision.trail if v.rule.startswith("fingerprint"))
    assert fingerprint.detail["good_bot"]["outcome"] == "verified"


def test_verified_crawlers_are_still_allowed_outright() -> None:
    shield = Shield.default(SECRET)
    decision = shield.decide(facts(HEAD, path="/signup", ip=_inside("googlebot")))
    assert decision.action is Action.ALLOW
    assert decision.verdict.rule == "fingerprint/verified-bot"
