"""Hostile requests through both adapters, directly and through real servers.

Promise kept here: attacker input yields a verdict or a clean 4xx, never an exception or a 500.
Headers are huge, duplicated, non-UTF-8 or full of control characters; cookies, query strings,
paths and the peer address are garbage; forwarding headers are forged.
"""

from __future__ import annotations

import asyncio
import io
import sys
import warnings
from typing import Any
from wsgiref.validate import validator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shieldware import ShieldMiddleware, ShieldWSGIMiddleware

from .helpers import (
    Captured,
    asgi_hello,
    assert_clean_response,
    hostile_shield,
    raw_request,
    status_of,
    uvicorn_server,
    wsgi_hello,
    wsgi_server,
)

# -- strategies --------------------------------------------------------------------------------
FORWARDING = [
    b"x-forwarded-for",
    b"forwarded",
    b"x-real-ip",
    b"cookie",
    b"user-agent",
    b"accept",
    b"host",
    b"authorization",
    b"accept-language",
    b"sec-ch-ua",
    b"content-length",
    b"shieldware-clearance",
    b"shieldware-pow-answer",
]
NASTY = [
    b"sw_pow=k1.AAAA.1795892118.1795893918.0.0.xx.pow.sig",
    b"k1." + b"A" * 5000,
    b"k1....;;;,,,",
    b"c1.x.y;1,2,3,4",
    b"",
    b" ",
    b"\x00",
    b"\xff\xfe\xfd",
    b"\xc3\x28",
    b"\xed\xa0\x80",
    b'for="[::1',
    b"for=unknown",
    b"1.2.3.4, , ,",
    b"::ffff:1.2.3.4",
    b"[2001:db8::1]:99999",
    b"999.1.1.1",
    b"a" * 9000,
    b"\x1b[31m",
    b"\t\t",
    b"=;=;=;",
    b"__Host-x=\xff",
    b"203.0.113.9",
    b"198.51.100.7",
    b'for=203.0.113.9;proto=http, for="[2001:db8:dead::1]:80"',
    b"%00%ff",
    b"\\x00",
    b"text/html",
    b"application/problem+json",
    b"*/*;q=\xff",
]
header_name = st.one_of(
    st.sampled_from(FORWARDING),
    st.binary(min_size=1, max_size=40).map(lambda b: b.lower()),
)
header_value = st.one_of(
    st.sampled_from(NASTY),
    st.binary(max_size=300),
    st.binary(min_size=9000, max_size=20000),  # past the facts' value cap
    st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass")),
)
headers = st.lists(st.tuples(header_name, header_value), max_size=40)
many_duplicates = st.builds(
    lambda v, n: [(b"x-forwarded-for", v)] * n, header_value, st.integers(1, 300)
)
peer = st.one_of(
    st.none(),
    st.tuples(
        st.sampled_from(
            [
                "127.0.0.1",
                "::1",
                "10.1.2.3",
                "203.0.113.9",
                "198.51.100.7",
                "not-an-ip",
                "",
                "fe80::1%eth0",
                "999.9.9.9",
                "2001:db8:dead::5",
            ]
        ),
        st.integers(0, 65535),
    ),
)
path = st.one_of(
    st.sampled_from(
        [
            "/",
            "/login",
            "/login/x",
            "/.shieldware/pow/verify",
            "/.shieldware/pow/x.js",
            "/api/x",
            "//",
            "/%00",
            "/\x00",
            "/" + "a" * 9000,
        ]
    ),
    st.text(max_size=300).map(lambda t: "/" + t),
)
query = st.one_of(
    st.sampled_from([b"", b"a=1&a=2", b"%", b"&&==&", b"x=\xff\xfe", b"=" * 5000]),
    st.binary(max_size=400),
)
method = st.sampled_from(
    ["GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "PATCH", "get", "BREW", "", "G\x00T"]
)

SHIELD = hostile_shield()
SHADOW = hostile_shield(mode="shadow")


def _scope(
    hdrs: list[tuple[bytes, bytes]], client: Any, p: str, q: bytes, m: str, kind: str = "http"
) -> dict[str, Any]:
    scope: dict[str, Any] = {
        "type": kind,
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": m,
        "scheme": "http" if kind == "http" else "ws",
        "path": p,
        "raw_path": p.encode("utf-8", "surrogatepass"),
        "root_path": "",
        "query_string": q,
        "headers": hdrs,
        "server": ("127.0.0.1", 8000),
    }
    if client is not None:
        scope["client"] = client
    return scope


# -- ASGI, called directly ---------------------------------------------------------------------
@settings(max_examples=150, deadline=None)
@given(st.one_of(headers, many_duplicates), peer, path, query, method, st.booleans())
def test_asgi_direct_hostile_requests_get_clean_answers(
    hdrs: list[tuple[bytes, bytes]], client: Any, p: str, q: bytes, m: str, shadow: bool
) -> None:
    app = ShieldMiddleware(asgi_hello, shield=SHADOW if shadow else SHIELD)
    out = Captured()
    asyncio.run(app(_scope(hdrs, client, p, q, m), out.receive, out.send))
    assert_clean_response(out.status, out.headers, out.body, m)
    if shadow:
        assert out.status == 200  # shadow mode never blocks


@settings(max_examples=60, deadline=None)
@given(headers, peer, path, query)
def test_asgi_direct_hostile_websocket_is_accepted_or_refused_before_accept(
    hdrs: list[tuple[bytes, bytes]], client: Any, p: str, q: bytes
) -> None:
    reached: list[bool] = []

    async def ws_app(scope: Any, receive: Any, send: Any) -> None:
        reached.append(True)
        await send({"type": "websocket.close", "code": 1000})

    app = ShieldMiddleware(ws_app, shield=SHIELD)
    out = Captured()

    async def receive() -> dict[str, Any]:
        return {"type": "websocket.connect"}

    asyncio.run(app(_scope(hdrs, client, p, q, "GET", kind="websocket"), receive, out.send))
    types = [m["type"] for m in out.messages]
    if not reached:  # refused by the shield: a close, never an accept
        assert types
        assert "websocket.accept" not in types


def test_asgi_direct_denied_client_gets_clean_403_in_every_format() -> None:
    app = ShieldMiddleware(asgi_hello, shield=SHIELD)
    for accept in (b"text/html", b"application/json", b"text/plain", b"\xff\x00", b""):
        out = Captured()
        scope = _scope([(b"accept", accept)], ("203.0.113.9", 1), "/", b"", "GET")
        asyncio.run(app(scope, out.receive, out.send))
        assert out.status == 403
        assert_clean_response(out.status, out.headers, out.body)


def test_asgi_forged_forwarding_from_untrusted_peer_cannot_choose_identity() -> None:
    """A denied client forging X-Forwarded-For / Forwarded is still itself."""
    app = ShieldMiddleware(asgi_hello, shield=SHIELD)
    for name, value in (
        (b"x-forwarded-for", b"198.51.100.7"),
        (b"forwarded", b"for=198.51.100.7"),
        (b"x-real-ip", b"198.51.100.7"),
    ):
        out = Captured()
        asyncio.run(
            app(_scope([(name, value)], ("203.0.113.9", 1), "/", b"", "GET"), out.receive, out.send)
        )
        assert out.status == 403, name


# -- WSGI, called directly ---------------------------------------------------------------------
def _environ(
    hdrs: list[tuple[bytes, bytes]], remote: str, p: str, q: bytes, m: str
) -> dict[str, Any]:
    environ: dict[str, Any] = {
        "REQUEST_METHOD": m,
        "SCRIPT_NAME": "",
        "PATH_INFO": p.encode("utf-8", "surrogatepass").decode("latin-1"),
        "QUERY_STRING": q.decode("latin-1"),
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": remote,
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    for name, value in hdrs:
        key = "HTTP_" + name.decode("latin-1").upper().replace("-", "_")
        if key in ("HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH"):
            continue
        environ[key] = value.decode("latin-1")
    return environ


def _call_wsgi(app: Any, environ: dict[str, Any]) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    seen: dict[str, Any] = {}

    def start_response(status: str, hdrs: list[tuple[str, str]], exc_info: Any = None) -> Any:
        seen["status"], seen["headers"] = status, hdrs
        return lambda data: None

    result = app(environ, start_response)
    try:
        body = b"".join(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    status = int(seen["status"].split()[0])
    return status, [(k.encode("latin-1"), v.encode("latin-1")) for k, v in seen["headers"]], body


@settings(max_examples=150, deadline=None)
@given(
    st.one_of(headers, many_duplicates),
    st.sampled_from(["127.0.0.1", "10.1.2.3", "203.0.113.9", "not-an-ip", "", "::1"]),
    path,
    query,
    method,
)
def test_wsgi_direct_hostile_requests_get_clean_answers(
    hdrs: list[tuple[bytes, bytes]], remote: str, p: str, q: bytes, m: str
) -> None:
    app = ShieldWSGIMiddleware(wsgi_hello, shield=SHIELD)
    status, out_headers, body = _call_wsgi(app, _environ(hdrs, remote, p, q, m))
    assert_clean_response(status, out_headers, body, m)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from(FORWARDING), st.sampled_from(NASTY)), max_size=10),
    st.sampled_from(["127.0.0.1", "203.0.113.9", "10.9.9.9"]),
    st.sampled_from(["GET", "POST", "HEAD"]),
)
def test_wsgi_direct_replies_pass_wsgiref_validator(
    hdrs: list[tuple[bytes, bytes]], remote: str, m: str
) -> None:
    """Refusals and passes alike obey PEP 3333 (wsgiref.validate checks every call)."""
    app = validator(ShieldWSGIMiddleware(validator(wsgi_hello), shield=SHIELD))
    environ = _environ(hdrs, remote, "/", b"", m)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        status, out_headers, body = _call_wsgi(app, environ)
    assert_clean_response(status, out_headers, body, m)


