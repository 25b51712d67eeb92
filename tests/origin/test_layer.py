"""`OriginList` and the origin keys through `Shield.decide`: lists, and one budget per network."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from shieldware import Action, Facts, Shield, Threshold, Verdict
from shieldware.errors import ConfigurationError
from shieldware.layer import Challenger, Flow, Progress
from shieldware.layers import OriginList, ProofOfWork, TokenBucket
from shieldware.origin import Category, OriginDB, by_asn, by_org
from shieldware.secret import generate_secret

from .helpers import compact_db

ip = ipaddress.ip_address


@pytest.fixture
def origins(tmp_path: Path) -> OriginDB:
    return OriginDB(compact_db(tmp_path), check_every=None)


def facts(address: str | None, path: str = "/") -> Facts:
    return Facts(
        "GET", path, (("user-agent", "Mozilla/5.0"),), None if address is None else ip(address)
    )


@pytest.mark.parametrize(
    ("address", "action", "rule"),
    [
        ("3.1.1.1", Action.DENY, "origin/deny"),  # hosting
        ("5.6.7.8", Action.ALLOW, "origin/allow"),  # hosting, but allow-listed by AS
        ("81.0.0.1", Action.DENY, "origin/deny"),  # country
        ("1.0.0.1", Action.ALLOW, "default/allow"),  # listed nowhere
        ("9.9.9.9", Action.ALLOW, "default/allow"),  # unknown everywhere
        (None, Action.ALLOW, "default/allow"),
    ],
)
def test_lists(origins: OriginDB, address: str | None, action: Action, rule: str) -> None:
    layer = OriginList(origins, allow=["AS24940"], deny=["hosting", "country:FR"])
    decision = Shield([layer]).decide(facts(address))
    assert (decision.action, decision.verdict.rule) == (action, rule)


def test_verdict_explains_the_origin(origins: OriginDB) -> None:
    decision = Shield([OriginList(origins, deny=[16509])]).decide(facts("3.1.1.1"))
    assert dict(decision.verdict.detail) == {
        "asn": 16509,
        "org": "Amazon.com",
        "category": "hosting",
        "country": "US",
    }


def test_challenge_adds_weight_for_the_chains_threshold(origins: OriginDB) -> None:
    pow_layer = ProofOfWork(secret=generate_secret(), match=lambda f: False)
    shield = Shield(
        [OriginList(origins, challenge=["hosting"]), pow_layer],
        thresholds=[Threshold(10, Action.CHALLENGE, "score")],
    )
    assert shield.decide(facts("3.1.1.1")).action is Action.CHALLENGE
    assert shield.decide(facts("1.0.0.1")).action is Action.ALLOW


def test_challenge_with_a_challenger(origins: OriginDB) -> None:
    pow_layer = ProofOfWork(secret=generate_secret(), match=lambda f: False)
    layer = OriginList(origins, challenge=["US"], challenger=pow_layer)
    decision = Shield([layer]).decide(facts("3.1.1.1"))
    assert decision.action is Action.CHALLENGE


def test_match_limits_the_layer(origins: OriginDB) -> None:
    layer = OriginList(origins, deny=["hosting"], match=lambda f: f.path == "/signup")
    assert Shield([layer]).decide(facts("3.1.1.1", "/")).action is Action.ALLOW
    assert Shield([layer]).decide(facts("3.1.1.1", "/signup")).action is Action.DENY


def test_bad_entries_are_all_reported(origins: OriginDB) -> None:
    with pytest.raises(ConfigurationError) as info:
        OriginList(origins, allow=["ASx"], deny=["country:FRA", "cloud"], challenge_weight=0)
    message = str(info.value)
    assert "'ASx'" in message
    assert "'FRA'" in message
    assert "'cloud'" in message
    assert "challenge_weight" in message


def test_a_single_string_is_one_entry(origins: OriginDB) -> None:
    layer = OriginList(origins, deny="hosting")
    assert layer.denied.categories == {"hosting"}
    assert not isinstance(layer, Challenger)
    assert "hosting" in repr(layer)


def test_a_failing_lookup_is_not_a_500() -> None:
    class Broken:
        def origin_for(self, client: object) -> object:
            raise RuntimeError("boom")

    decision = Shield([OriginList(Broken(), deny=["hosting"])]).decide(facts("3.1.1.1"))  # type: ignore[arg-type]
    assert decision.action is Action.ALLOW
    assert decision.degraded


def test_one_decision_per_origin(origins: OriginDB) -> None:
    layer = OriginList(origins, allow=["AS24940"], deny=["hosting"])
    shield = Shield([layer])
    first = shield.decide(facts("3.1.1.1")).verdict
    again = shield.decide(facts("3.200.0.9")).verdict  # another AWS address, the same origin
    assert first is again
    assert first.rule == "origin/deny"
    with pytest.raises(TypeError):
        first.detail["asn"] = 1  # type: ignore[index]  # shared by every request: read-only
    assert shield.decide(facts("5.6.7.8")).verdict.rule == "origin/allow"
    assert len(layer._decided) == 2


def test_the_challenger_is_asked_on_every_request(origins: OriginDB) -> None:
    pow_layer = ProofOfWork(secret=generate_secret(), match=lambda f: False)
    asked: list[str] = []

    class Counting:
        ops = pow_layer.ops

        def challenge(self, facts: Facts, progress: Progress) -> Verdict | Flow:
            asked.append(facts.path)
            return pow_layer.challenge(facts, progress)

    shield = Shield([OriginList(origins, challenge=["hosting"], challenger=Counting())])
    for path in ("/a", "/b", "/c"):
        assert shield.decide(facts("3.1.1.1", path)).action is Action.CHALLENGE
    assert asked == ["/a", "/b", "/c"]


def test_ops_and_inert(origins: OriginDB) -> None:
    pow_layer = ProofOfWork(secret=generate_secret())
    assert OriginList(origins, challenge=["hosting"], challenger=pow_layer).ops == pow_layer.ops
    assert OriginList(origins, deny=["hosting"]).ops == frozenset()
    assert OriginList(origins).inert
    assert not OriginList(origins, challenge=["FR"]).inert
    assert Shield([OriginList(origins)]).inert  # nothing listed: left out of the chain


def test_keys_share_one_entry_per_slash_64(origins: OriginDB) -> None:
    key = by_asn(origins)
    assert {key(facts(f"2a01:4f8:0:1::{i:x}")) for i in range(1, 50)} == {("AS24940",)}
    assert len(origins._state.memo) == 1


# -- keys: a flood rotating through one hosting AS is held to that AS's budget -----------------
def test_rotating_flood_is_held_to_one_asn_budget(origins: OriginDB) -> None:
    bucket = TokenBucket("20/hour", key=by_asn(origins, categories={Category.HOSTING}))
    shield = Shield([bucket])
    flood = [ipaddress.IPv4Address(0x03000000 + 257 * i) for i in range(300)]  # 300 AWS addresses
    admitted = sum(not shield.decide(facts(str(a))).answered for a in flood)
    assert admitted == 20
    # a client of another hosting AS has its own budget; a non-hosting one is not counted here
    assert not shield.decide(facts("5.6.7.8")).answered
    for _ in range(50):
        assert not shield.decide(facts("1.0.0.7")).answered


def test_rotating_ipv6_flood_is_held_to_one_asn_budget(origins: OriginDB) -> None:
    bucket = TokenBucket("20/hour", key=by_asn(origins, categories={Category.HOSTING}))
    shield = Shield([bucket])
    # 300 /64s of Hetzner's 2a01:4f8::/32, one address in each: 300 clients to a per-/64 key
    flood = [ip(f"2a01:4f8:{i >> 16:x}:{i & 0xFFFF:x}::{i + 1:x}") for i in range(300)]
    assert len({str(a) for a in flood}) == 300
    admitted = sum(not shield.decide(facts(str(a))).answered for a in flood)
    assert admitted == 20
    assert not shield.decide(facts("2001:db8::9")).answered  # an AS that is not hosting


def test_the_same_flood_per_address_is_not_held() -> None:
    from shieldware.keys import by_ip

    shield = Shield([TokenBucket("20/hour", key=by_ip)])
    flood = [ipaddress.IPv4Address(0x03000000 + 257 * i) for i in range(300)]
    assert sum(not shield.decide(facts(str(a))).answered for a in flood) == 300


def test_key_values(origins: OriginDB) -> None:
    asn, org = by_asn(origins), by_org(origins, categories=["hosting"])
    assert asn(facts("3.1.1.1")) == ("AS16509",)
    assert asn(facts("9.9.9.9")) is None
    assert asn(facts(None)) is None
    assert org(facts("2a01:4f8::1")) == ("hetzner online gmbh",)
    assert org(facts("81.0.0.1")) is None  # not hosting
    assert repr(asn) == "asn"
    assert repr(org) == "org:hosting"
    with pytest.raises(ConfigurationError, match="categories"):
        by_asn(origins, categories=["cloud"])
    with pytest.raises(ConfigurationError, match="categories"):
        by_org(origins, categories=[])
