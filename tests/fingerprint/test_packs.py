"""UA packs: provenance, validation, the literal extractor and the trigram index."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shieldware.errors import ConfigurationError
from shieldware.fingerprint import CATEGORIES, PackMatcher, builtin_packs, load_pack
from shieldware.fingerprint.packs import UAPack, required_literal

PACKS = builtin_packs()
MATCHER = PackMatcher(PACKS)


@pytest.mark.parametrize("pack", PACKS, ids=lambda p: p.name)
def test_builtin_packs_carry_provenance(pack) -> None:
    assert pack.source
    assert pack.date
    assert pack.licence
    assert pack.version
    assert all(r.category in CATEGORIES for r in pack.rules)
    if pack.name == "crawler-user-agents":
        assert pack.licence == "MIT"
        assert "Permission is hereby granted" in pack.notice
        assert len(pack.rules) >= 1000


@pytest.mark.parametrize(
    ("pattern", "literal"),
    [
        (r"Googlebot\/", "Googlebot/"),
        (r"^curl/", "curl/"),
        (r"Yandex(Bot|Images)", "Yandex"),
        (r"bingbot|BingPreview", ""),
        (r"[Ss]crapy", "crapy"),
        (r"Go-http-client/1\.1", "Go-http-client/1.1"),
        (r"abcd?efgh", "efgh"),
        (r"x{2}yyyy", "yyyy"),
        (r"(?i)feedfetcher", "feedfetcher"),
        (r"a\dbcd", "bcd"),
    ],
)
def test_required_literal(pattern: str, literal: str) -> None:
    assert required_literal(pattern) == literal


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_literal_is_in_every_match(data: st.DataObject) -> None:
    """The prefilter never hides a real match: any string a rule matches contains its literal."""
    rule = data.draw(st.sampled_from(MATCHER.rules))
    try:
        text = data.draw(st.from_regex(rule.regex, fullmatch=False))
    except Exception:  # a few patterns are beyond hypothesis's regex support
        return
    if rule.regex.search(text):
        assert rule.literal in text.lower()
        assert rule in MATCHER.match(text, limit=10_000)


@given(st.text(max_size=300))
def test_match_never_raises(ua: str) -> None:
    assert isinstance(MATCHER.match(ua), tuple)


def test_every_documented_instance_still_matches() -> None:
    """Sanity on the index: a sample of real crawler UAs all hit some rule."""
    for ua in (
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
        "python-requests/2.32.3",
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "HeadlessChrome/131.0.0.0 Safari/537.36",
    ):
        assert MATCHER.match(ua), ua
    assert MATCHER.unindexed <= 10


@pytest.mark.parametrize(
    "ua",
    [
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.0.0 Safari/537.36",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
        "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
        "Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S918B) AppleWebKit/537.36 (KHTML, like "
        "Gecko) SamsungBrowser/27.0 Chrome/125.0.0.0 Mobile Safari/537.36",
    ],
)
def test_browsers_match_no_rule(ua: str) -> None:
    assert MATCHER.match(ua) == ()


def test_user_pack_from_file_and_priority(tmp_path) -> None:
    file = tmp_path / "mine.json"
    file.write_text(
        json.dumps(
            {
                "name": "mine",
                "source": "our logs",
                "date": "2026-11-28",
                "licence": "proprietary",
                "priority": -1,
                "rules": [{"id": "bad-scraper", "pattern": "curl/", "category": "scanner"}],
            }
        )
    )
    matcher = PackMatcher([*PACKS, load_pack(file)])
    assert matcher.match("curl/8.0")[0].id == "bad-scraper"


def test_bad_packs_report_every_problem() -> None:
    with pytest.raises(ConfigurationError, match="missing 'source'"):
        load_pack({"name": "x", "date": "d", "licence": "l", "rules": []})
    with pytest.raises(ConfigurationError) as info:
        load_pack(
            {
                "name": "x",
                "source": "s",
                "date": "d",
                "licence": "l",
                "rules": [
                    {"pattern": "(", "category": "library"},
                    {"pattern": "a", "category": "?"},
                ],
            }
        )
    assert "rule #0" in str(info.value)
    assert "rule #1" in str(info.value)
    with pytest.raises(ConfigurationError, match="cannot read"):
        load_pack("/nonexistent/pack.json")
    assert re.compile("x")


def test_every_shipped_pattern_compiles() -> None:
    # The shipped packs load without compiling (start-up cost); this is where they are checked.
    for pack in builtin_packs():
        for rule in pack.rules:
            assert rule.regex.pattern == rule.pattern, rule.id


def test_a_user_pack_with_a_bad_pattern_is_refused_at_load() -> None:
    raw = {"name": "mine", "source": "me", "date": "2026-12-03", "licence": "MIT"}
    with pytest.raises(ConfigurationError, match="rule #0"):
        UAPack.from_dict({**raw, "rules": [{"pattern": "Bot(", "category": "crawler"}]})
