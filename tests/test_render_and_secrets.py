"""Rendering blocked decisions, and secrets without silent defaults."""

from __future__ import annotations

import json
import math

import pytest

from shieldware import Action, ConfigurationError, Decision, Facts, Reply, Verdict, render
from shieldware.render import negotiate, retry_after_value
from shieldware.secret import ENV_VAR, generate_secret, resolve_secrets


def facts(accept: str | None) -> Facts:
    return Facts("GET", "/", (("accept", accept),) if accept is not None else ())


@pytest.mark.parametrize(
    ("accept", "kind"),
    [
        ("text/html,application/xhtml+xml;q=0.9", "html"),
        ("application/json", "json"),
        ("application/problem+json", "json"),
        ("*/*", "text"),
        (None, "text"),
        ("\x00\xff garbage", "text"),
    ],
)
def test_negotiation(accept: str | None, kind: str) -> None:
    assert negotiate(facts(accept)) == kind


@pytest.mark.parametrize(
    ("seconds", "value"),
    [
        (None, None),
        (0.0, "1"),
        (0.2, "1"),
        (1.0, "1"),
        (1.01, "2"),
        (math.inf, None),
        (math.nan, None),
    ],
)
def test_retry_after_rounds_up_never_below_one(seconds: float | None, value: str | None) -> None:
    assert retry_after_value(seconds) == value


def test_problem_json_for_a_throttle() -> None:
    verdict = Verdict(
        Action.THROTTLE,
        "ratelimit/ip",
        "over-limit",
        retry_after=4.5,
        headers=(("ratelimit", '"ip";r=0;t=5'),),
    )
    reply = render(Decision(verdict, (verdict,)), facts("application/json"))
    assert reply.status == 429
    assert reply.header("Retry-After") == "5"
    assert reply.header("RateLimit") == '"ip";r=0;t=5'
    assert reply.header("cache-control") == "no-store"
    problem = json.loads(reply.body)
    assert problem["status"] == 429
    assert problem["type"].endswith("quota-exceeded")
    assert problem["retry_after"] == 5


def test_html_escapes_rule_names() -> None:
    verdict = Verdict(Action.DENY, "custom/<script>", "x&y")
    reply = render(Decision(verdict, (verdict,)), facts("text/html"))
    assert reply.status == 403
    assert b"<script>" not in reply.body
    assert b"&lt;script&gt;" in reply.body


def test_a_verdicts_own_reply_wins_and_gets_the_trail_headers() -> None:
    own = Reply(401, (("www-authenticate", "PoW x"),), b"solve me")
    first = Verdict(Action.PASS, "a", "ok", headers=(("set-cookie", "a=1"), ("x-a", "1")))
    verdict = Verdict(Action.CHALLENGE, "pow", "challenge", reply=own, headers=(("x-a", "2"),))
    reply = render(Decision(verdict, (first, verdict)), facts("application/json"))
    assert reply.status == 401
    assert reply.body == b"solve me"
    assert reply.header("set-cookie") == "a=1"


def test_secrets_are_required_strong_and_rotatable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    with pytest.raises(ConfigurationError, match="needs a secret"):
        resolve_secrets(None, purpose="ProofOfWork")
    with pytest.raises(ConfigurationError, match="shorter than 32"):
        resolve_secrets("short")
    old, new = generate_secret(), generate_secret()
    assert resolve_secrets([old, new]) == (old.encode(), new.encode())
    monkeypatch.setenv(ENV_VAR, f"{old},{new}")
    assert resolve_secrets(None) == (old.encode(), new.encode())
    with pytest.raises(ConfigurationError):
        resolve_secrets([])


def test_publicly_cacheable_replies_carry_no_per_client_headers() -> None:
    asset = Reply(200, (("cache-control", "public, max-age=3600"),), b"js")
    verdict = Verdict(Action.ALLOW, "pow/asset", "asset", reply=asset)
    counted = Verdict(Action.PASS, "ratelimit", "ok", headers=(("ratelimit", '"r";r=59'),))
    reply = render(Decision(verdict, (counted, verdict)), facts("*/*"))
    assert reply.header("ratelimit") is None
