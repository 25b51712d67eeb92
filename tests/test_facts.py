"""Facts read lazily, and read a header the way the app will (issue 12 #2, #3, #5).

A named table for the header view, then the same attacks through real uvicorn (h11 and
httptools): a padded head or a second key line must not escape a per-key quota.
"""

from __future__ import annotations

import ipaddress
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from shieldware import (
    BadRequest,
    ConfigurationError,
    Facts,
    Quota,
    Shield,
    ShieldMiddleware,
    TrustedProxies,
    by_header,
)
from tests.servers import run_asgi


def scope(*headers: tuple[str, str], peer: str = "198.51.100.7", **extra: Any) -> dict[str, Any]:
    return {
        "type": "http",
        "method": "GET",
        "path": "/",
        "scheme": "http",
        "headers": [(k.encode(), v.encode()) for k, v in headers],
        "client": (peer, 5000),
        **extra,
    }


PADDING = tuple((f"x-pad-{i}", "1") for i in range(300))

HEADER_VIEW = [
    pytest.param([("x-api-key", "real"), ("x-api-key", "junk")], "x-api-key", "real", id="first"),
    pytest.param([*PADDING, ("x-api-key", "real")], "x-api-key", "real", id="after-300-lines"),
    pytest.param([("host", "a.example"), ("host", "b.example")], "host", "a.example", id="host"),
    pytest.param([("cookie", "a=1"), ("cookie", "b=2")], "cookie", "a=1; b=2", id="cookies-join"),
    pytest.param([("accept", "text/html")], "x-api-key", None, id="absent"),
]


@pytest.mark.parametrize(("headers", "name", "expected"), HEADER_VIEW)
def test_a_header_reads_as_the_app_reads_it(
    headers: list[tuple[str, str]], name: str, expected: str | None
) -> None:
    assert Facts.from_scope(scope(*headers)).header(name) == expected
    # the same through Starlette, which is what the app sees (cookies aside: RFC 9113 joins them)
    if name != "cookie":
        assert Request(scope(*headers)).headers.get(name) == expected


def test_facts_built_by_hand_read_the_same_way() -> None:
    facts = Facts("GET", "/", headers=[("x-api-key", "real"), ("x-api-key", "junk")])
    assert facts.header("x-api-key") == "real"
    assert facts.headers == (("x-api-key", "real"), ("x-api-key", "junk"))


def test_the_header_list_is_capped_but_lookups_are_not() -> None:
    facts = Facts.from_scope(scope(*PADDING, ("x-api-key", "real")))
    assert len(facts.headers) == 200
    assert facts.header("x-api-key") == "real"


TRUST = TrustedProxies(["127.0.0.1"])
FORWARDED = TrustedProxies(["127.0.0.1"], header="forwarded")


@pytest.mark.parametrize(
    ("proxies", "peer", "headers", "scheme"),
    [
        pytest.param(TRUST, "127.0.0.1", [("x-forwarded-proto", "https")], "https", id="xfp"),
        pytest.param(
            TRUST, "127.0.0.1", [("x-forwarded-proto", "http, https")], "https", id="last"
        ),
        pytest.param(
            TRUST, "198.51.100.7", [("x-forwarded-proto", "https")], "http", id="untrusted"
        ),
        pytest.param(
            TrustedProxies(), "127.0.0.1", [("x-forwarded-proto", "https")], "http", id="none"
        ),
        pytest.param(TRUST, "127.0.0.1", [("x-forwarded-proto", "gopher")], "http", id="unknown"),
        pytest.param(
            FORWARDED, "127.0.0.1", [("forwarded", "for=1.2.3.4;proto=https")], "https", id="fwd"
        ),
        pytest.param(
            TRUST, "127.0.0.1", [("forwarded", "for=1.2.3.4;proto=https")], "http", id="other"
        ),
    ],
)
def test_the_scheme_comes_from_a_trusted_proxy_only(
    proxies: TrustedProxies, peer: str, headers: list[tuple[str, str]], scheme: str
) -> None:
    facts = Facts.from_scope(scope(*headers, peer=peer), proxies)
    assert facts.scheme == scheme
    assert facts.secure is (scheme == "https")


