"""Scoring vocabulary shared by the layer and replay tools: bands, results, path exemptions."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol, TypeVar

from ..errors import ConfigurationError

S = TypeVar("S", contravariant=True)

__all__ = [
    "DEFAULT_BANDS",
    "DEFAULT_EXEMPT_PATHS",
    "SAFE_CATEGORIES",
    "WHY",
    "Band",
    "PathGlob",
    "Score",
    "fire",
]


@dataclass(frozen=True, slots=True)
class Band:
    """A score band: scores from `floor` up to the next band's floor get this name."""

    name: str
    floor: float


#: human < 3 <= automation < 6 <= challenge < 10 <= challenge-hard.
DEFAULT_BANDS: tuple[Band, ...] = (
    Band("human", -math.inf),
    Band("automation", 3.0),
    Band("challenge", 6.0),
    Band("challenge-hard", 10.0),
)
#: Paths robots, feed readers and unfurlers must always reach.
DEFAULT_EXEMPT_PATHS: tuple[str, ...] = (
    "/robots.txt",
    "/sitemap*",
    "/.well-known/*",
    "/favicon.ico",
    "/favicon.svg",
    "/apple-touch-icon*",
    "/feed",
    "/feed/*",
    "/feed.xml",
    "/feed.json",
    "/rss",
    "/rss/*",
    "/rss.xml",
    "/atom.xml",
    "/index.xml",
    "/*.rss",
    "/*.atom",
    "/*/feed",
    "/*/feed/*",
    "/*/feed.xml",
)
SAFE_CATEGORIES = frozenset({"preview", "feed", "tool"})
#: Bit flags for the preconditions a head meets.
HTTPS, ORDER, BROWSER, UNCLAIMED, ORIGIN = 1, 2, 4, 8, 16
FLAG_OF = {
    "https": HTTPS,
    "order": ORDER,
    "browser": BROWSER,
    "unclaimed": UNCLAIMED,
    "origin": ORIGIN,
}
WHY = {
    "https": "not https (fetch metadata and client hints are not sent)",
    "order": "header order unknown (WSGI, or a proxy that reorders)",
    "browser": "the UA claims no browser",
    "unclaimed": "the UA names itself",
    "origin": "no origin database (Fingerprint(origin=...))",
}


@dataclass(frozen=True, slots=True)
class Score:
    """The soft-evidence result for one request (what `Fingerprint.score` returns)."""

    score: float
    band: str
    fired: tuple[tuple[str, float, str, str], ...]  # (signal, weight, group, evidence)
    shadow: tuple[tuple[str, float, str], ...]  # (signal, weight, evidence), not counted
    capped: tuple[tuple[str, float, float], ...]  # (group, raw sum, capped sum)
    skipped: tuple[tuple[str, tuple[str, ...]], ...]  # (precondition, signal names)
    exempt: str = ""
    bot: str = ""

    def summary(self) -> str:
        """One header-safe line: score, band and the counted signals."""
        parts = ",".join(f"{name}:{weight:+g}" for name, weight, _, _ in self.fired)
        return f"score={self.score:g}; band={self.band}; signals={parts or '-'}"


class Weighed(Protocol[S]):
    """A named, weighted check of some evidence `S`: a fingerprint `Signal` (of a `Head`) or a
    proof-of-work tell (of the page's report)."""

    @property
    def name(self) -> str: ...
    @property
    def weight(self) -> float: ...
    @property
    def group(self) -> str: ...
    @property
    def shadow(self) -> bool: ...
    @property
    def check(self) -> Callable[[S], object]: ...


def fire(
    sig: Weighed[S],
    head: S,
    sums: dict[str, float],
    fired: list[tuple[str, float, str, str]],
    shadow: list[tuple[str, float, str]],
) -> None:
    """Run one check, recording it as fired (or shadowed) and adding to its group's sum."""
    out = sig.check(head)
    if not out:
        return
    evidence = out if isinstance(out, str) else ""
    if sig.shadow:
        shadow.append((sig.name, sig.weight, evidence))
        return
    fired.append((sig.name, sig.weight, sig.group, evidence))
    sums[sig.group] = sums.get(sig.group, 0.0) + sig.weight


def apply_caps(
    sums: Mapping[str, float], caps: Mapping[str, float]
) -> tuple[float, list[tuple[str, float, float]]]:
    """The total of the group sums, each held to its cap (a negative cap is a floor), and the
    groups that were capped as ``(group, sum, cap)``."""
    total = 0.0
    capped: list[tuple[str, float, float]] = []
    for group, raw in sums.items():
        cap = caps.get(group)
        value = raw
        if cap is not None and ((cap >= 0 and raw > cap) or (cap < 0 and raw < cap)):
            value = cap
            capped.append((group, raw, cap))
        total += value
    return total, capped


class PathGlob:
    """Path globs: ``/x`` exact, ``/x*`` prefix, ``/*.rss`` suffix, ``/*/feed*`` segment."""

    def __init__(self, patterns: Iterable[str]) -> None:
        self.patterns = tuple(patterns)
        parts = []
        for p in self.patterns:
            if not p.startswith("/"):
                raise ConfigurationError(f"exempt paths must start with '/': {p!r}")
            parts.append(re.escape(p).replace(r"\*", "[^?#]*"))
        self._regex = re.compile("|".join(f"(?:{p})" for p in parts)) if parts else None

    def __call__(self, path: str) -> bool:
        return self._regex is not None and self._regex.fullmatch(path) is not None
