"""Origin signals are pure: what fires for which origin and head claims."""

from __future__ import annotations

import pytest

from shieldware.origin import Category, Origin, load_bot_asns
from shieldware.origin.signals import (
    BOT_WRONG_ASN,
    HOSTING_BROWSER,
    HOSTING_LIBRARY,
    bot_wrong_asn,
    hosting_browser,
    hosting_library,
    origin_signals,
)

AWS = Origin(16509, "Amazon.com", Category.HOSTING, "US")
HOME = Origin(3215, "Orange", Category.ISP, "FR")
GOOGLE = Origin(15169, "Google LLC", Category.UNKNOWN, "US")
NOWHERE = Origin()
BOTS = load_bot_asns()


def names(origin: Origin, **claims: object) -> list[str]:
    defaults: dict[str, object] = {
        "claims_browser": False,
        "ua_category": None,
        "claimed_bot": None,
    }
    defaults.update(claims)
    return [s.name for s in origin_signals(origin, bot_asns=BOTS, **defaults)]  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("origin", "claims", "expected"),
    [
        (AWS, {"claims_browser": True}, ["origin-hosting-browser"]),
        (HOME, {"claims_browser": True}, []),
        (NOWHERE, {"claims_browser": True}, []),
        (AWS, {"ua_category": "library"}, ["origin-hosting-library"]),
        (HOME, {"ua_category": "library"}, []),
        (AWS, {"ua_category": "search", "claimed_bot": "googlebot"}, ["origin-bot-wrong-asn"]),
        (GOOGLE, {"ua_category": "search", "claimed_bot": "googlebot"}, []),
        (NOWHERE, {"claimed_bot": "googlebot"}, []),  # no data is no evidence
        (AWS, {"claimed_bot": "perplexitybot"}, []),  # networks not listed
        (AWS, {"claimed_bot": "amazonbot"}, []),
    ],
)
def test_what_fires(origin: Origin, claims: dict[str, object], expected: list[str]) -> None:
    assert names(origin, **claims) == expected


def test_weights_and_evidence() -> None:
    browser = hosting_browser(AWS, True)
    assert browser is not None
    assert browser.weight == HOSTING_BROWSER
    assert "AS16509" in browser.evidence
    wrong = bot_wrong_asn(HOME, "bingbot", BOTS)
    assert wrong is not None
    assert wrong.weight == BOT_WRONG_ASN
    assert wrong.evidence.startswith("bingbot claimed from AS3215")
    library = hosting_library(AWS, "tool")
    assert library is not None
    assert library.weight == HOSTING_LIBRARY < HOSTING_BROWSER
