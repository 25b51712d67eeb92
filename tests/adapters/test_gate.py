"""The gate's own rules: one header merge, finishing once, unreadable requests, inert shields."""

from __future__ import annotations

import asyncio

from hypothesis import given
from hypothesis import strategies as st

from shieldware import Facts, Shield, ShieldMiddleware, ShieldWSGIMiddleware, TokenBucket
from shieldware.gate import Gate, decision_in
from shieldware.ops import Release
from shieldware.render import merge_headers
from shieldware.verdict import Action, Decision, Verdict
from shieldware.wsgi import ENVIRON_KEY
from tests.adapters.kit import CountingStore, _environ, asgi_hello, wsgi_hello

EXTRA = (("ratelimit", '"r";r=1'), ("set-cookie", "a=1"), ("x-frame-options", "DENY"))


def test_the_app_wins_but_cookies_are_appended() -> None:
    present = [("X-Frame-Options", "SAMEORIGIN"), ("Set-Cookie", "b=2")]
    assert merge_headers(present, EXTRA) == [("ratelimit", '"r";r=1'), ("set-cookie", "a=1")]


def test_merging_twice_adds_nothing() -> None:
    once = [
        ("x-frame-options", "SAMEORIGIN"),
        *merge_headers([("x-frame-options", "SAMEORIGIN")], EXTRA),
    ]
    assert merge_headers(once, EXTRA) == []


def test_nothing_is_added_to_a_publicly_cacheable_response() -> None:
    assert merge_headers([("Cache-Control", "max-age=60, Public")], EXTRA) == []
    assert merge_headers([(b"cache-control", b"public")], [(b"set-cookie", b"a=1")]) == []
    assert merge_headers([("cache-control", "private")], EXTRA) == list(EXTRA)


names = st.sampled_from(["Set-Cookie", "ratelimit", "X-A", "cache-control", "x-a"])
values = st.sampled_from(["1", "public", "no-store", "a=b"])
pairs = st.lists(st.tuples(names, values), max_size=6)


@given(pairs, pairs)
def test_str_and_bytes_headers_merge_alike(
    present: list[tuple[str, str]], extra: list[tuple[str, str]]
) -> None:
    def raw(headers: list[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
        return [(k.encode(), v.encode()) for k, v in headers]

    assert raw(merge_headers(present, extra)) == merge_headers(raw(present), raw(extra))
    kept = {k.lower() for k, _ in present}
    for name, _ in merge_headers(present, extra):
        assert name.lower() == "set-cookie" or name.lower() not in kept


def test_finish_runs_the_after_ops_once() -> None:
    store = CountingStore()
    gate = Gate(Shield([_Lease()], store=store))
    entry = gate.enter(_facts())
    assert entry.reply is None
    assert entry.after
    gate.finish(entry)
    gate.finish(entry)
    asyncio.run(gate.afinish(entry))
    assert store.releases == 1


def test_an_answered_request_is_finished_on_entry() -> None:
    store = CountingStore()
    gate = Gate(Shield([_Lease(), TokenBucket("1/hour", burst=1)], store=store))
    gate.finish(gate.enter(_facts()))
    refused = gate.enter(_facts())
    assert refused.reply is not None
    assert refused.reply.status == 429
    assert refused.after == ()
    assert refused.headers == ()
    assert store.releases == 2  # the refused request's lease went back at once


def test_unreadable_facts_get_a_400_and_a_decision() -> None:
    entry = Gate(Shield([TokenBucket("1/hour")])).enter(None)
    assert entry.reply is not None
    assert entry.reply.status == 400
    assert entry.decision.verdict.reason == "bad-request"


def test_each_gate_owns_its_reply_memo() -> None:
    shield = Shield([TokenBucket("1/hour", burst=1)])
    one, two = Gate(shield), Gate(shield)
    one.enter(_facts())
    one.enter(_facts())
    assert len(one.render) == 1
    assert len(two.render) == 0


def test_an_inert_shield_passes_straight_through() -> None:
    """An inert shield decides nothing: the app answers and no decision is stored."""
    scope = {"type": "http", "method": "GET", "path": "/", "headers": [], "client": None}
    asgi = ShieldMiddleware(asgi_hello, shield=Shield())
    assert isinstance(asgi, ShieldMiddleware)  # a real middleware: subclasses work
    sent: list[dict[str, object]] = []

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    async def receive() -> dict[str, object]:
        return {"type": "http.request"}

    asyncio.run(asgi(scope, receive, send))
    assert sent[0]["status"] == 200
    assert "state" not in scope
    environ = _environ("/", {})
    statuses: list[str] = []
    body = ShieldWSGIMiddleware(wsgi_hello, shield=Shield())(
        environ, lambda status, headers, exc_info=None: statuses.append(status)
    )
    assert list(body) == [b"ok"]
    assert statuses == ["200 OK"]
    assert ENVIRON_KEY not in environ


def test_decision_in_prefers_the_view_decision() -> None:
    app_wide, view = Decision(), Decision(Verdict(Action.DENY, "v", "x"))
    assert decision_in({"shieldware": app_wide, "shieldware_view": view}) is view
    assert decision_in({"shieldware": app_wide}) is app_wide
    assert decision_in({"shieldware": "forged"}) is None
    assert decision_in(None) is None


def _facts() -> Facts:
    return Facts.from_scope(
        {"type": "http", "method": "GET", "path": "/", "client": ("192.0.2.1", 1)}
    )


class _Lease:
    """Passes every request holding one lease (a stand-in for `Concurrency`)."""

    name = "lease"

    def check(self, facts: Facts, progress: object) -> Verdict:
        return Verdict(Action.PASS, "lease", "held", after=(Release("k", "l"),))
