"""What a second review of this session's work found, each kept by a test that failed before."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from shieldware import Facts, Shield
from shieldware.asgi import _buffer
from shieldware.attack.state import _clock, parse_until
from shieldware.body import Body, form_fields, form_value
from shieldware.errors import StoreError
from shieldware.liveview.attack import AttackPanel
from shieldware.stores import FallbackStore, RedisStore
from tests.conftest import SECRET

_FORM = (
    b"--XX\r\n"
    b'Content-Disposition: form-data; name="email"\r\n\r\na@example.org\r\n'
    b"--XX\r\n"
    b'Content-Disposition: form-data; name="avatar"; filename=""\r\n'
    b"Content-Type: application/octet-stream\r\n\r\n\r\n"
    b"--XX\r\n"
    b'Content-Disposition: form-data; name="sw-pow-answer"\r\n\r\ntoken;1,2\r\n'
    b"--XX--\r\n"
)


def test_a_form_with_a_file_input_still_carries_its_answer() -> None:
    # Browsers send an empty file input as filename="": the answer field must still be read.
    body = Body("multipart/form-data; boundary=XX", _FORM)
    assert form_value(body, "sw-pow-answer") == "token;1,2"
    assert form_value(body, "email") == "a@example.org"
    assert form_fields(body) is None  # but it cannot be carried through the interstitial


@pytest.mark.parametrize("length", ["²", "¹²", "12x", "-1", " 5"])
def test_a_malformed_content_length_leaves_the_body_unread(length: str) -> None:
    facts = Facts("POST", "/signup", [("content-length", length)])

    async def receive() -> dict[str, Any]:
        raise AssertionError("the body must not be read")

    same, _ = asyncio.run(_buffer(facts, receive))
    assert same is facts


def test_until_is_bounded_and_any_stored_time_can_be_shown() -> None:
    with pytest.raises(ValueError, match="ten years"):
        parse_until("999999999999d", now=1_700_000_000.0)
    assert parse_until("30d", now=1_700_000_000.0) == 1_700_000_000.0 + 30 * 86400
    assert "epoch" in _clock(1e20)  # a record written elsewhere: shown, never a crash


def test_a_flip_during_an_outage_fails_loudly_instead_of_staying_in_one_worker() -> None:
    dead = RedisStore("redis://127.0.0.1:1/0", timeout=0.2, connect_timeout=0.2)
    shield = Shield.default(SECRET, store=FallbackStore(dead))
    with pytest.raises(StoreError):
        shield.under_attack(True, reason="flood")
    assert shield.switch is not None
    assert not shield.switch.active


def test_every_worker_accepts_the_buttons_csrf_token_without_a_live_view_token(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SHIELDWARE_SECRET", SECRET)
    shield = Shield.default(SECRET)
    one, two = AttackPanel(shield, None), AttackPanel(shield, None)  # two worker processes
    assert one.csrf("session-1") == two.csrf("session-1")
    assert one.csrf("session-1") != one.csrf("session-2")
