"""Client identity behind proxies: a named table of cases, then properties."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shieldware import ConfigurationError, Facts, TrustedProxies
from shieldware.clientip import network_of, parse_ip

_TRUST_NOTHING = TrustedProxies()
_TRUST_LOCAL = TrustedProxies(["127.0.0.1"])
_TRUST_CHAIN = TrustedProxies(["127.0.0.1", "10.0.0.0/8"])
_TRUST_V6 = TrustedProxies(["::1", "fd00::/8"])
_FWD_LOCAL = TrustedProxies(["127.0.0.1"], header="forwarded")
_TRUST_UNIX = TrustedProxies(["unix"])


def scope(peer: str | None, *headers: tuple[str, str]) -> dict[str, object]:
    return {
        "type": "http",
        "method": "GET",
        "path": "/",
        "headers": [(k.encode(), v.encode()) for k, v in headers],
        "client": (peer, 1234) if peer else None,
    }


CASES = [
    pytest.param(_TRUST_NOTHING, "1.2.3.4", [], "1.2.3.4", id="no-proxy-plain"),
    pytest.param(
        _TRUST_NOTHING,
        "1.2.3.4",
        [("x-forwarded-for", "9.9.9.9")],
        "1.2.3.4",
        id="spoofed-xff-from-untrusted-peer",
    ),
    pytest.param(
        _TRUST_NOTHING,
        "1.2.3.4",
        [("forwarded", "for=9.9.9.9")],
        "1.2.3.4",
        id="spoofed-forwarded-from-untrusted-peer",
    ),
    pytest.param(
        _TRUST_LOCAL,
        "127.0.0.1",
        [("x-forwarded-for", "5.6.7.8")],
        "5.6.7.8",
        id="one-trusted-proxy",
    ),
    pytest.param(
        _TRUST_LOCAL,
        "127.0.0.1",
        [("x-forwarded-for", "9.9.9.9, 5.6.7.8")],
        "5.6.7.8",
        id="client-prepended-a-lie",
    ),
    pytest.param(
        _TRUST_CHAIN,
        "127.0.0.1",
        [("x-forwarded-for", "9.9.9.9, 5.6.7.8, 10.1.2.3")],
        "5.6.7.8",
        id="trusted-chain",
    ),
    pytest.param(
        _TRUST_CHAIN,
        "127.0.0.1",
        [("x-forwarded-for", "9.9.9.9"), ("x-forwarded-for", "5.6.7.8, 10.0.0.1")],
        "5.6.7.8",
        id="multiple-xff-lines",
    ),
    pytest.param(
        _TRUST_CHAIN,
        "127.0.0.1",
        [("x-forwarded-for", "5.6.7.8"), ("x-forwarded-for", "10.0.0.1")],
        "5.6.7.8",
        id="multiple-xff-lines-last-trusted",
    ),
    pytest.param(
        _TRUST_CHAIN,
        "127.0.0.1",
        [("x-forwarded-for", "10.0.0.9, 10.0.0.1")],
        "10.0.0.9",
        id="all-hops-trusted",
    ),
    pytest.param(
        _TRUST_LOCAL, "127.0.0.1", [("x-forwarded-for", "garbage")], "127.0.0.1", id="garbage-xff"
    ),
    pytest.param(
        _TRUST_CHAIN,
        "127.0.0.1",
        [("x-forwarded-for", "1.1.1.1, garbage, 10.0.0.2")],
        "10.0.0.2",
        id="garbage-in-the-middle-stops-the-walk",
    ),
    pytest.param(
        _TRUST_LOCAL,
        "127.0.0.1",
        [("x-forwarded-for", "5.6.7.8:4711")],
        "5.6.7.8",
        id="xff-ipv4-with-port",
    ),
    pytest.param(_TRUST_LOCAL, "127.0.0.1", [("x-forwarded-for", "")], "127.0.0.1", id="empty-xff"),
    pytest.param(
        _FWD_LOCAL,
        "127.0.0.1",
        [("forwarded", 'for="[2001:db8:cafe::17]:4711";proto=https')],
        "2001:db8:cafe::17",
        id="forwarded-quoted-ipv6-port",
    ),
    pytest.param(
        _FWD_LOCAL,
        "127.0.0.1",
        [("forwarded", "for=9.9.9.9, for=5.6.7.8;by=127.0.0.1")],
        "5.6.7.8",
        id="forwarded-two-elements",
    ),
    pytest.param(
        _FWD_LOCAL,
        "127.0.0.1",
        [("forwarded", "for=unknown")],
        "127.0.0.1",
        id="forwarded-unknown",
    ),
    pytest.param(
        _FWD_LOCAL,
        "127.0.0.1",
        [("forwarded", "for=_hidden")],
        "127.0.0.1",
        id="forwarded-obfuscated",
    ),
    pytest.param(
        _TRUST_LOCAL,
        "127.0.0.1",
        [("forwarded", "for=5.6.7.8"), ("x-forwarded-for", "9.9.9.9")],
        "9.9.9.9",
        id="client-sent-forwarded-is-ignored-when-proxy-writes-xff",
    ),
    pytest.param(
        _FWD_LOCAL,
        "127.0.0.1",
        [("forwarded", "for=5.6.7.8"), ("x-forwarded-for", "9.9.9.9")],
        "5.6.7.8",
        id="client-sent-xff-is-ignored-when-proxy-writes-forwarded",
    ),
    pytest.param(
        _FWD_LOCAL,
        "127.0.0.1",
        [("forwarded", 'for=9.9.9.9;x=", for=203.0.113.9')],
        "203.0.113.9",
        id="unbalanced-quote-cannot-swallow-the-proxy-hop",
    ),
    pytest.param(
        _TRUST_LOCAL,
        "127.0.0.1",
        [("x-forwarded-for", "1" * 8170 + ", 198.51.100.7, 203.0.113.9")],
        "203.0.113.9",
        id="long-xff-keeps-the-proxy-hops",
    ),
    pytest.param(
        _TRUST_LOCAL,
        "127.0.0.1",
        [
            ("x-forwarded-for", "198.51.100.77"),
            *[("x-junk", "a")] * 210,
            ("x-forwarded-for", "203.0.113.9"),
        ],
        "203.0.113.9",
        id="forwarding-lines-past-the-header-cap-still-count",
    ),
    pytest.param(
        _TRUST_UNIX, None, [("x-forwarded-for", "5.6.7.8")], "5.6.7.8", id="trusted-unix-socket"
    ),
    pytest.param(
        _FWD_LOCAL,
        "127.0.0.1",
        [("forwarded", 'for="5.6.7.8, x"')],
        "127.0.0.1",
        id="forwarded-quoted-garbage",
    ),
    pytest.param(
        _TRUST_V6, "::1", [("x-forwarded-for", "2001:db8::5")], "2001:db8::5", id="ipv6-proxy"
    ),
    pytest.param(
        _TRUST_LOCAL,
        "::ffff:127.0.0.1",
        [("x-forwarded-for", "5.6.7.8")],
        "5.6.7.8",
        id="ipv4-mapped-peer-is-trusted",
    ),
    pytest.param(_TRUST_LOCAL, "::ffff:5.6.7.8", [], "5.6.7.8", id="ipv4-mapped-normalised"),
    pytest.param(_TRUST_LOCAL, None, [("x-forwarded-for", "5.6.7.8")], None, id="unix-socket-peer"),
]


@pytest.mark.parametrize(("trusted", "peer", "headers", "expected"), CASES)
def test_client_resolution(
    trusted: TrustedProxies,
    peer: str | None,
    headers: list[tuple[str, str]],
    expected: str | None,
) -> None:
    facts = Facts.from_scope(scope(peer, *headers), trusted)
    assert (str(facts.client_ip) if facts.client_ip else None) == expected


def test_bad_proxy_config_is_rejected() -> None:
    with pytest.raises(ConfigurationError, match="not an IP"):
        TrustedProxies(["10.0.0.0/33"])
    with pytest.raises(ConfigurationError, match="unsupported"):
        TrustedProxies(["127.0.0.1"], header="x-real-ip")


def test_trusts_nothing_by_default() -> None:
    assert not TrustedProxies()
    assert parse_ip("127.0.0.1") not in TrustedProxies()


def test_ipv6_is_keyed_per_64() -> None:
    a = ipaddress.ip_address("2001:db8:1:2:aaaa::1")
    b = ipaddress.ip_address("2001:db8:1:2:ffff::9")
    c = ipaddress.ip_address("2001:db8:1:3::1")
    assert network_of(a) == network_of(b) == "2001:db8:1:2::/64"
    assert network_of(c) != network_of(a)
    assert network_of(ipaddress.ip_address("1.2.3.4")) == "1.2.3.4"
    assert network_of(ipaddress.ip_address("1.2.3.4"), v4_prefix=24) == "1.2.3.0/24"


@given(st.text(max_size=200), st.text(max_size=200))
def test_untrusted_peer_can_never_choose_its_identity(xff: str, fwd: str) -> None:
    facts = Facts.from_scope(
        scope("203.0.113.7", ("x-forwarded-for", xff), ("forwarded", fwd)),
        _TRUST_NOTHING,
    )
    assert str(facts.client_ip) == "203.0.113.7"


@given(st.lists(st.ip_addresses(v=4).map(str) | st.text(max_size=30), max_size=8))
def test_trusted_walk_never_returns_a_trusted_hop_unless_all_are(hops: list[str]) -> None:
    proxies = _TRUST_CHAIN
    xff = ", ".join(h.replace(",", "") for h in hops)
    facts = Facts.from_scope(scope("127.0.0.1", ("x-forwarded-for", xff)), proxies)
    # The result is the peer, a hop that was really in the header, and never raises.
    assert facts.client_ip is not None
    candidates = {str(parse_ip(h)) for h in xff.split(",") if parse_ip(h)} | {"127.0.0.1"}
    assert str(facts.client_ip) in candidates


@given(st.binary(max_size=300))
def test_hostile_header_bytes_never_raise(raw: bytes) -> None:
    s = {
        "type": "http",
        "path": "/",
        "client": ("127.0.0.1", 1),
        "headers": [(b"x-forwarded-for", raw), (b"forwarded", raw), (b"cookie", raw)],
    }
    facts = Facts.from_scope(s, _TRUST_LOCAL)
    facts.cookie("a")
    assert facts.client_ip is not None


@given(
    st.one_of(st.ip_addresses(v=6), st.integers(1, 0xFFFF).map(lambda g: f"{g:x}:1:2:3::9")),
    st.sampled_from([32, 48, 56, 64, 96]),
)
def test_network_text_is_what_ipaddress_writes(address: object, v6_prefix: int) -> None:
    ip = ipaddress.ip_address(str(address))
    expected = str(ipaddress.IPv6Network((int(ip), v6_prefix), strict=False))
    assert network_of(ip, v6_prefix=v6_prefix) == expected


@given(st.ip_addresses())
def test_any_spelling_of_an_address_parses_to_it(address: object) -> None:
    ip = ipaddress.ip_address(str(address))
    spellings = [str(ip)]
    if ip.version == 6:
        spellings += [ip.exploded, ip.exploded.upper(), f"[{ip}]", f"[{ip}]:443"]
    for text in spellings:
        parsed = parse_ip(text)
        assert parsed is not None
        assert int(parsed) == int(ip) or (ip.version == 6 and ip.ipv4_mapped == parsed)
