"""Secret rotation and forged tokens, through the proof-of-work layer's public contract.

Promise kept here: with secrets ``[old, new]`` (oldest first) the new one signs and both verify, so
clearances signed with the old secret keep working during the grace period; once the old secret is
removed they fail (the client is simply challenged again, never an error). Forged, truncated and
cross-purpose tokens are refused cleanly. Needs `shieldware.pow` (skipped until it has landed).
"""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("shieldware.pow")

from shieldware import MemoryStore, Shield, ShieldMiddleware
from shieldware.facts import Facts
from shieldware.layers import ProofOfWork
from shieldware.layers.challenge import BASE_PATH
from shieldware.pow import solve
from tests.conftest import NEW_SECRET, OLD_SECRET

from .helpers import Captured, asgi_hello, assert_clean_response

OLD, NEW = OLD_SECRET, NEW_SECRET
IP = ipaddress.ip_address("11.0.0.1")
HEADERS = (("accept", "text/html"), ("user-agent", "reliability"))
PAGE = Facts("GET", "/page", headers=HEADERS, client_ip=IP)


def _layer(secret: Any) -> ProofOfWork:
    return ProofOfWork(
        secret,
        count=4,
        bits=3,
        max_bits=3,
        issue_burst=10**6,
        redeem_burst=10**6,
        prefix_burst=10**6,
        meter_burst=10**6,
    )


def _clearance_cookie(shield: Shield) -> str:
    """Get challenged, solve it with the Python solver, redeem it; return the cookie pair."""
    reply = shield.decide(PAGE).verdict.reply
    assert reply is not None
    token = reply.body.decode().split('data-challenge="', 1)[1].split('"', 1)[0]
    nonces = ",".join(map(str, solve(token.split(".")[1], 4, 3)))
    verify = Facts(
        "GET",
        BASE_PATH + "verify",
        headers=HEADERS,
        client_ip=IP,
        query=f"c={token}&s={nonces}&r=/page",
    )
    answer = shield.decide(verify).verdict.reply
    assert answer is not None
    cookie = answer.header("set-cookie")
    assert cookie, answer
    return cookie.split(";", 1)[0]


def _passes(shield: Shield, cookie: str) -> bool:
    facts = Facts("GET", "/page", headers=(*HEADERS, ("cookie", cookie)), client_ip=IP)
    return not shield.decide(facts).answered


def test_old_secret_clearance_passes_during_grace_and_fails_after() -> None:
    store = MemoryStore()
    before = Shield([_layer(OLD)], store=store)
    cookie = _clearance_cookie(before)
    assert _passes(before, cookie)
    during = Shield([_layer([OLD, NEW])], store=store)  # rotation: new signs, old still verifies
    assert _passes(during, cookie)
    fresh = _clearance_cookie(during)  # signed with NEW
    after = Shield([_layer(NEW)], store=store)  # grace period over
    assert not _passes(after, cookie)
    assert _passes(after, fresh)
    # Refused after rotation means challenged again, never an error.
    facts = Facts("GET", "/page", headers=(*HEADERS, ("cookie", cookie)), client_ip=IP)
    decision = after.decide(facts)
    assert decision.answered
    assert not any(v.degraded for v in decision.trail)


def test_secret_rotation_by_environment_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    store = MemoryStore()
    monkeypatch.setenv("SHIELDWARE_SECRET", OLD)
    cookie = _clearance_cookie(Shield([_layer(None)], store=store))
    monkeypatch.setenv("SHIELDWARE_SECRET", f"{OLD},{NEW}")
    assert _passes(Shield([_layer(None)], store=store), cookie)
    monkeypatch.setenv("SHIELDWARE_SECRET", NEW)
    assert not _passes(Shield([_layer(None)], store=store), cookie)


SHIELD = Shield([_layer([OLD, NEW])], store=MemoryStore())


def _mutations(valid: str) -> st.SearchStrategy[str]:
    """Truncations, flipped characters and junk around a real token."""
    return st.one_of(
        st.integers(0, max(len(valid) - 1, 0)).map(lambda n: valid[:n]),
        st.tuples(st.integers(0, max(len(valid) - 1, 0)), st.characters()).map(
            lambda t: valid[: t[0]] + t[1] + valid[t[0] + 1 :]
        ),
        st.text(max_size=300),
        st.just(valid + "."),
        st.just(valid.replace(".", "..", 1)),
    )


_VALID = _clearance_cookie(Shield([_layer([OLD, NEW])], store=MemoryStore()))
_NAME, _, _TOKEN = _VALID.partition("=")


@settings(max_examples=200, deadline=None)
@given(_mutations(_TOKEN))
def test_forged_and_truncated_clearances_are_refused_cleanly(token: str) -> None:
    if token == _TOKEN:
        return
    cookie = f"{_NAME}={token}".encode("utf-8", "surrogatepass")
    app = ShieldMiddleware(asgi_hello, shield=SHIELD)
    out = Captured()
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/page",
        "query_string": b"",
        "headers": [
            (b"accept", b"text/html"),
            (b"user-agent", b"reliability"),
            (b"cookie", cookie),
        ],
        "client": ("11.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }
    import asyncio

    asyncio.run(app(scope, out.receive, out.send))
    assert_clean_response(out.status, out.headers, out.body)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200), st.text(max_size=200), st.text(max_size=100))
def test_forged_answers_at_the_verify_endpoint_are_refused_cleanly(c: str, s: str, r: str) -> None:
    from urllib.parse import urlencode

    app = ShieldMiddleware(asgi_hello, shield=SHIELD)
    out = Captured()
    query = urlencode({"c": c, "s": s, "r": r}).encode()
    scope = {
        "type": "http",
        "method": "GET",
        "path": BASE_PATH + "verify",
        "query_string": query,
        "headers": [(b"accept", b"text/html")],
        "client": ("11.0.0.2", 1),
        "server": ("127.0.0.1", 80),
    }
    import asyncio

    asyncio.run(app(scope, out.receive, out.send))
    assert out.status < 500
    assert out.status != 200 or out.body  # no empty success
    if out.status >= 400:
        assert_clean_response(out.status, out.headers, out.body)
