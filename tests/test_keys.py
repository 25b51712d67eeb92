"""Key functions and their encoding: per-client identity, composition, no collisions, hash tags."""

from __future__ import annotations

import ipaddress
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shieldware import GLOBAL, ConfigurationError, Facts
from shieldware.keys import (
    KeyPlan,
    as_key,
    by_header,
    by_ip,
    by_method,
    by_network,
    by_principal,
    by_route,
    encode_key,
    normalise_path,
    tag_of,
)

KEY_SHAPE = re.compile(r"^sw:\{[0-9a-f]{16}\}:[a-z]+:[0-9a-f]{32}$")


def facts(ip: str | None = "203.0.113.7", **kw: object) -> Facts:
    return Facts(
        kw.pop("method", "GET"),  # type: ignore[arg-type]
        kw.pop("path", "/"),  # type: ignore[arg-type]
        client_ip=ipaddress.ip_address(ip) if ip else None,
        **kw,  # type: ignore[arg-type]
    )


def test_ipv4_is_keyed_per_address_and_ipv6_per_64() -> None:
    assert by_ip(facts("203.0.113.7")) == ("203.0.113.7",)
    assert by_ip(facts("203.0.113.8")) != by_ip(facts("203.0.113.7"))
    a = by_ip(facts("2001:db8:1:2:aaaa::1"))
    b = by_ip(facts("2001:db8:1:2:ffff:ffff:ffff:ffff"))
    c = by_ip(facts("2001:db8:1:3::1"))
    assert a == b == ("2001:db8:1:2::/64",)
    assert c != a
    assert by_network(24, 48)(facts("203.0.113.200")) == ("203.0.113.0/24",)


def test_missing_identity_means_the_rule_does_not_apply() -> None:
    assert by_principal(facts()) is None
    assert by_principal(facts(principal="alice")) == ("alice",)
    assert by_header("X-Api-Key")(facts()) is None
    assert (by_ip + by_principal)(facts()) is None
    assert GLOBAL(facts(None)) == ()


def test_a_client_without_an_address_is_keyed_to_its_peer() -> None:
    """by_ip never lapses (issue 12 #4): no address at all is the unix socket peer."""
    assert by_ip(facts(None)) == ("unix",)
    assert by_network(24, 48)(facts(None)) == ("unix",)
    assert by_ip(facts("203.0.113.7")) != by_ip(facts(None))
    peer_only = Facts("GET", "/", peer_ip=ipaddress.ip_address("198.51.100.9"))
    assert by_ip(peer_only) == ("198.51.100.9",)


def test_composition_and_plain_callables() -> None:
    key = by_ip + by_method + (lambda f: f.host or None)
    assert key(facts(method="POST", host="example.org")) == ("203.0.113.7", "POST", "example.org")
    assert key(facts(method="POST")) is None  # the callable said "no host, no bucket"
    assert as_key(None) is GLOBAL
    with pytest.raises(ConfigurationError):
        as_key(42)  # type: ignore[arg-type]


def test_route_prefers_the_template_and_normalises_raw_paths() -> None:
    assert by_route(facts(path="/items/42", route="/items/{id}")) == ("/items/{id}",)
    assert by_route(facts(path="/items/42/")) == by_route(facts(path="/items/7"))
    assert normalise_path("/u/0f8fad5b-d9cb-469f-a165-70867728950e/x") == "/u/{}/x"
    assert normalise_path("/a/b/c/d/e/f/g/h/i/j") == "/a/b/c/d/e/f/g/h/*"
    assert normalise_path("//login") == "/login"
    assert len(normalise_path("/" + "x" * 10_000)) < 80


def test_header_values_never_reach_the_store() -> None:
    secret = "sk_live_abcdef0123456789"
    values = by_header("x-api-key")(facts(headers=(("x-api-key", secret),)))
    assert values is not None
    assert secret not in values[0]  # hashed before anything keeps it (caches, keys)
    other = by_header("x-api-key")(facts(headers=(("x-api-key", secret + "x"),)))
    assert other != values
    key = encode_key("gcra", "layer", "rule", by_header("x-api-key").labels, values, tag_of(values))
    assert secret not in key
    assert KEY_SHAPE.match(key)


@given(
    st.lists(st.text(max_size=20), min_size=1, max_size=4),
    st.lists(st.text(max_size=20), min_size=1, max_size=4),
)
def test_distinct_inputs_never_share_a_key(a: list[str], b: list[str]) -> None:
    labels_a, labels_b = ["p"] * len(a), ["p"] * len(b)
    key_a = encode_key("gcra", "l", "r", labels_a, a, "t")
    key_b = encode_key("gcra", "l", "r", labels_b, b, "t")
    assert (key_a == key_b) == (a == b)


def test_separator_games_do_not_collide() -> None:
    # limits' key_for joins with "/" so these two collide there.
    one = encode_key("gcra", "l", "r", ["a", "b"], ["1.2.3.4", "/login"], "t")
    two = encode_key("gcra", "l", "r", ["a", "b"], ["1.2.3.4/", "login"], "t")
    assert one != two
    assert encode_key("gcra", "l", "r/x", [], [], "t") != encode_key(
        "gcra", "l/r", "x", [], [], "t"
    )
    assert encode_key("gcra", "l", "r", ["ip"], ["x"], "t") != encode_key(
        "gcra", "l", "r", ["principal"], ["x"], "t"
    )


@given(st.text(max_size=5000))
def test_keys_have_a_fixed_length_whatever_the_client_sends(value: str) -> None:
    key = encode_key("gcra", "layer", "rule", ["header:x"], [value], tag_of([value]))
    assert KEY_SHAPE.match(key)
    assert len(key) == 59


def test_hash_tag_is_the_identity_every_rule_shares() -> None:
    f = facts(path="/items/1")
    plan = KeyPlan("rl", [by_ip, by_ip + by_route])
    assert plan.tag(f) == tag_of(["203.0.113.7"])
    assert plan.tag(f) != plan.tag(facts("198.51.100.1"))  # spread over slots per client
    # A global rule shares nothing with a per-IP rule: every key gets the layer's constant tag.
    mixed = KeyPlan("rl", [GLOBAL, by_ip])
    assert mixed.tag(f) == mixed.tag(facts("198.51.100.1"))
    assert KeyPlan("other", [GLOBAL]).tag(f) != mixed.tag(f)
    # Two by_header("x") calls are distinct parts: correct, merely not shared.
    assert KeyPlan("h", [by_header("x"), by_header("x")]).tag(f) == KeyPlan("h", [GLOBAL]).tag(f)


def test_long_values_are_digested_so_caches_stay_small() -> None:
    key = as_key(lambda f: f.path)
    (short,) = key(facts(path="/a")) or ("",)
    (long,) = key(facts(path="/" + "a" * 8000)) or ("",)
    (other,) = key(facts(path="/" + "a" * 7999 + "b")) or ("",)
    assert short == "/a"
    assert len(long) == 33
    assert long != other
