"""User-agent parsing: families, versions, platforms, and the bounded cache."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shieldware.fingerprint import UAClassifier, builtin_packs, parse_browser
from shieldware.fingerprint.ua import MAX_UA

from .helpers import CHROME_UA, FIREFOX_UA, SAFARI_UA


@pytest.mark.parametrize(
    ("ua", "family", "engine", "major", "platform", "mobile"),
    [
        (CHROME_UA, "chrome", "blink", 131, "Windows", False),
        (FIREFOX_UA, "firefox", "gecko", 133, "Linux", False),
        (SAFARI_UA, "safari", "webkit", 18, "macOS", False),
        (CHROME_UA + " Edg/131.0.0.0", "edge", "blink", 131, "Windows", False),
        (
            "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/131.0.0.0 Mobile Safari/537.36",
            "chrome",
            "blink",
            131,
            "Android",
            True,
        ),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
            "(KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1",
            "ios-webkit",
            "webkit",
            131,
            "iOS",
            True,
        ),
        (
            "Mozilla/5.0 (Android 14; Mobile; rv:133.0) Gecko/133.0 Firefox/133.0",
            "firefox",
            "gecko",
            133,
            "Android",
            True,
        ),
        ("curl/8.5.0", "other", "", None, "", False),
        ("", "empty", "", None, "", False),
        (
            "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/131.0.0.0 Safari/537.36",
            "chrome",
            "blink",
            131,
            "Chrome OS",
            False,
        ),
    ],
)
def test_parse_browser(ua, family, engine, major, platform, mobile) -> None:
    got = parse_browser(ua)
    assert got[:5] == (family, engine, major, platform, mobile)


def test_classifier_marks_robots_and_headless() -> None:
    classify = UAClassifier(builtin_packs())
    assert classify(CHROME_UA).browser
    assert not classify("python-requests/2.32.3").browser
    assert classify("python-requests/2.32.3").category == "library"
    headless = classify(CHROME_UA.replace("Chrome/", "HeadlessChrome/"))
    assert headless.headless
    assert not headless.browser


def test_cache_is_bounded_and_long_uas_are_cut() -> None:
    classify = UAClassifier(builtin_packs(), cache_size=64)
    for i in range(500):
        classify(f"agent-{i}/1.0")
    assert classify.classify.cache_info().currsize <= 64  # type: ignore[attr-defined]
    classify("x" * 100_000)
    assert all(len(k) <= MAX_UA for k in [("x" * MAX_UA)])


@given(st.text(max_size=600))
def test_parse_never_raises(ua: str) -> None:
    info = UAClassifier(builtin_packs(), cache_size=8)(ua)
    assert info.family
