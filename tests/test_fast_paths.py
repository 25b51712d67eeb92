"""The hot path's caches and shortcuts answer what the plain code answers, and stay bounded."""

from __future__ import annotations

import json
from typing import Any

from shieldware import Action, Decision, Facts, Verdict
from shieldware.ops import Add, Release
from shieldware.render import Renderer, render


def scope(headers: list[tuple[Any, Any]]) -> dict[str, Any]:
    return {
        "type": "http",
        "method": "GET",
        "path": "/",
        "headers": headers,
        "client": ("1.2.3.4", 1),
    }


def test_unhashable_header_names_still_read() -> None:
    f = Facts.from_scope(scope([(bytearray(b"User-Agent"), b"curl/8")]))
    assert f.header("user-agent") == "curl/8"


def test_rendered_bodies_are_reused_and_bounded() -> None:
    f = Facts("GET", "/", (("accept", "text/html"),))
    renderer = Renderer(maxsize=8)
    verdict = Verdict(Action.THROTTLE, "ratelimit", "rate-limited", retry_after=3.2)
    first = renderer(Decision.from_trail(verdict, (verdict,)), f)
    again = renderer(Decision.from_trail(verdict, (verdict,)), f)
    assert first is again
    assert first == render(
        Decision.from_trail(verdict, (verdict,)), f
    )  # the memo answers what render does
    assert b"try again in 4 seconds" in first.body
    other = verdict._replace(retry_after=9.0)
    assert b"9 seconds" in renderer(Decision.from_trail(other, (other,)), f).body
    for i in range(20):
        v = Verdict(Action.DENY, f"rule-{i}", "listed")
        assert f"rule-{i}".encode() in renderer(Decision.from_trail(v, (v,)), f).body
        assert len(renderer) <= 8
    assert len(Renderer()) == 0  # each renderer owns its memo: nothing is shared


def test_rendering_headers_given_as_a_list() -> None:
    f = Facts("GET", "/", (("accept", "application/json"),))
    verdict = Verdict(Action.DENY, "custom", "listed", headers=[("x-why", "listed")])  # type: ignore[arg-type]
    for reply in (
        render(Decision.from_trail(verdict, (verdict,)), f),
        Renderer()(Decision.from_trail(verdict, (verdict,)), f),
    ):
        assert reply.headers[0] == ("x-why", "listed")
        assert json.loads(reply.body)["rule"] == "custom"


def test_after_ops_of_one_and_several_verdicts() -> None:
    one = Verdict(Action.PASS, "a", "x", after=(Release("k", "l"),))
    two = Verdict(Action.PASS, "b", "y", after=(Add("k2", 1.0),))
    assert Decision.from_trail(one, (one,)).after == (Release("k", "l"),)
    assert Decision.from_trail(two, (one, two)).after == (Release("k", "l"), Add("k2", 1.0))
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
