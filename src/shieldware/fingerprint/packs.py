"""User-agent rule packs: data files with provenance, compiled once into one fast matcher.

A pack is a JSON document::

    {"name": "...", "version": "...", "source": "...", "date": "YYYY-MM-DD", "licence": "...",
     "notice": "...", "priority": 0, "rules": [{"id": "...", "pattern": "regex",
     "category": "library", "tags": [...], "flags": "i"}]}

Matching 1,700 regexes one by one costs milliseconds per user agent, so each rule is indexed by
a three-letter piece of a literal it must contain; a user agent only runs the regexes whose
piece it contains (and whose whole literal it contains). Rules with no usable literal are run
every time; the shipped packs have very few.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from ..errors import ConfigurationError

__all__ = [
    "CATEGORIES",
    "BUILTIN_PACKS",
    "PackMatcher",
    "Rule",
    "UAPack",
    "builtin_packs",
    "load_pack",
]

#: The categories a rule may carry; signals and policies are written against these.
CATEGORIES = frozenset(
    {
        "library",  # HTTP client libraries and command-line tools (curl, requests, Go)
        "automation",  # headless and driven browsers (HeadlessChrome, Puppeteer, Lightpanda)
        "ai-crawler",  # AI training/indexing crawlers (GPTBot, ClaudeBot, CCBot)
        "ai-user",  # AI agents fetching for a person (ChatGPT-User, Claude-User)
        "search",  # search-engine crawlers (verifiable; see goodbots)
        "preview",  # link-preview unfurlers (Mastodon, Slack, Telegram): never collateral
        "feed",  # feed readers: never collateral
        "tool",  # developer tools (git, docker, pip): never collateral
        "monitoring",  # uptime and health checks
        "archiver",  # web archives
        "scanner",  # vulnerability and port scanners
        "crawler",  # every other self-declared robot (SEO, ads, research)
    }
)
BUILTIN_PACKS = ("shieldware-core", "crawler-user-agents")
_GRAM = 3
#: Browser user agents; index pieces that occur in them are avoided (they would match always).
_COMMON = (
    "mozilla/5.0 (windows nt 10.0; win64; x64) applewebkit/537.36 (khtml, like gecko) "
    "chrome/131.0.0.0 safari/537.36 edg/131.0.0.0 opr/115.0.0.0",
    "mozilla/5.0 (macintosh; intel mac os x 10_15_7) applewebkit/605.1.15 (khtml, like gecko) "
    "version/18.1 safari/605.1.15",
    "mozilla/5.0 (x11; linux x86_64; rv:133.0) gecko/20100101 firefox/133.0",
    "mozilla/5.0 (linux; android 10; k) applewebkit/537.36 (khtml, like gecko) "
    "chrome/131.0.0.0 mobile safari/537.36 samsungbrowser/26.0",
    "mozilla/5.0 (iphone; cpu iphone os 18_1 like mac os x) applewebkit/605.1.15 "
    "(khtml, like gecko) version/18.1 mobile/15e148 safari/604.1",
)


@dataclass(frozen=True, slots=True)
class Rule:
    """One user-agent rule of a pack."""

    id: str
    pattern: str
    category: str
    pack: str
    tags: tuple[str, ...] = ()
    flags: int = field(compare=False, repr=False, default=0)
    literal: str = field(compare=False, repr=False, default="")

    @property
    def regex(self) -> re.Pattern[str]:
        """The compiled pattern (`PackMatcher` compiles each rule once, on its first candidate)."""
        return re.compile(self.pattern, self.flags)


@dataclass(frozen=True, slots=True)
class UAPack:
    """A named, dated, licensed list of user-agent rules."""

    name: str
    version: str
    source: str
    date: str
    licence: str
    rules: tuple[Rule, ...]
    notice: str = ""
    priority: int = 100

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, compile_check: bool = True) -> UAPack:
        """Validate a pack; all problems are reported together.

        ``compile_check=False`` skips compiling every pattern up front: the shipped packs (some
        1,700 patterns, checked by the test suite) then cost a process nothing until a user
        agent first reaches a rule.
        """
        errors: list[str] = []
        for key in ("name", "source", "date", "licence", "rules"):
            if key not in data:
                errors.append(f"missing {key!r}")
        if errors:
            raise ConfigurationError(f"invalid UA pack: {'; '.join(errors)}")
        name = str(data["name"])
        rules: list[Rule] = []
        for index, raw in enumerate(data["rules"]):
            try:
                rules.append(_rule(name, index, raw, compile_check))
            except (KeyError, TypeError, ValueError, re.error) as exc:
                errors.append(f"rule #{index}: {exc}")
        if errors:
            raise ConfigurationError(f"invalid UA pack {name!r}: {'; '.join(errors[:10])}")
        return cls(
            name=name,
            version=str(data.get("version", data["date"])),
            source=str(data["source"]),
            date=str(data["date"]),
            licence=str(data["licence"]),
            rules=tuple(rules),
            notice=str(data.get("notice", "")),
            priority=int(data.get("priority", 100)),
        )

    @property
    def provenance(self) -> dict[str, str]:
        """What the explanation and the docs say about where the data came from."""
        return {
            "name": self.name,
            "version": self.version,
            "source": self.source,
            "date": self.date,
            "licence": self.licence,
        }


def _rule(pack: str, index: int, raw: Mapping[str, Any], compile_check: bool = True) -> Rule:
    pattern = str(raw["pattern"])
    category = str(raw.get("category", "crawler"))
    if category not in CATEGORIES:
        raise ValueError(f"unknown category {category!r}")
    flags = re.IGNORECASE if "i" in str(raw.get("flags", "")) else 0
    if compile_check:
        re.compile(pattern, flags)
    return Rule(
        id=str(raw.get("id", f"{pack}-{index}")),
        pattern=pattern,
        category=category,
        pack=pack,
        tags=tuple(str(t) for t in raw.get("tags", ())),
        flags=flags,
        literal=required_literal(pattern).lower(),
    )


def load_pack(source: str | Path | Mapping[str, Any]) -> UAPack:
    """A pack from a path to a JSON file, or from an already parsed mapping."""
    if isinstance(source, Mapping):
        return UAPack.from_dict(source)
    try:
        data = json.loads(Path(source).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"cannot read UA pack {source}: {exc}") from exc
    return UAPack.from_dict(data)


_BUILTIN: dict[str, UAPack] = {}


def builtin_packs(names: Iterable[str] = BUILTIN_PACKS) -> tuple[UAPack, ...]:
    """The packs shipped inside the package, loaded once per process."""
    out = []
    for name in names:
        if name not in _BUILTIN:
            if name not in BUILTIN_PACKS:
                raise ConfigurationError(f"no built-in UA pack {name!r}; have {BUILTIN_PACKS}")
            text = resources.files(__package__).joinpath(f"data/{name}.json").read_text("utf-8")
            _BUILTIN[name] = UAPack.from_dict(json.loads(text), compile_check=False)
        out.append(_BUILTIN[name])
    return tuple(out)


def required_literal(pattern: str) -> str:
    """The longest literal run every match of `pattern` must contain ("" when unsure).

    A conservative scan: only top-level text counts, anything quantified or inside a group or
    class is dropped, and a top-level alternation gives up.
    """
    runs: list[str] = []
    cur: list[str] = []
    depth = 0
    i, n = 0, len(pattern)

    def flush() -> None:
        if cur:
            runs.append("".join(cur))
            cur.clear()

    while i < n:
        c = pattern[i]
        if c == "\\" and i + 1 < n:
            d = pattern[i + 1]
            i += 2
            if d.isalnum():
                flush()
            elif depth == 0:
                cur.append(d)
            continue
        if c in "*?":
            if cur:
                cur.pop()
            flush()
        elif c == "{":
            if cur:
                cur.pop()
            flush()
            close = pattern.find("}", i)
            i = n if close < 0 else close
        elif c == "[":
            flush()
            i += 1
            while i < n and pattern[i] != "]":
                i += 2 if pattern[i] == "\\" else 1
        elif c == "(":
            depth += 1
            flush()
        elif c == ")":
            depth = max(0, depth - 1)
            flush()
        elif c == "|":
            if depth == 0:
                return ""
        elif c in ".^$+":
            flush()
        elif depth == 0:
            cur.append(c)
        i += 1
    flush()
    return max(runs, key=len, default="")


class PackMatcher:
    """All packs' rules behind one trigram index; `match` returns hits in priority order."""

    def __init__(self, packs: Sequence[UAPack]) -> None:
        self.packs = tuple(sorted(packs, key=lambda p: p.priority))
        self.rules: tuple[Rule, ...] = tuple(r for p in self.packs for r in p.rules)
        common = {c[i : i + _GRAM] for c in _COMMON for i in range(len(c) - _GRAM + 1)}
        load: dict[str, int] = {}
        index: dict[str, list[int]] = {}
        always: list[int] = []
        for position, rule in enumerate(self.rules):
            lit = rule.literal
            grams = [lit[i : i + _GRAM] for i in range(len(lit) - _GRAM + 1)]
            if not grams:
                always.append(position)
                continue
            best = min(grams, key=lambda g: (g in common, load.get(g, 0)))
            load[best] = load.get(best, 0) + 1
            index.setdefault(best, []).append(position)
        # Keyed by the gram's three characters as a tuple: `match` intersects the keys with the
        # user agent's ``zip`` of three shifted copies, never building its set of substrings.
        self._index: dict[tuple[str, ...], tuple[int, ...]] = {
            tuple(k): tuple(v) for k, v in index.items()
        }
        self._compiled: list[re.Pattern[str] | None] = [None] * len(self.rules)
        self._keys = frozenset(self._index)
        self._always = tuple(always)

    @property
    def unindexed(self) -> int:
        """How many rules run on every user agent (no literal to index them by)."""
        return len(self._always)

    def match(self, ua: str, limit: int = 4) -> tuple[Rule, ...]:
        """The rules matching `ua`, highest-priority pack first, at most `limit`."""
        lower = ua.lower()
        positions: list[int] = list(self._always)
        for gram in self._keys.intersection(zip(lower, lower[1:], lower[2:], strict=False)):
            positions.extend(self._index[gram])
        if not positions:
            return ()
        rules = self.rules
        compiled = self._compiled
        hits: list[Rule] = []
        for position in sorted(positions):
            rule = rules[position]
            if rule.literal not in lower:
                continue
            regex = compiled[position]
            if regex is None:
                regex = compiled[position] = rule.regex
            if regex.search(ua):
                hits.append(rule)
                if len(hits) >= limit:
                    break
        return tuple(hits)
