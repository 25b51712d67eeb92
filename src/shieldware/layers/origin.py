"""Allow, challenge or deny by network origin: AS number, network category or country."""

from __future__ import annotations

from collections.abc import Iterable
from types import MappingProxyType

from ..errors import ConfigurationError
from ..facts import Facts
from ..layer import Challenger, Flow, Progress
from ..match import Matcher
from ..memo import Memo
from ..origin.value import Category, Origin, OriginLookup, parse_asn, parse_country
from ..verdict import Action, Reason, Verdict

__all__ = ["OriginList"]

Entry = int | str
#: Distinct origins (AS, organisation, category, country) whose decision is remembered.
DECISIONS = 8192


class _Rules:
    """One list compiled: ASNs, categories and countries as sets."""

    __slots__ = ("asns", "categories", "countries")

    def __init__(self, entries: Iterable[Entry], what: str, errors: list[str]) -> None:
        self.asns: set[int] = set()
        self.categories: set[str] = set()
        self.countries: set[str] = set()
        if isinstance(entries, str):
            entries = [entries]
        for entry in entries:
            text = entry.strip() if isinstance(entry, str) else entry
            if isinstance(text, str) and text.lower() in Category.ALL:
                self.categories.add(text.lower())
            elif isinstance(text, str) and text.lower().startswith("country:"):
                self._country(text[8:], what, errors)
            elif isinstance(text, str) and len(text) == 2 and text.isalpha():
                self._country(text, what, errors)
            else:
                try:
                    self.asns.add(parse_asn(text))
                except ValueError:
                    errors.append(
                        f"{what}: {entry!r} is not an AS number ('AS16509'), a category "
                        f"({', '.join(sorted(Category.ALL))}) or a country ('country:FR')"
                    )

    def _country(self, code: str, what: str, errors: list[str]) -> None:
        try:
            self.countries.add(parse_country(code))
        except ValueError:
            errors.append(f"{what}: {code.strip().upper()!r} is not a two-letter country code")

    def __bool__(self) -> bool:
        return bool(self.asns or self.categories or self.countries)

    def __contains__(self, origin: Origin) -> bool:
        return (
            origin.asn in self.asns
            or origin.category in self.categories
            or origin.country in self.countries
        )

    def __repr__(self) -> str:
        items = [f"AS{a}" for a in sorted(self.asns)] + sorted(self.categories)
        return repr(items + [f"country:{c}" for c in sorted(self.countries)])


class OriginList:
    """Allow, challenge or deny clients by where they come from.

    Entries are AS numbers (``16509`` or ``"AS16509"``), categories (``"hosting"``, ``"isp"``,
    ``"unknown"``) or countries (``"country:FR"``, or just ``"FR"``). Allow wins over deny, and
    deny over challenge. An allow-listed client skips every later layer; a deny-listed one gets 403.

    A challenge-listed client is handed to `challenger` (a `ProofOfWork` layer) when one is given;
    otherwise the verdict adds `challenge_weight` to the score, so the chain's CHALLENGE threshold
    sends the client to the Shield's own challenger.

    :param origins: where origins come from (an `OriginDB`).
    :param match: only consider requests this matcher accepts (all requests by default).
    :param name: the layer's name, used in rule names (``"origin/deny"``).
    """

    def __init__(
        self,
        origins: OriginLookup,
        *,
        allow: Iterable[Entry] = (),
        challenge: Iterable[Entry] = (),
        deny: Iterable[Entry] = (),
        challenger: Challenger | None = None,
        challenge_weight: float = 10.0,
        match: Matcher | None = None,
        name: str = "origin",
    ) -> None:
        errors: list[str] = []
        self.allowed = _Rules(allow, "allow", errors)
        self.challenged = _Rules(challenge, "challenge", errors)
        self.denied = _Rules(deny, "deny", errors)
        if challenge_weight <= 0:
            errors.append(f"challenge_weight must be positive, not {challenge_weight}")
        if errors:
            raise ConfigurationError(f"invalid OriginList {name!r}: " + "; ".join(errors))
        # not ``self.challenge``: that name would make this layer look like a `Challenger`
        self.name = name
        self.origins = origins
        self.challenger = challenger
        self.challenge_weight = challenge_weight
        self.match = match
        #: The store ops the challenger sends when a client is handed to it.
        self.ops = frozenset(getattr(challenger, "ops", ()))
        #: Empty lists can say nothing: the Shield leaves this layer out of its chain.
        self.inert = not (self.allowed or self.challenged or self.denied)
        self._pass = Verdict(Action.PASS, name, Reason.NOT_LISTED)
        # One decision per distinct origin: the verdict, or the challenger to hand the request to.
        self._decided: Memo[Origin, Verdict | Challenger] = Memo(DECISIONS)

    def __repr__(self) -> str:
        return (
            f"OriginList(allow={self.allowed!r}, challenge={self.challenged!r}, "
            f"deny={self.denied!r}, match={self.match!r})"
        )

    def check(self, facts: Facts, progress: Progress) -> Verdict | Flow:
        if self.match is not None and not self.match(facts):
            return self._pass
        origin = self.origins.origin_for(facts.client)
        try:
            decided = self._decided[origin]
        except KeyError:
            decided = self._decided.put(origin, self._decide(origin))
        if isinstance(decided, Verdict):
            return decided
        return decided.challenge(facts, progress)  # per request: the challenge binds to it

    def _decide(self, origin: Origin) -> Verdict | Challenger:
        """What every request from `origin` gets (computed once per distinct origin)."""
        if origin in self.allowed:
            return self._verdict(Action.ALLOW, "allow", Reason.ORIGIN_ALLOWED, origin)
        if origin in self.denied:
            return self._verdict(Action.DENY, "deny", Reason.ORIGIN_DENIED, origin)
        if origin in self.challenged:
            if self.challenger is not None:
                return self.challenger
            return self._verdict(
                Action.PASS, "challenge", Reason.ORIGIN_CHALLENGED, origin, self.challenge_weight
            )
        return self._pass

    def _verdict(
        self, action: Action, rule: str, reason: str, origin: Origin, weight: float = 0.0
    ) -> Verdict:
        detail = {"asn": origin.asn, "org": origin.org, "category": origin.category}
        if origin.country is not None:
            detail["country"] = origin.country
        # read-only: one verdict answers every request from this origin
        return Verdict(
            action, f"{self.name}/{rule}", reason, weight, detail=MappingProxyType(detail)
        )
