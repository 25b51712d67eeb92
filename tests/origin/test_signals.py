"""The origin signals of the `Fingerprint` layer: scored, explained, shadowable, one lookup each."""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from shieldware import Action, Shield
from shieldware.clientip import Client, Networks
from shieldware.errors import ConfigurationError
from shieldware.fingerprint import BotVerifier, GoodBot, TemporaryLookupError
from shieldware.fingerprint.signals import DEFAULT_SIGNALS, ORIGIN_SIGNALS
from shieldware.layer import Progress
from shieldware.layers import Fingerprint
from shieldware.origin import Origin, OriginDB

from ..fingerprint.helpers import CHROME_NAV, CURL, FIREFOX_NAV, facts
from .helpers import compact_db

AWS, HETZNER6, ISP, GOOGLE, NOWHERE = "3.1.1.1", "2a01:4f8::7", "81.0.0.1", "8.8.8.8", "9.9.9.9"
GOOGLEBOT = [
    ("host", "example.org"),
    ("user-agent", "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"),
    ("accept", "*/*"),
    ("accept-encoding", "gzip, deflate, br"),
]


class Offline:
    """No DNS: every reverse-DNS check stays pending, as on the first request of a new address."""

    def reverse(self, address: str) -> Sequence[str]:
        raise TemporaryLookupError("offline")

    def forward(self, name: str) -> Sequence[str]:
        raise TemporaryLookupError("offline")


class Counting:
    """An `OriginLookup` that counts its calls."""

    def __init__(self, db: OriginDB) -> None:
        self.db, self.calls = db, 0

    def origin_for(self, client: Client) -> Origin:
        self.calls += 1
        return self.db.origin_for(client)


@pytest.fixture
def origins(tmp_path: Path) -> OriginDB:
    return OriginDB(compact_db(tmp_path), check_every=None)


def layer(origins: Any = None, **options: Any) -> Fingerprint:
    options.setdefault("verifier", BotVerifier(resolver=Offline(), workers=1))
    return Fingerprint(origin=origins, **options)


def signals(fp: Fingerprint, headers: list[tuple[str, str]], ip: str) -> dict[str, str]:
    verdict = fp.check(facts(headers, ip=ip), Progress())
    return {name: evidence for name, _, _, evidence in verdict.detail.get("signals", ())}


def test_without_origin_nothing_changes() -> None:
    fp = Fingerprint(verifier=False)
    assert fp.origin is None
    assert [s.name for s in fp.signals] == [s.name for s in DEFAULT_SIGNALS]
    assert not any("origin" in s.needs for s in DEFAULT_SIGNALS)
    with pytest.raises(ConfigurationError, match=r"origin signals need Fingerprint\(origin="):
        Fingerprint(weights={"origin-hosting-browser": 2})


def test_without_origin_the_crawler_asns_are_never_read(
    monkeypatch: pytest.MonkeyPatch, origins: OriginDB
) -> None:
    from shieldware.fingerprint import goodbots

    def refuse(*args: object) -> object:
        raise AssertionError("goodbot-asns.json read")

    monkeypatch.setattr(goodbots, "bot_asns", refuse)
    Fingerprint(verifier=False)  # no origin: not read
    with pytest.raises(AssertionError, match="goodbot-asns"):
        Fingerprint(verifier=False, origin=origins)


def test_import_shieldware_imports_no_origin_module() -> None:
    import subprocess

    code = "import sys, shieldware; print(sorted(m for m in sys.modules if 'origin' in m))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_browser_head_from_a_hosting_network(origins: OriginDB) -> None:
    fp = layer(origins)
    from_cloud = fp.check(facts(CHROME_NAV, ip=AWS), Progress())
    at_home = fp.check(facts(CHROME_NAV, ip=ISP), Progress())
    assert ("origin-hosting-browser", 4.0, "origin", "AS16509 hosting") in from_cloud.detail[
        "signals"
    ]
    assert from_cloud.weight == at_home.weight + 4.0
    assert "origin-hosting-browser" not in signals(fp, CHROME_NAV, ISP)
    assert "origin-hosting-browser" not in signals(fp, CHROME_NAV, NOWHERE)  # unknown AS
    assert signals(fp, FIREFOX_NAV, HETZNER6)["origin-hosting-browser"] == "AS24940 hosting"


def test_a_library_from_a_hosting_network_weighs_little(origins: OriginDB) -> None:
    fp = layer(origins)
    from_cloud = fp.check(facts(CURL, ip=AWS), Progress())
    elsewhere = fp.check(facts(CURL, ip=ISP), Progress())
    fired = signals(fp, CURL, AWS)
    assert fired["origin-hosting-library"] == "AS16509 hosting"
    assert "origin-hosting-browser" not in fired
    assert from_cloud.weight == elsewhere.weight + 0.5
    assert from_cloud.detail["band"] == elsewhere.detail["band"] == "automation"


