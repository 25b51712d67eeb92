"""The `Fingerprint` layer: explainable scoring of what a request's head says about its client.

Two tiers, after Anubis's terminal rules and weights:

1. **Hard outcomes** short-circuit: an operator's UA allow/deny rule, a verified good bot
   (ALLOW for the categories you trust), a good-bot claim that failed FCrDNS (DENY).
2. **Soft evidence** from signal functions is summed with a cap per group of correlated signals,
   and returned as the verdict's weight (a PASS: the chain's thresholds decide). The score falls
   into a *band* (human, automation, challenge, ...) shown in the explanation; soft evidence
   alone never denies unless you set ``deny_at``.

Feeds, robots.txt, sitemaps, ``/.well-known/``, favicons, link-preview bots, feed readers and dev
tools are kept below the challenge band (``safe_ceiling``), so they are never collateral damage.
The explanation goes to ``Verdict.detail``, and to an opt-in debug response header.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple

from ..errors import ConfigurationError
from ..facts import Facts
from ..fingerprint import signals as _builtin
from ..fingerprint.goodbots import BotVerifier, GoodBot, Verification
from ..fingerprint.head import Head, header_fingerprint
from ..fingerprint.packs import UAPack, builtin_packs, load_pack
from ..fingerprint.scoring import (
    BROWSER,
    DEFAULT_BANDS,
    DEFAULT_EXEMPT_PATHS,
    FLAG_OF,
    HTTPS,
    ORDER,
    ORIGIN,
    SAFE_CATEGORIES,
    UNCLAIMED,
    WHY,
    Band,
    PathGlob,
    Score,
    apply_caps,
    fire,
)
from ..fingerprint.signals import (
    CACHE_HEADERS,
    DEFAULT_CAPS,
    DEFAULT_SIGNALS,
    ORIGIN_SIGNALS,
    Signal,
)
from ..fingerprint.ua import UAClassifier
from ..layer import Progress, Threshold
from ..match import Matcher
from ..memo import Memo
from ..verdict import Action, Reason, Verdict

if TYPE_CHECKING:
    from ..origin.value import Origin, OriginLookup

__all__ = ["DEFAULT_BANDS", "DEFAULT_EXEMPT_PATHS", "Band", "Fingerprint", "Score"]


_UNCONFIRMED = 6.0
_CACHE_MAX_HEADERS = 40
_CACHE_MAX_CHARS = 4096  # a cached head's key text; bigger heads are evaluated every time
_first = itemgetter(0)
_NEEDS_ORIGIN = "origin"


class _OriginPart(NamedTuple):
    """What the origin signals said about one (UA class, claimed bot, origin)."""

    fired: tuple[tuple[str, float, str, str], ...] = ()
    shadow: tuple[tuple[str, float, str], ...] = ()


_NO_ORIGIN = _OriginPart()


@dataclass(frozen=True, slots=True)
class _Entry:
    """What one distinct head evaluates to, before path exemptions and bot verification."""

    hard: Verdict | None = None
    bot: GoodBot | None = None
    category: str | None = None
    flags: int = 0
    fired: tuple[tuple[str, float, str, str], ...] = ()
    shadow: tuple[tuple[str, float, str], ...] = ()
    skipped: tuple[tuple[str, tuple[str, ...]], ...] = ()
    sums: Mapping[str, float] = field(default_factory=dict)
    verdicts: dict[tuple[bool, bool, _OriginPart], Verdict] = field(
        default_factory=dict, compare=False
    )


class Fingerprint:
    """Scores request heads from signals; short-circuits on hard outcomes.

    :param signals: the signal set (`DEFAULT_SIGNALS`); ``extra_signals`` are appended.
    :param weights: per-signal weight overrides by name (0 disables a signal).
    :param shadow_signals: names of signals to report but not count.
    :param caps: per-group caps (merged over `DEFAULT_CAPS`).
    :param packs: UA rule packs (the built-in ones by default); ``extra_packs`` are added
        (paths, mappings or `UAPack` objects).
    :param allow_ua: regexes: a matching UA is allowed at once (hard ALLOW).
    :param deny_ua: regexes: a matching UA is refused at once (hard DENY).
    :param verifier: verifies good-bot claims; None uses the built-in snapshot with FCrDNS on
        background threads; False switches verification off.
    :param allow_verified: bot categories whose verified members are let through (hard ALLOW).
    :param deny_spoofed: refuse a good-bot claim that failed FCrDNS (hard DENY).
    :param exempt_paths: path globs whose score never exceeds `safe_ceiling`.
    :param safe_ceiling: the most a safe path or a preview/feed/tool UA can score (below the
        challenge band, so they are throttled at worst, never challenged).
    :param bands: score bands for the explanation (`DEFAULT_BANDS`).
    :param deny_at: opt-in: a soft score at or above this denies (None: never).
    :param ja4_header: header a trusted proxy puts a JA4 value in (e.g. ``"x-ja4"``).
        Only the Shield's trusted proxies may send it; from anyone else it is ignored and the
        ``fingerprint-header-spoofed`` signal fires.
    :param order_signals: set False behind a proxy that reorders headers (Traefik, Caddy).
    :param debug_header: opt-in response header carrying the explanation summary.
    :param debug_match: only add the debug header for requests this matcher accepts.
    :param match: only score requests this matcher accepts.
    :param cache_size: entries kept in each bounded cache (parsed user agents, evaluated heads).
    :param origin: where clients come from (an `OriginDB`). Adds the origin signals
        (`ORIGIN_SIGNALS`: a browser head from a hosting network, a library from one, a
        verifiable crawler's name from the wrong AS); without it nothing about origin is
        loaded or looked up. Costs one memoised lookup per request.
    :param bot_asns: per good bot, the ASNs its operator crawls from, replacing the shipped
        snapshot's entry (an empty list: no expectation). Only read with `origin`.
    """

    def __init__(
        self,
        *,
        signals: Sequence[Signal] = DEFAULT_SIGNALS,
        extra_signals: Iterable[Signal] = (),
        weights: Mapping[str, float] | None = None,
        shadow_signals: Iterable[str] = (),
        caps: Mapping[str, float] | None = None,
        packs: Sequence[UAPack] | None = None,
        extra_packs: Iterable[UAPack | str | Mapping[str, Any]] = (),
        allow_ua: Iterable[str] = (),
        deny_ua: Iterable[str] = (),
        verifier: BotVerifier | bool | None = None,
        allow_verified: Iterable[str] = ("search",),
        deny_spoofed: bool = True,
        exempt_paths: Iterable[str] = DEFAULT_EXEMPT_PATHS,
        safe_ceiling: float = 5.0,
        bands: Sequence[Band] = DEFAULT_BANDS,
        deny_at: float | None = None,
        ja4_header: str | None = None,
        order_signals: bool = True,
        debug_header: str | None = None,
        debug_match: Matcher | None = None,
        match: Matcher | None = None,
        cache_size: int = 4096,
        name: str = "fingerprint",
        origin: OriginLookup | None = None,
        bot_asns: Mapping[str, Iterable[int | str]] | None = None,
    ) -> None:
        self.name = name
        errors: list[str] = []
        weights = dict(weights or {})
        shadow = set(shadow_signals)
        chosen: list[Signal] = []
        seen: set[str] = set()
        candidates = (*signals, *extra_signals)
        if origin is not None:
            given = {sig.name for sig in candidates}
            candidates += tuple(sig for sig in ORIGIN_SIGNALS if sig.name not in given)
        for sig in candidates:
            if sig.name in seen:
                errors.append(f"two signals are named {sig.name!r}")
            seen.add(sig.name)
            if sig.name in weights:
                sig = sig.with_(weight=float(weights[sig.name]))
            if sig.name in shadow:
                sig = sig.with_(shadow=True)
            if sig.weight != 0 or sig.shadow:
                chosen.append(sig)
        unknown = (set(weights) | shadow) - seen
        if unknown:
            hint = ""
            if origin is None and unknown & {sig.name for sig in ORIGIN_SIGNALS}:
                hint = " (origin signals need Fingerprint(origin=...))"
            errors.append(f"unknown signal names: {sorted(unknown)}{hint}")
        self.caps = {**DEFAULT_CAPS, **(caps or {})}
        self.signals = tuple(chosen)
        all_packs = list(builtin_packs() if packs is None else packs)
        for extra in extra_packs:
            all_packs.append(extra if isinstance(extra, UAPack) else load_pack(extra))
        self.classifier = UAClassifier(all_packs, cache_size)
        try:
            self._allow_ua = _regex(allow_ua)
            self._deny_ua = _regex(deny_ua)
        except re.error as exc:
            errors.append(f"bad UA regex: {exc}")
        if errors:
            raise ConfigurationError("invalid Fingerprint: " + "; ".join(errors))
        if verifier is None or verifier is True:
            self.verifier: BotVerifier | None = BotVerifier()
        else:
            self.verifier = verifier or None
        self.allow_verified = frozenset(allow_verified)
        self.deny_spoofed = deny_spoofed
        self._exempt = PathGlob(exempt_paths)
        self.safe_ceiling = safe_ceiling
        self.bands = tuple(sorted(bands, key=lambda b: b.floor))
        self.deny_at = deny_at
        self.ja4_header = ja4_header.lower() if ja4_header else None
        self.order_signals = order_signals
        self.debug_header = debug_header.lower() if debug_header else None
        self.debug_match = debug_match
        self.match = match
        self._plans: dict[
            int, tuple[tuple[Signal, ...], tuple[tuple[str, tuple[str, ...]], ...]]
        ] = {}
        self._pass = Verdict(Action.PASS, name, Reason.NOT_SCORED)
        # The shipped signals read the user agent only through its parse (`UAInfo`) and the three
        # raw tells in `_ua_key`, so heads are cached by what the UA *says*, not its exact text:
        # a flood of never-seen User-Agents (a fresh build number each) reuses one evaluation.
        # A signal of your own may read the raw text: then the raw UA is part of the key.
        self._ua_by_class = all(s.check in _BUILTIN_CHECKS for s in self.signals if s.cacheable)
        heads = CACHE_HEADERS + ((self.ja4_header,) if self.ja4_header else ())
        if self._ua_by_class:
            heads = tuple(h for h in heads if h != "user-agent")
        self._cache_headers = heads
        self._cache_bytes = frozenset(h.encode("latin-1") for h in heads)
        self._cache: Memo[tuple[Any, ...], _Entry] = Memo(max(1, cache_size))
        self._ua_keys: Memo[str, tuple[Any, ...]] = Memo(max(1, cache_size))
        self._uncached = any(not s.cacheable and _NEEDS_ORIGIN not in s.needs for s in self.signals)
        #: Where clients come from, or None (no origin signal, no lookup).
        self.origin = origin
        self._origin_flag = ORIGIN if origin is not None else 0
        self._bot_asns: Mapping[str, frozenset[int]] = {}
        self.bot_asns_provenance: Mapping[str, Any] = {}
        if origin is not None:
            from ..fingerprint.goodbots import bot_asns as load_bot_asns

            self._bot_asns, self.bot_asns_provenance = load_bot_asns(bot_asns)
        self._origin_plans: dict[int, tuple[Signal, ...]] = {}
        self._origin_parts: Memo[tuple[Any, ...], _OriginPart] = Memo(max(1, cache_size))

    def __repr__(self) -> str:
        packs = [p.name for p in self.classifier.matcher.packs]
        return f"Fingerprint(signals={len(self.signals)}, packs={packs})"

    def close(self) -> None:
        """Stop the good-bot verifier's lookup threads (call it on application shutdown)."""
        if self.verifier is not None:
            self.verifier.close()

    # -- recommended chain settings --------------------------------------------------------
    def thresholds(self) -> list[Threshold]:
        """Chain thresholds matching the bands: challenge from the ``challenge`` band up."""
        floor = next((b.floor for b in self.bands if b.name == "challenge"), 6.0)
        return [Threshold(floor, Action.CHALLENGE, "fingerprint")]

    # -- evaluation ---------------------------------------------------------------------------
    def check(self, facts: Facts, progress: Progress) -> Verdict:
        if self.match is not None and not self.match(facts):
            return self._pass
        entry = self._entry(facts)
        if entry.hard is not None:
            return entry.hard
        debug = self.debug_header is not None and (
            self.debug_match is None or self.debug_match(facts)
        )
        if entry.bot is None or self.verifier is None:
            # The common case: everything but the path exemption (and the origin signals, one
            # memoised lookup) is a function of the head.
            part = _NO_ORIGIN if self.origin is None else self._origin_part(facts, entry, None)
            exempt = entry.category not in SAFE_CATEGORIES and self._exempt(facts.path)
            slot = (exempt, debug, part)
            verdict = entry.verdicts.get(slot)
            if verdict is None:
                verdict = self._verdict(self._finish(facts, entry, None, part), None, debug)
                if len(entry.verdicts) < 8:
                    entry.verdicts[slot] = verdict
            return verdict
        check = self.verifier.verify(entry.bot, facts.client_ip)
        hard = self._bot_verdict(check)
        if hard is not None:
            return hard
        part = _NO_ORIGIN if self.origin is None else self._origin_part(facts, entry, check)
        return self._verdict(self._finish(facts, entry, check, part), check, debug)

    def _verdict(self, result: Score, check: Verification | None, debug: bool) -> Verdict:
        headers: tuple[tuple[str, str], ...] = ()
        if debug and self.debug_header is not None:
            headers = ((self.debug_header, result.summary()),)
        detail = MappingProxyType(self._detail(result, check))
        if self.deny_at is not None and result.score >= self.deny_at and not result.exempt:
            return Verdict(
                Action.DENY,
                f"{self.name}/score",
                Reason.FINGERPRINT_SCORE,
                weight=result.score,
                headers=headers,
                detail=detail,
            )
        return Verdict(
            Action.PASS,
            f"{self.name}/{result.band}",
            Reason.FINGERPRINT_SCORE,
            weight=result.score,
            headers=headers,
            detail=detail,
        )

    def score(self, facts: Facts) -> Score:
        """The soft score of a request, ignoring hard outcomes (replay and evaluation)."""
        entry = self._entry(facts)
        check = None
        if entry.bot is not None and self.verifier is not None:
            check = self.verifier.verify(entry.bot, facts.client_ip)
        part = _NO_ORIGIN
        if self.origin is not None and entry.hard is None:
            part = self._origin_part(facts, entry, check)
        return self._finish(facts, entry, check, part)

    def _bot_verdict(self, check: Verification) -> Verdict | None:
        info = {"bot": check.bot.name, "outcome": check.outcome, "method": check.method}
        if check.outcome == "verified" and check.bot.category in self.allow_verified:
            return Verdict(
                Action.ALLOW,
                f"{self.name}/verified-bot",
                Reason.GOOD_BOT_VERIFIED,
                detail={"good_bot": info},
            )
        if check.outcome == "failed" and check.method == "fcrdns" and self.deny_spoofed:
            return Verdict(
                Action.DENY,
                f"{self.name}/spoofed-bot",
                Reason.GOOD_BOT_SPOOFED,
                detail={"good_bot": info},
            )
        return None

    def _entry(self, facts: Facts) -> _Entry:
        """The cacheable part of the evaluation, reused for identical heads."""
        secure = facts.secure
        order = self.order_signals and facts.header_order_known
        trusted = self.ja4_header is not None and facts.from_trusted_proxy
        raw = facts.raw_headers
        head = self._raw_key(raw) if raw is not None else None
        if head is not None:
            key: tuple[Any, ...] = (facts.method, secure, order, trusted, head)
            cacheable = True
        else:
            names = tuple(map(_first, facts.headers))
            values = tuple(map(facts.header_index.get, self._cache_headers))
            ua = self._ua_key(facts.user_agent) if self._ua_by_class else None
            key = (facts.method, secure, order, trusted, names, values, ua)
            cacheable = (
                len(names) <= _CACHE_MAX_HEADERS
                and sum(map(len, names)) + sum(map(len, filter(None, values))) <= _CACHE_MAX_CHARS
            )
        entry = self._cache.get(key)
        if entry is None:
            entry = self._evaluate(facts, secure, order, trusted)
            if cacheable:
                self._cache.put(key, entry)
        if self._uncached:
            entry = self._run_uncached(facts, entry, secure, order, trusted)
        return entry

    def _raw_key(self, raw: Sequence[tuple[bytes, bytes]]) -> tuple[Any, ...] | None:
        """The head's cache key read off the server's raw lines, without decoding a header.

        Every name in order, the value of each line of `CACHE_HEADERS` and what the user agent
        says (`_ua_key`): a finer key than the decoded one (every line, names as sent), so two
        heads sharing it share every input of the cached evaluation. None for heads too big to
        cache (or ``bytearray`` lines, left to the decoded path).
        """
        if len(raw) > _CACHE_MAX_HEADERS:
            return None
        keyed = self._cache_bytes
        parts: list[Any] = []
        size = 0
        agent: bytes | None = None
        for name, value in raw:
            if type(name) is not bytes or type(value) is not bytes:
                return None
            if not name.islower():
                name = name.lower()
            size += len(name)
            if name in keyed:
                parts.append((name, value))
                size += len(value)
            else:
                parts.append(name)
                if name == b"user-agent" and agent is None:
                    agent = value
        if size > _CACHE_MAX_CHARS:
            return None
        if self._ua_by_class:
            parts.append(self._ua_key(agent.decode("latin-1") if agent is not None else ""))
        return tuple(parts)

    def _ua_key(self, raw: str) -> tuple[Any, ...]:
        """What the shipped signals and the layer read of a user agent (see ``_ua_by_class``),
        worked out once per distinct user agent (a bounded memo)."""
        key = self._ua_keys.get(raw)
        if key is None:
            key = self._ua_keys.put(raw, self._read_ua(raw))
        return key

    def _read_ua(self, raw: str) -> tuple[Any, ...]:
        info = self.classifier(raw)
        bot = self.verifier.claimed(raw) if self.verifier is not None and info.hits else None
        return (
            info,
            bot,
            len(raw) > 512 or not raw.isprintable(),
            "Goanna/" in raw,
            "; wv)" in raw,
            self._allow_ua is not None and self._allow_ua.search(raw) is not None,
            self._deny_ua is not None and self._deny_ua.search(raw) is not None,
        )

    def _head(self, facts: Facts, secure: bool, order: bool, trusted: bool) -> Head:
        ua_raw = facts.user_agent
        ja4, untrusted = "", False
        if self.ja4_header is not None:
            value = facts.header(self.ja4_header)
            if value is not None:
                if trusted:
                    ja4 = value[:64]
                else:
                    untrusted = True
        return Head(facts, self.classifier(ua_raw), ua_raw, secure, order, ja4, untrusted)

    def _evaluate(self, facts: Facts, secure: bool, order: bool, trusted: bool) -> _Entry:
        ua_raw = facts.user_agent
        if self._allow_ua is not None and self._allow_ua.search(ua_raw):
            return _Entry(hard=Verdict(Action.ALLOW, f"{self.name}/allow-ua", Reason.UA_ALLOWED))
        if self._deny_ua is not None and self._deny_ua.search(ua_raw):
            return _Entry(hard=Verdict(Action.DENY, f"{self.name}/deny-ua", Reason.UA_DENIED))
        head = self._head(facts, secure, order, trusted)
        ua = head.ua
        flags = self._flags(head) | self._origin_flag
        active, skipped = self._plan(flags)
        sums: dict[str, float] = {}
        fired: list[tuple[str, float, str, str]] = []
        shadow: list[tuple[str, float, str]] = []
        for sig in active:
            if sig.cacheable:
                fire(sig, head, sums, fired, shadow)
        # Every verifiable crawler is in the packs, so a UA no pack knows claims no good bot.
        bot = self.verifier.claimed(ua_raw) if self.verifier is not None and ua.hits else None
        return _Entry(None, bot, ua.category, flags, tuple(fired), tuple(shadow), skipped, sums)

    @staticmethod
    def _flags(head: Head) -> int:
        ua = head.ua
        return (
            (HTTPS if head.secure else 0)
            | (ORDER if head.order_known else 0)
            | (BROWSER if ua.browser else 0)
            | (UNCLAIMED if not ua.hits and ua.family != "empty" else 0)
        )

    def _run_uncached(
        self, facts: Facts, entry: _Entry, secure: bool, order: bool, trusted: bool
    ) -> _Entry:
        if entry.hard is not None:
            return entry
        head = self._head(facts, secure, order, trusted)
        active, _ = self._plan(entry.flags)
        sums = dict(entry.sums)
        fired = list(entry.fired)
        shadow = list(entry.shadow)
        for sig in active:
            if not sig.cacheable and _NEEDS_ORIGIN not in sig.needs:
                fire(sig, head, sums, fired, shadow)
        return _Entry(
            None,
            entry.bot,
            entry.category,
            entry.flags,
            tuple(fired),
            tuple(shadow),
            entry.skipped,
            sums,
        )

    def _plan(
        self, flags: int
    ) -> tuple[tuple[Signal, ...], tuple[tuple[str, tuple[str, ...]], ...]]:
        plan = self._plans.get(flags)
        if plan is None:
            active: list[Signal] = []
            skipped: dict[str, list[str]] = {}
            for sig in self.signals:
                missing = [n for n in sorted(sig.needs) if not flags & FLAG_OF[n]]
                if missing:
                    skipped.setdefault(missing[0], []).append(sig.name)
                else:
                    active.append(sig)
            plan = (tuple(active), tuple((k, tuple(v)) for k, v in skipped.items()))
            self._plans[flags] = plan
        return plan

    def _origin_part(self, facts: Facts, entry: _Entry, check: Verification | None) -> _OriginPart:
        """The origin signals for this request: one memoised lookup, then a memo of results."""
        assert self.origin is not None
        origin = self.origin.origin_for(facts.client)
        claim = ""
        if entry.bot is not None and check is not None and check.outcome != "verified":
            claim = entry.bot.name  # a verified claim is believed, whatever the AS says
        key = (entry.flags, entry.category, claim, origin)
        part = self._origin_parts.get(key)
        if part is None:
            part = self._origin_parts.put(key, self._run_origin(facts, entry, claim, origin))
        return part

    def _run_origin(self, facts: Facts, entry: _Entry, claim: str, origin: Origin) -> _OriginPart:
        plan = self._origin_plans.get(entry.flags)
        if plan is None:
            active, _ = self._plan(entry.flags)
            plan = tuple(s for s in active if _NEEDS_ORIGIN in s.needs)
            self._origin_plans[entry.flags] = plan
        if not plan:
            return _NO_ORIGIN
        ua_raw = facts.user_agent
        head = Head(facts, self.classifier(ua_raw), ua_raw, facts.secure, False)
        head.origin = origin
        head.bot = claim
        head.bot_asns = self._bot_asns.get(claim, frozenset())
        sums: dict[str, float] = {}
        fired: list[tuple[str, float, str, str]] = []
        shadow: list[tuple[str, float, str]] = []
        for sig in plan:
            fire(sig, head, sums, fired, shadow)
        if not fired and not shadow:
            return _NO_ORIGIN
        return _OriginPart(tuple(fired), tuple(shadow))

    def _finish(
        self,
        facts: Facts,
        entry: _Entry,
        check: Verification | None,
        part: _OriginPart = _NO_ORIGIN,
    ) -> Score:
        sums = entry.sums
        fired = entry.fired
        shadow = entry.shadow
        if part is not _NO_ORIGIN:
            sums = dict(sums)
            for _, weight, group, _ in part.fired:
                sums[group] = sums.get(group, 0.0) + weight
            fired = (*fired, *part.fired)
            shadow = (*shadow, *part.shadow)
        if check is not None and check.outcome == "failed":
            sums = {**sums, "goodbot": sums.get("goodbot", 0.0) + _UNCONFIRMED}
            fired = (*fired, ("good-bot-unconfirmed", _UNCONFIRMED, "goodbot", check.bot.name))
        total, capped = apply_caps(sums, self.caps)
        exempt = ""
        if entry.category in SAFE_CATEGORIES:
            exempt = f"ua:{entry.category}"
        elif self._exempt(facts.path):
            exempt = "path"
        if exempt and total > self.safe_ceiling:
            total = self.safe_ceiling
        band = self.bands[0].name
        for b in self.bands:
            if total >= b.floor:
                band = b.name
        return Score(
            round(total, 3),
            band,
            fired,
            shadow,
            tuple(capped),
            entry.skipped,
            exempt,
            check.bot.name if check is not None else "",
        )

    def _detail(self, result: Score, bot: Verification | None) -> dict[str, Any]:
        """The explanation kept in `Verdict.detail` (tuples, shared between identical heads)."""
        detail: dict[str, Any] = {
            "score": result.score,
            "band": result.band,
            "signals": result.fired,
        }
        if result.capped:
            detail["capped"] = result.capped
        if result.skipped:
            detail["skipped"] = result.skipped
        if result.shadow:
            detail["shadow"] = result.shadow
        if result.exempt:
            detail["exempt"] = result.exempt
        if bot is not None:
            detail["good_bot"] = {"bot": bot.bot.name, "outcome": bot.outcome, "method": bot.method}
        return detail

    def explain(self, facts: Facts) -> dict[str, Any]:
        """The full explanation of one request, with the UA parse and the header fingerprint."""
        result = self.score(facts)
        ua = self.classifier(facts.user_agent)
        detail = self._detail(result, None)
        detail["ua"] = {
            "family": ua.family,
            "major": ua.major,
            "platform": ua.platform,
            "category": ua.category,
            "rules": [(r.pack, r.id, r.pattern) for r in ua.hits],
        }
        detail["hfp"] = header_fingerprint(facts)
        detail["why_skipped"] = {k: WHY[k] for k, _ in result.skipped}
        return detail


#: The checks of the signals shipped in `shieldware.fingerprint.signals`.
_BUILTIN_CHECKS = frozenset(s.check for s in vars(_builtin).values() if isinstance(s, Signal))


def _regex(patterns: Iterable[str]) -> re.Pattern[str] | None:
    items = list(patterns)
    return re.compile("|".join(f"(?:{p})" for p in items)) if items else None
