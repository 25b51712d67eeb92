"""Origin evidence for the fingerprint score: pure functions of an `Origin` and the head's claims.

The layer that owns scoring calls these with what it already parsed; they read nothing else, never
raise, and return an `OriginSignal` (name, weight, evidence) or None:

- ``origin-hosting-browser``: a mainstream browser user agent from a hosting network. People
  browse from home and mobile networks; browser-shaped bots run on rented servers. VPNs and
  corporate egress through clouds are the false positives, so it is a nudge, not a verdict.
- ``origin-bot-wrong-asn``: a crawler claim (``googlebot``) from an AS that crawler never uses.
- ``origin-hosting-library``: a self-declared library or tool (curl, python-requests) from a
  hosting network: that is where such clients normally run, so it weighs little.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from .value import Origin

__all__ = [
    "BOT_WRONG_ASN",
    "HOSTING_BROWSER",
    "HOSTING_LIBRARY",
    "OriginSignal",
    "bot_wrong_asn",
    "hosting_browser",
    "hosting_library",
    "origin_signals",
]

#: Suggested weights (the fingerprint layer's challenge band starts at 6).
HOSTING_BROWSER = 3.0
BOT_WRONG_ASN = 5.0
HOSTING_LIBRARY = 0.5
#: UA pack categories counted as self-declared tools and libraries.
LIBRARY_CATEGORIES = frozenset({"library", "tool", "monitoring"})


class OriginSignal(NamedTuple):
    """One fired signal: its name, suggested weight, and the evidence shown in explanations."""

    name: str
    weight: float
    evidence: str


def hosting_browser(origin: Origin, claims_browser: bool) -> OriginSignal | None:
    """A browser head (UA claims a mainstream browser, no robot pack hit) from a hosting AS."""
    if claims_browser and origin.hosting:
        return OriginSignal("origin-hosting-browser", HOSTING_BROWSER, str(origin))
    return None


def bot_wrong_asn(
    origin: Origin, claimed_bot: str | None, bot_asns: Mapping[str, frozenset[int]]
) -> OriginSignal | None:
    """A crawler claim from an AS that crawler is not known to use.

    Silent when the AS is unknown or the crawler's networks are not listed: absence of data is
    not evidence. `bot_asns` is `networks.load_bot_asns()` (or the operator's own).
    """
    if claimed_bot is None or origin.asn is None:
        return None
    expected = bot_asns.get(claimed_bot)
    if not expected or origin.asn in expected:
        return None
    return OriginSignal(
        "origin-bot-wrong-asn", BOT_WRONG_ASN, f"{claimed_bot} claimed from {origin}"
    )


def hosting_library(origin: Origin, ua_category: str | None) -> OriginSignal | None:
    """A self-declared library or tool from a hosting AS: expected, so it weighs little."""
    if ua_category in LIBRARY_CATEGORIES and origin.hosting:
        return OriginSignal("origin-hosting-library", HOSTING_LIBRARY, str(origin))
    return None


def origin_signals(
    origin: Origin,
    *,
    claims_browser: bool,
    ua_category: str | None,
    claimed_bot: str | None,
    bot_asns: Mapping[str, frozenset[int]],
) -> tuple[OriginSignal, ...]:
    """Every origin signal that fires for one request (at most two: they exclude each other)."""
    fired = (
        hosting_browser(origin, claims_browser),
        bot_wrong_asn(origin, claimed_bot, bot_asns),
        hosting_library(origin, ua_category),
    )
    return tuple(s for s in fired if s is not None)
