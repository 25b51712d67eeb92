"""What a user agent claims to be: browser family, engine, major version, platform, and pack hits.

The parse is a handful of precompiled regexes plus one `PackMatcher` lookup, cached per
classifier in a bounded LRU (user agents repeat heavily, and hostile ones are cut to
`MAX_UA` characters before they reach the cache, so memory stays bounded under a flood).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .packs import PackMatcher, Rule, UAPack

__all__ = ["MAX_UA", "UAClassifier", "UAInfo"]

#: Longest user agent we parse; longer ones are cut (and flagged by the malformed-UA signal).
MAX_UA = 512

_CHROMIUM = re.compile(r"(?:Chrome|Chromium|HeadlessChrome)/(\d+)")
_FORK = re.compile(r"(Edg|EdgA|EdgiOS|Edge|OPR|SamsungBrowser|YaBrowser|Vivaldi)/(\d+)")
_FORK_FAMILY = {
    "Edg": "edge",
    "EdgA": "edge",
    "EdgiOS": "edge",
    "Edge": "edge",
    "OPR": "opera",
    "SamsungBrowser": "samsung",
    "YaBrowser": "yandex",
    "Vivaldi": "vivaldi",
}
_FIREFOX = re.compile(r"(?:Firefox|FxiOS)/(\d+)")
_CRIOS = re.compile(r"(?:CriOS|EdgiOS|OPT|OPiOS)/(\d+)")
_SAFARI = re.compile(r"Version/(\d+)[\d.]*(?: Mobile/\w+)? Safari/")
_PLATFORMS: tuple[tuple[str, str], ...] = (
    ("Windows NT", "Windows"),
    ("iPhone", "iOS"),
    ("iPad", "iOS"),
    ("iPod", "iOS"),
    ("Android", "Android"),
    ("CrOS", "Chrome OS"),
    ("Macintosh", "macOS"),
    ("Linux", "Linux"),
)
#: Pack categories that mean "this is not a person's browser", whatever the UA text imitates.
ROBOT_CATEGORIES = frozenset(
    {
        "library",
        "automation",
        "ai-crawler",
        "ai-user",
        "search",
        "preview",
        "feed",
        "tool",
        "monitoring",
        "archiver",
        "scanner",
        "crawler",
    }
)


@dataclass(frozen=True, slots=True)
class UAInfo:
    """The parsed claims of one user agent.

    :param family: ``chrome``, ``edge``, ``opera``, ``samsung``, ``yandex``, ``vivaldi``,
        ``firefox``, ``safari``, ``ios-webkit`` (Chrome/Firefox/Edge on iOS), ``other``, ``empty``.
    :param engine: ``blink``, ``gecko``, ``webkit`` or ``""``.
    :param major: the browser's major version when stated.
    :param platform: ``Windows``, ``macOS``, ``Linux``, ``Android``, ``iOS``, ``Chrome OS``, ``""``.
    :param mobile: the UA carries the ``Mobile`` token.
    :param headless: the UA says ``HeadlessChrome``.
    :param hits: pack rules that matched, highest priority first.
    """

    family: str
    engine: str
    major: int | None
    platform: str
    mobile: bool
    headless: bool
    hits: tuple[Rule, ...]

    @property
    def category(self) -> str | None:
        """The category of the best pack hit, or None."""
        return self.hits[0].category if self.hits else None

    @property
    def browser(self) -> bool:
        """True when the UA claims a mainstream browser and no pack calls it a robot."""
        return self.engine != "" and not self.hits and not self.headless

    @property
    def chromium(self) -> bool:
        return self.engine == "blink"


def _version(match: re.Match[str] | None) -> int | None:
    if match is None:
        return None
    text = match.group(1)
    return int(text) if len(text) <= 5 else None


def parse_browser(ua: str) -> tuple[str, str, int | None, str, bool, bool]:
    """(family, engine, major, platform, mobile, headless) of a user agent, without packs."""
    if not ua:
        return ("empty", "", None, "", False, False)
    platform = next((name for token, name in _PLATFORMS if token in ua), "")
    mobile = "Mobile" in ua
    headless = "Headless" in ua
    if not ua.startswith("Mozilla/5.0 ") and not ua.startswith("Opera/"):
        return ("other", "", None, platform, mobile, headless)
    if platform == "iOS":
        ios = _CRIOS.search(ua) or _FIREFOX.search(ua)
        if ios is not None:
            return ("ios-webkit", "webkit", _version(ios), platform, mobile, headless)
    chromium = _CHROMIUM.search(ua)
    if chromium is not None:
        fork = _FORK.search(ua)
        family = "chrome" if fork is None else _FORK_FAMILY[fork.group(1)]
        return (family, "blink", _version(chromium), platform, mobile, headless)
    firefox = _FIREFOX.search(ua)
    if firefox is not None and "Gecko/" in ua:
        return ("firefox", "gecko", _version(firefox), platform, mobile, headless)
    safari = _SAFARI.search(ua)
    if safari is not None and "AppleWebKit/" in ua:
        return ("safari", "webkit", _version(safari), platform, mobile, headless)
    return ("other", "", None, platform, mobile, headless)


class UAClassifier:
    """Parses user agents against a set of packs, with a bounded LRU cache per instance."""

    def __init__(self, packs: Sequence[UAPack], cache_size: int = 4096) -> None:
        self.matcher = PackMatcher(packs)
        self.classify: Callable[[str], UAInfo] = functools.lru_cache(maxsize=cache_size)(
            self._classify
        )

    def __call__(self, ua: str) -> UAInfo:
        return self.classify(ua[:MAX_UA])

    def _classify(self, ua: str) -> UAInfo:
        family, engine, major, platform, mobile, headless = parse_browser(ua)
        hits = self.matcher.match(ua) if ua else ()
        return UAInfo(family, engine, major, platform, mobile, headless, hits)
