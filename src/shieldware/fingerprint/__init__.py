"""Fingerprint heuristics: request-head signals, UA rule packs, verified good bots, stack keys.

The `shieldware.layers.Fingerprint` layer puts these together; everything here is usable alone
(replay tools, custom layers, rate-limit keys).
"""

from __future__ import annotations

from .goodbots import (
    BotVerifier,
    GoodBot,
    Resolver,
    SocketResolver,
    TemporaryLookupError,
    Verification,
    builtin_good_bots,
)
from .head import Head, header_fingerprint, parse_brands
from .keys import by_fingerprint, fingerprint_key
from .packs import CATEGORIES, PackMatcher, Rule, UAPack, builtin_packs, load_pack
from .signals import DEFAULT_CAPS, DEFAULT_SIGNALS, Signal, signal
from .ua import UAClassifier, UAInfo, parse_browser

__all__ = [
    "CATEGORIES",
    "DEFAULT_CAPS",
    "DEFAULT_SIGNALS",
    "BotVerifier",
    "GoodBot",
    "Head",
    "PackMatcher",
    "Resolver",
    "Rule",
    "Signal",
    "SocketResolver",
    "TemporaryLookupError",
    "UAClassifier",
    "UAInfo",
    "UAPack",
    "Verification",
    "builtin_good_bots",
    "builtin_packs",
    "by_fingerprint",
    "fingerprint_key",
    "header_fingerprint",
    "load_pack",
    "parse_brands",
    "parse_browser",
    "signal",
]
