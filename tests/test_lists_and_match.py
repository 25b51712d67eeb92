"""The IP list layer and the matchers every layer can take."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shieldware import Action, ConfigurationError, Facts, IPList, Shield, TokenBucket
from shieldware.clientip import Networks
from shieldware.match import (
    all_of,
    any_of,
    host,
    method,
    network,
    not_,
    path,
    path_regex,
)


def facts(ip: str | None = "1.2.3.4", **kw: object) -> Facts:
    values: dict[str, object] = {"method": "GET", "path": "/"}
    values.update(kw)
    return Facts(client_ip=ipaddress.ip_address(ip) if ip else None, **values)  # type: ignore[arg-type]


LIST = IPList(allow=["10.1.0.0/16", "2001:db8::/32"], deny=["10.0.0.0/8", "203.0.113.9"])


@pytest.mark.parametrize(
    ("ip", "action", "rule"),
    [
        pytest.param("10.1.2.3", Action.ALLOW, "iplist/allow", id="allow-wins-over-deny"),
        pytest.param("10.2.0.1", Action.DENY, "iplist/deny", id="deny-network"),
        pytest.param("203.0.113.9", Action.DENY, "iplist/deny", id="deny-address"),
        pytest.param("203.0.113.10", Action.PASS, "iplist", id="neighbour-not-listed"),
        pytest.param("2001:db8:5::1", Action.ALLOW, "iplist/allow", id="ipv6-allow"),
        pytest.param("2001:db9::1", Action.PASS, "iplist", id="ipv6-not-listed"),
        pytest.param(None, Action.PASS, "iplist", id="unknown-client"),
    ],
)
def test_ip_list(ip: str | None, action: Action, rule: str) -> None:
    verdict = Shield([LIST]).decide(facts(ip)).trail[0]
    assert verdict.action is action
    assert verdict.rule == rule


def test_ip_list_scoped_by_matcher() -> None:
    layer = IPList(deny=["0.0.0.0/0"], match=path("/admin/*"))
    shield = Shield([layer])
    assert shield.decide(facts(path="/admin/users")).action is Action.DENY
    assert shield.decide(facts(path="/public")).action is Action.ALLOW


def test_bad_list_entries_are_all_reported() -> None:
    with pytest.raises(ConfigurationError) as info:
        IPList(deny=["10.0.0.0/8", "nope", "1.2.3.4/99"])
    assert "nope" in str(info.value)
    assert "1.2.3.4/99" in str(info.value)


@given(st.ip_addresses(v=4), st.integers(8, 32))
def test_network_set_agrees_with_ipaddress(address: ipaddress.IPv4Address, prefix: int) -> None:
    net = ipaddress.ip_network((address, prefix), strict=False)
    nets = Networks([str(net)])
    assert address in nets
    outside = ipaddress.ip_address((int(net.broadcast_address) + 1) % 2**32)
    assert (outside in nets) == (outside in net)


def test_matchers() -> None:
    login = facts(path="/login", method="POST", host="api.example.com:443")
    assert path("/login")(login)
    assert not path("/log")(login)
    assert path("/lo*")(login)
    assert path_regex(r"/log(in|out)")(login)
    assert method("post")(login)
    assert not method("GET")(login)
    assert host("api.example.com")(login)
    assert host("*.example.com")(login)
    assert not host("example.com")(login)
    assert network("1.2.3.0/24")(login)
    assert all_of(path("/login"), method("POST"))(login)
    assert not all_of(path("/login"), method("GET"))(login)
    assert any_of(path("/x"), method("POST"))(login)
    assert not_(path("/x"))(login)
    assert "path" in repr(all_of(path("/login"), method("POST")))


def test_method_get_covers_head() -> None:
    """Attack: a HEAD request reaches the GET view while a layer scoped to GET ignores it."""
    assert method("GET")(facts(method="HEAD"))
    assert method("get", "POST")(facts(method="HEAD"))
    assert not method("POST")(facts(method="HEAD"))
    assert repr(method("GET")) == "method('GET',)"
    shield = Shield([TokenBucket("1/minute", burst=1, match=method("GET"))])
    assert shield.decide(facts(method="GET")).action is Action.ALLOW
    assert shield.decide(facts(method="HEAD")).action is Action.THROTTLE


def test_matcher_configuration_errors() -> None:
    with pytest.raises(ConfigurationError):
        path("login")
    with pytest.raises(ConfigurationError):
        path_regex("(")
    with pytest.raises(ConfigurationError):
        method()
    with pytest.raises(ConfigurationError):
        network("300.1.1.1")
