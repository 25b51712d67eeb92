"""The hot path's caches and shortcuts answer what the plain code answers, and stay bounded."""

from __future__ import annotations

import json
from typing import Any

from shieldware import Action, Decision, Facts, Verdict, render
from shieldware import facts as facts_module
from shieldware.ops import Add, Release
from shieldware.render import Renderer


def scope(headers: list[tuple[Any, Any]]) -> dict[str, Any]:
    return {
        "type": "http",
        "method": "GET",
        "path": "/",
        "headers": headers,
        "client": ("1.2.3.4", 1),
    }


def test_header_names_decoded_once_agree_with_plain_decoding() -> None:
    raw = [(b"Host", b"a.example"), (b"X-Odd\xff", b"v"), (b"host", b"b.example")]
    for _ in range(2):  # the second time from the cache
        f = Facts.from_scope(scope(raw))
        assert f.headers == (("host", "a.example"), ("x-odd\xff", "v"), ("host", "b.example"))
        assert f.header("host") == "a.example, b.example"


def test_unhashable_header_names_still_read() -> None:
    f = Facts.from_scope(scope([(bytearray(b"User-Agent"), b"curl/8")]))
    assert f.header("user-agent") == "curl/8"


def test_header_name_cache_is_bounded() -> None:
    names = [(f"x-flood-{i}".encode(), b"1") for i in range(facts_module._MAX_NAMES + 50)]
    f = Facts.from_scope(scope([(b"x-" + b"long" * 40, b"1"), *names[:150]]))
    assert f.header("x-" + "long" * 40) == "1"
    for start in range(0, len(names), 150):
        Facts.from_scope(scope(names[start : start + 150]))
    assert len(facts_module._NAMES) <= facts_module._MAX_NAMES
    assert b"x-" + b"long" * 40 not in facts_module._NAMES
    last = Facts.from_scope(scope(names[-1:]))
    assert last.headers == ((names[-1][0].decode(), "1"),)


def test_rendered_bodies_are_reused_and_bounded() -> None:
    f = Facts("GET", "/", (("accept", "text/html"),))
    renderer = Renderer(maxsize=8)
    verdict = Verdict(Action.THROTTLE, "ratelimit", "rate-limited", retry_after=3.2)
    first = renderer(Decision(verdict, (verdict,)), f)
    again = renderer(Decision(verdict, (verdict,)), f)
    assert first is again
    assert first == render(Decision(verdict, (verdict,)), f)  # the memo answers what render does
    assert b"try again in 4 seconds" in first.body
    other = verdict._replace(retry_after=9.0)
    assert b"9 seconds" in renderer(Decision(other, (other,)), f).body
    for i in range(20):
        v = Verdict(Action.DENY, f"rule-{i}", "listed")
        assert f"rule-{i}".encode() in renderer(Decision(v, (v,)), f).body
        assert len(renderer) <= 8
    assert len(Renderer()) == 0  # each renderer owns its memo: nothing is shared


def test_rendering_headers_given_as_a_list() -> None:
    f = Facts("GET", "/", (("accept", "application/json"),))
    verdict = Verdict(Action.DENY, "custom", "listed", headers=[("x-why", "listed")])  # type: ignore[arg-type]
    for reply in (
        render(Decision(verdict, (verdict,)), f),
        Renderer()(Decision(verdict, (verdict,)), f),
    ):
        assert reply.headers[0] == ("x-why", "listed")
        assert json.loads(reply.body)["rule"] == "custom"


def test_after_ops_of_one_and_several_verdicts() -> None:
    one = Verdict(Action.PASS, "a", "x", after=(Release("k", "l"),))
    two = Verdict(Action.PASS, "b", "y", after=(Add("k2", 1.0),))
    assert Decision(one, (one,)).after == (Release("k", "l"),)
    assert Decision(two, (one, two)).after == (Release("k", "l"), Add("k2", 1.0))
    assert Decision().after == ()


def test_local_refusal_headers_formatted_once_and_bounded() -> None:
    from shieldware import Shield, TokenBucket
    from shieldware.headers import Usage
    from shieldware.layers import _limiter

    bucket = TokenBucket("1/hour", burst=1)
    shield = Shield([bucket])
    f = Facts("GET", "/", client_ip=Facts.from_scope(scope([])).client_ip)
    shield.decide(f)
    shield.decide(f)  # refused by the store: remembered locally
    layer = bucket._layer
    items = layer.batch(bucket.key(f) or (), list).items  # the client's cached batch
    for _ in range(2):
        verdict = shield.decide(f).verdict
        assert verdict.reason == "rate-limited-locally"
        assert verdict.retry_after is not None
        usage = Usage(bucket.policy, 0, verdict.retry_after)
        assert verdict.headers == layer._headers(items, [usage])
    for wait in range(_limiter._BLOCKED_HEADERS + 20):
        layer._locally_blocked(items, 0, float(wait + 1))
    assert len(layer._blocked_headers) <= _limiter._BLOCKED_HEADERS