# -- real servers ------------------------------------------------------------------------------
def _raw(m: bytes, target: bytes, hdrs: list[tuple[bytes, bytes]]) -> bytes:
    lines = [m + b" " + target + b" HTTP/1.1", b"Host: localhost"]
    lines += [n + b": " + v for n, v in hdrs]
    lines.append(b"Connection: close")
    return b"\r\n".join(lines) + b"\r\n\r\n"


# Header names and values a server will at least parse (no CR/LF), and bytes it may refuse itself.
wire_name = st.one_of(st.sampled_from(FORWARDING), st.from_regex(rb"\A[a-z0-9-]{1,30}\Z"))
wire_value = st.one_of(
    st.sampled_from([v for v in NASTY if b"\r" not in v and b"\n" not in v]),
    st.binary(max_size=200).map(lambda b: b.replace(b"\r", b"").replace(b"\n", b"")),
)
wire_target = st.one_of(
    st.sampled_from(
        [
            b"/",
            b"/login?x=\xff",
            b"/%00",
            b"/%ff%fe",
            b"/a?" + b"=" * 3000,
            b"/?a=1&a=2&&",
            b"//x",
            b"/" + b"b" * 4000,
        ]
    ),
    st.binary(max_size=100).map(lambda b: b"/" + bytes(c for c in b if c > 32 and c != 127)),
)