def test_client_is_resolved_once_and_memoised_per_proxies() -> None:
    proxies = TrustedProxies(["127.0.0.1"])
    first = Facts.from_scope(scope(("x-forwarded-for", "203.0.113.9"), peer="127.0.0.1"), proxies)
    again = Facts.from_scope(scope(("x-forwarded-for", "203.0.113.9"), peer="127.0.0.1"), proxies)
    assert first.client is again.client
    assert first.client_ip == ipaddress.ip_address("203.0.113.9")
    assert first.from_trusted_proxy
    assert not Facts.from_scope(scope(), proxies).from_trusted_proxy


def test_with_changes_plain_fields_only() -> None:
    facts = Facts.from_scope(scope(("host", "a.example")))
    routed = facts.with_(principal="alice", route="/items/{id}")
    assert (routed.principal, routed.route, routed.host) == ("alice", "/items/{id}", "a.example")
    assert facts.principal is None
    with pytest.raises(TypeError, match="headers"):
        facts.with_(headers=[])


def _quota_app() -> Any:
    async def hello(request: Request) -> PlainTextResponse:
        return PlainTextResponse("key " + request.headers.get("x-api-key", "-"))

    shield = Shield([Quota("2/hour", key=by_header("x-api-key"))])
    return ShieldMiddleware(Starlette(routes=[Route("/", hello)]), shield=shield)


@pytest.mark.parametrize("http", ["h11", "httptools"])
def test_a_key_quota_holds_against_padding_and_second_lines(http: str) -> None:
    with run_asgi(_quota_app(), http=http) as base, httpx.Client(base_url=base) as client:
        statuses = [client.get("/", headers={"x-api-key": "real"}).status_code for _ in range(2)]
        assert statuses == [200, 200]
        padded = client.get("/", headers=[*PADDING, ("x-api-key", "real")])
        second = client.get("/", headers=[("x-api-key", "real"), ("x-api-key", "fresh-1")])
        third = client.get("/", headers=[("x-api-key", "real"), ("x-api-key", "fresh-2")])
        assert (padded.status_code, second.status_code, third.status_code) == (429, 429, 429)
        assert client.get("/", headers={"x-api-key": "other"}).text == "key other"


def test_an_ipv4_mapped_client_is_the_ipv4_client_however_facts_are_built() -> None:
    mapped = ipaddress.ip_address("::ffff:192.0.2.7")
    by_hand = Facts("GET", "/", client_ip=mapped)
    served = Facts.from_scope(scope(peer="::ffff:192.0.2.7"))
    assert by_hand.client_ip == served.client_ip == ipaddress.ip_address("192.0.2.7")
    assert by_hand.client.network() == served.client.network() == "192.0.2.7"


_NAMES = st.sampled_from(["accept", "Accept", "X-Api-Key", "x-api-key", "host", "cookie", "via"])


@given(
    st.lists(st.tuples(_NAMES, st.text(alphabet=st.characters(max_codepoint=255), max_size=8))),
    st.sampled_from(["accept", "x-api-key", "host", "cookie", "via", "absent"]),
)
def test_the_first_lookup_reads_what_the_index_reads(
    lines: list[tuple[str, str]], name: str
) -> None:
    # A lone lookup scans the raw lines; later ones use the index: both give the app's view.
    raw = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in lines]
    scope = {"type": "http", "method": "GET", "path": "/", "headers": raw}
    scanned = Facts.from_scope(scope).header(name)
    indexed = Facts.from_scope(scope).header_index.get(name)
    assert scanned == indexed


def test_a_lone_lookup_of_unreadable_lines_is_a_bad_request() -> None:
    scope = {"type": "http", "method": "GET", "path": "/", "headers": [(b"accept", 7)]}
    with pytest.raises(BadRequest):
        Facts.from_scope(scope).header("accept")


def test_a_header_name_no_server_sends_reads_as_absent() -> None:
    scope = {"type": "http", "method": "GET", "path": "/", "headers": [(b"accept", b"*/*")]}
    assert Facts.from_scope(scope).header("x-clé€") is None
    with pytest.raises(ConfigurationError, match="header name"):
        by_header("X-Clé€")