def test_a_crawler_claim_from_the_wrong_asn(origins: OriginDB) -> None:
    fp = layer(origins)
    # reverse DNS is pending: before, the claim weighed nothing until DNS answered
    wrong = fp.check(facts(GOOGLEBOT, ip=AWS), Progress())
    assert ("origin-bot-wrong-asn", 6.0, "goodbot", "googlebot from AS16509") in wrong.detail[
        "signals"
    ]
    assert wrong.detail["band"] == "challenge"
    assert "origin-bot-wrong-asn" not in signals(fp, GOOGLEBOT, GOOGLE)  # Google's own AS
    assert "origin-bot-wrong-asn" not in signals(fp, GOOGLEBOT, NOWHERE)  # AS unknown: no claim
    # without an origin database the same request scores as before
    before = layer().check(facts(GOOGLEBOT, ip=AWS), Progress())
    assert before.weight == wrong.weight - 6.0


def _mybot() -> BotVerifier:
    bot = GoodBot(
        "mybot",
        "ai-crawler",  # not allowed outright when verified: it is scored
        re.compile("MyBot/"),
        Networks(["3.1.0.0/16"]),
        (),
        "test",
        "2026-12-03",
    )
    return BotVerifier([bot], resolver=Offline(), workers=1)


def test_a_verified_claim_is_believed_and_a_failed_one_counts_once(origins: OriginDB) -> None:
    verifier = _mybot()
    fp = Fingerprint(origin=origins, verifier=verifier, bot_asns={"mybot": ["AS15169"]})
    head = [("host", "example.org"), ("user-agent", "MyBot/1.0"), ("accept", "*/*")]
    inside = fp.check(facts(head, ip="3.1.2.3"), Progress())  # in its ranges, though AS16509
    assert inside.detail["good_bot"]["outcome"] == "verified"
    assert "origin-bot-wrong-asn" not in {s[0] for s in inside.detail["signals"]}
    outside = fp.check(facts(head, ip="3.2.0.1"), Progress())  # outside its ranges, AS16509
    names = {s[0] for s in outside.detail["signals"]}
    assert {"good-bot-unconfirmed", "origin-bot-wrong-asn"} <= names
    assert ("goodbot", 12.0, 6.0) in outside.detail["capped"]  # one fact, counted once
    # an empty list removes the expectation
    fp = Fingerprint(origin=origins, verifier=verifier, bot_asns={"mybot": []})
    assert "origin-bot-wrong-asn" not in signals(fp, head, "3.2.0.1")
    with pytest.raises(ConfigurationError, match="bot_asns"):
        Fingerprint(origin=origins, verifier=verifier, bot_asns={"mybot": ["ASX"]})


def test_origin_signals_are_shadowable_and_weighable(origins: OriginDB) -> None:
    shadowed = layer(origins, shadow_signals=["origin-hosting-browser"])
    plain = layer(origins)
    verdict = shadowed.check(facts(CHROME_NAV, ip=AWS), Progress())
    assert ("origin-hosting-browser", 4.0, "AS16509 hosting") in verdict.detail["shadow"]
    assert verdict.weight == plain.check(facts(CHROME_NAV, ip=ISP), Progress()).weight
    off = layer(origins, weights={"origin-hosting-browser": 0, "origin-hosting-library": 2})
    assert "origin-hosting-browser" not in signals(off, CHROME_NAV, AWS)
    assert off.check(facts(CURL, ip=AWS), Progress()).detail["signals"][-1][:2] == (
        "origin-hosting-library",
        2.0,
    )


def test_one_memoised_lookup_per_request(origins: OriginDB) -> None:
    counting = Counting(origins)
    fp = layer(counting)
    for n, ip in enumerate([AWS, AWS, ISP, "3.9.9.9", GOOGLE], 1):
        fp.check(facts(CHROME_NAV, ip=ip), Progress())
        assert counting.calls == n
    fp.check(facts(GOOGLEBOT, ip=AWS), Progress())  # the good-bot path too
    assert counting.calls == 6
    # verdicts stay shared: the same head from the same AS is the same verdict object
    first = fp.check(facts(CHROME_NAV, ip=AWS), Progress())
    again = fp.check(facts(CHROME_NAV, ip="3.200.0.1"), Progress())
    assert first is again


def test_score_and_explain_include_origin_signals(origins: OriginDB) -> None:
    fp = layer(origins)
    score = fp.score(facts(CHROME_NAV, ip=AWS))
    assert "origin-hosting-browser" in {s[0] for s in score.fired}
    assert "origin-hosting-browser" in {
        s[0] for s in fp.explain(facts(CHROME_NAV, ip=AWS))["signals"]
    }


def test_origin_signals_are_skipped_and_said_so_without_a_browser(origins: OriginDB) -> None:
    verdict = layer(origins).check(facts(CURL, ip=AWS), Progress())
    skipped = dict(verdict.detail["skipped"])
    assert "origin-hosting-browser" in skipped["browser"]


def test_a_failing_lookup_is_not_a_500() -> None:
    class Broken:
        def origin_for(self, client: Client) -> Origin:
            raise RuntimeError("boom")

    shield = Shield([layer(Broken())])
    decision = shield.decide(facts(CHROME_NAV, ip=AWS))
    assert decision.action is Action.ALLOW
    assert decision.degraded


def test_every_origin_signal_is_documented() -> None:
    text = (Path(__file__).resolve().parents[2] / "docs" / "fingerprint.md").read_text()
    for sig in ORIGIN_SIGNALS:
        assert f"`{sig.name}`" in text
