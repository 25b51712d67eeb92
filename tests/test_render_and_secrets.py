"""Rendering blocked decisions, and secrets without silent defaults."""

from __future__ import annotations

import base64
import json
import math
import os
import secrets
import uuid
from collections.abc import Callable

import pytest

from shieldware import Action, ConfigurationError, Decision, Facts, Verdict
from shieldware.render import negotiate, render, retry_after_value
from shieldware.secret import ENV_VAR, generate_secret, resolve_secrets, secret_weakness
from shieldware.verdict import Reply


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
    reply = render(Decision.from_trail(verdict, (verdict,)), facts("application/json"))
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
    reply = render(Decision.from_trail(verdict, (verdict,)), facts("text/html"))
    assert reply.status == 403
    assert b"<script>" not in reply.body
    assert b"&lt;script&gt;" in reply.body


def test_a_verdicts_own_reply_wins_and_gets_the_trail_headers() -> None:
    own = Reply(401, (("www-authenticate", "PoW x"),), b"solve me")
    first = Verdict(Action.PASS, "a", "ok", headers=(("set-cookie", "a=1"), ("x-a", "1")))
    verdict = Verdict(Action.CHALLENGE, "pow", "challenge", reply=own, headers=(("x-a", "2"),))
    reply = render(Decision.from_trail(verdict, (first, verdict)), facts("application/json"))
    assert reply.status == 401
    assert reply.body == b"solve me"
    assert reply.header("set-cookie") == "a=1"


def test_secrets_are_required_strong_and_rotatable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    with pytest.raises(ConfigurationError, match="needs a secret"):
        resolve_secrets(None, purpose="ProofOfWork")
    with pytest.raises(ConfigurationError, match="shorter than 32"):
        resolve_secrets("short")
    with pytest.raises(ConfigurationError, match="shieldware secret"):
        resolve_secrets(None)
    old, new = generate_secret(), generate_secret()
    assert resolve_secrets([old, new]) == (old.encode(), new.encode())
    monkeypatch.setenv(ENV_VAR, f"{old},{new}")
    assert resolve_secrets(None) == (old.encode(), new.encode())
    with pytest.raises(ConfigurationError):
        resolve_secrets([])


@pytest.mark.parametrize(
    ("weak", "why"),
    [
        ("a" * 32, "distinct bytes"),
        ("load-me-from-the-environment-32-bytes-or-more", "published"),  # the old README's
        ("Load-Me-From-The-Environment-32-Bytes-Or-More", "published"),
        ("k9Fq2Lm8Zx4Rp1Wc" * 2, "repeats a pattern of 16 bytes"),
        ("abcdefgh" * 5, "repeats a pattern of 8 bytes"),
        ("0123456789abcdefghijklmnopqrstuv", "bits of entropy"),
        ("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", "bits of entropy"),
        ("aaaaaaaabbbbbbbbccccccccddddddddeeeeeeeeffffffffgggggggghhhhhhhh", "bits of entropy"),
        ("django-insecure-q8w3e5r7t9y2u4i6o8p0a1s3d5f7g9h", "placeholder"),
        ("please-change-me-before-deploying-to-production", "placeholder"),
    ],
)
def test_weak_secrets_are_refused_with_how_to_make_one(weak: str, why: str) -> None:
    """Attack: the check was length-only, so ``"a" * 32`` and the README's placeholder signed."""
    with pytest.raises(ConfigurationError, match=why) as caught:
        resolve_secrets(weak, purpose="ProofOfWork")
    message = str(caught.value)
    assert message.startswith("ProofOfWork: the secret is weak")
    assert "`shieldware secret`" in message
    assert "SHIELDWARE_SECRET" in message
    assert weak not in message  # the error never repeats the secret
    with pytest.raises(ConfigurationError, match="at position 1"):
        resolve_secrets([generate_secret(), weak])


def test_weak_secrets_fail_when_the_shield_is_built() -> None:
    from shieldware import Shield

    with pytest.raises(ConfigurationError, match="weak"):
        Shield.default("a" * 32)


@pytest.mark.parametrize(
    "make",
    [
        generate_secret,
        lambda: secrets.token_hex(16),  # openssl rand -hex 16: 128 bits, the shortest we take
        lambda: secrets.token_hex(32),
        lambda: base64.b64encode(os.urandom(32)).decode(),
        lambda: str(uuid.uuid4()) + str(uuid.uuid4()),
    ],
)
def test_random_secrets_always_pass(make: Callable[[], str]) -> None:
    for _ in range(2000):
        key = make()
        assert secret_weakness(key.encode()) is None, key


def test_publicly_cacheable_replies_carry_no_per_client_headers() -> None:
    asset = Reply(200, (("cache-control", "public, max-age=3600"),), b"js")
    verdict = Verdict(Action.ALLOW, "pow/asset", "asset", reply=asset)
    counted = Verdict(Action.PASS, "ratelimit", "ok", headers=(("ratelimit", '"r";r=59'),))
    reply = render(Decision.from_trail(verdict, (counted, verdict)), facts("*/*"))
    assert reply.header("ratelimit") is None