def _check_raw(answer: bytes) -> None:
    status = status_of(answer)
    # The server may refuse bytes it cannot parse (400) or close; the app never answers 5xx.
    assert status is None or status < 500, answer[:300]


@pytest.mark.slow
def test_uvicorn_real_server_hostile_requests() -> None:
    app = ShieldMiddleware(asgi_hello, shield=hostile_shield(trusted_proxies=["127.0.0.1"]))
    with uvicorn_server(app) as (port, errors):

        @settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
        @given(
            st.sampled_from([b"GET", b"POST", b"HEAD", b"BREW"]),
            wire_target,
            st.lists(st.tuples(wire_name, wire_value), max_size=25),
        )
        def probe(m: bytes, target: bytes, hdrs: list[tuple[bytes, bytes]]) -> None:
            _check_raw(raw_request(port, _raw(m, target, hdrs)))

        probe()
        # Forged forwarding from the trusted loopback proxy: the denied client is denied.
        answer = raw_request(port, _raw(b"GET", b"/", [(b"X-Forwarded-For", b"203.0.113.9")]))
        assert status_of(answer) == 403
        assert status_of(raw_request(port, _raw(b"GET", b"/", []))) == 200
        assert not errors.records, [r.getMessage() for r in errors.records]


@pytest.mark.slow
def test_threaded_wsgi_real_server_hostile_requests() -> None:
    app = ShieldWSGIMiddleware(wsgi_hello, shield=hostile_shield(trusted_proxies=["127.0.0.1"]))
    with wsgi_server(app) as (port, errors):

        @settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
        @given(
            st.sampled_from([b"GET", b"POST", b"HEAD", b"BREW"]),
            wire_target,
            st.lists(st.tuples(wire_name, wire_value), max_size=25),
        )
        def probe(m: bytes, target: bytes, hdrs: list[tuple[bytes, bytes]]) -> None:
            _check_raw(raw_request(port, _raw(m, target, hdrs)))

        probe()
        answer = raw_request(port, _raw(b"GET", b"/", [(b"X-Forwarded-For", b"203.0.113.9")]))
        assert status_of(answer) == 403
        assert status_of(raw_request(port, _raw(b"GET", b"/", []))) == 200
        assert not errors, errors
