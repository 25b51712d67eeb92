"""What the switch changes: an `AttackProfile`, compiled once into the Shield's second chain.

Under attack:

- every HTML navigation meets the proof-of-work interstitial (a valid clearance passes, so people
  who already hold one notice nothing);
- API routes (`AttackProfile.api`) need a clearance or an authenticated principal (API clients get
  the machine-readable 401 challenge `shieldware.client` answers);
- every token bucket's budget is multiplied by `budget_factor` for requests without a valid
  clearance (clearance holders keep their normal budget, metered by the clearance itself);
- the challenge is `new_network_bits` harder for networks from which nobody solved one lately
  (`history_ttl`);
- the shadowed layers named in `promote` are enforced.

`AttackProfile.compile` turns the normal layers into the attack layers; the `Shield` compiles both
chains at construction and the `Switch` picks one per request. Nothing here runs while the switch
is off.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigurationError
from ..facts import Facts
from ..layer import Ask, Flow, Layer, Progress, Shadowed, as_flow, unwrap
from ..layers.challenge import (
    ANSWER_HEADER,
    BASE_PATH,
    CLEARANCE_HEADER,
    ProofOfWork,
)
from ..layers.ratelimit import RateLimit, TokenBucket
from ..match import Matcher, path_regex
from ..ops import Add, Get
from ..pow import tokens
from ..rate import Rate
from ..verdict import Reason, Verdict

__all__ = ["AttackGate", "AttackProfile", "is_navigation", "tightened"]

#: API routes by default: ``/api`` and everything under it.
DEFAULT_API = path_regex(r"/api(/.*)?")
HISTORY_PREFIX = "sw:attack:seen:"


def is_navigation(facts: Facts) -> bool:
    """A browser loading a page: ``Sec-Fetch-Mode: navigate``, or (older browsers, no Fetch
    metadata) a GET or HEAD that accepts HTML."""
    mode = facts.header("sec-fetch-mode")
    if mode is not None:
        return mode == "navigate"
    return facts.method in ("GET", "HEAD") and "text/html" in (facts.header("accept") or "")


@dataclass(frozen=True)
class AttackProfile:
    """What the under-attack switch changes (see the module docstring). Declared in code.

    :param navigation: every HTML navigation meets the interstitial.
    :param api: the API routes that need a clearance or a principal (None: none do).
    :param budget_factor: token buckets' rate and burst are multiplied by this for requests
        without a valid clearance (1.0: unchanged).
    :param new_network_bits: extra proof-of-work bits for networks with no clearance history.
    :param history_ttl: seconds a solve from a network counts as its history.
    :param promote: names of shadowed layers that are enforced under attack.
    :param refresh: seconds between two reads of the switch by one process.
    """

    navigation: bool = True
    api: Matcher | None = DEFAULT_API
    budget_factor: float = 0.25
    new_network_bits: int = 1
    history_ttl: float = 7 * 86400.0
    promote: tuple[str, ...] = ()
    refresh: float = 0.5

    def __post_init__(self) -> None:
        errors = []
        if not 0 < self.budget_factor <= 1:
            errors.append("budget_factor must be within (0, 1]")
        if not 0 <= self.new_network_bits <= 8:
            errors.append("new_network_bits must be within 0..8")
        if not self.history_ttl > 0:
            errors.append("history_ttl must be positive")
        if not 0.05 <= self.refresh <= 1.0:
            errors.append(
                "refresh must be within 0.05..1 seconds (a flip must reach every "
                "worker within a second)"
            )
        if isinstance(self.promote, str):
            errors.append("promote is a tuple of layer names, not one string")
        if errors:
            raise ConfigurationError("invalid AttackProfile: " + "; ".join(errors))

    def compile(self, layers: Sequence[Layer], challenger: object | None) -> list[Layer]:
        """The attack chain's layers, from the normal chain's (which are left untouched)."""
        names = {layer.name for layer in layers}
        shadowed = {layer.name for layer in layers if isinstance(layer, Shadowed)}
        errors = [
            f"promote names {name!r}, which is not a shadowed layer of this Shield"
            for name in self.promote
            if name not in names or name not in shadowed
        ]
        pow_layer = challenger if isinstance(challenger, ProofOfWork) else None
        if pow_layer is None:
            pow_layer = next(
                (
                    inner
                    for inner in (unwrap(layer) for layer in layers)
                    if isinstance(inner, ProofOfWork)
                ),
                None,
            )
        if pow_layer is None and (self.navigation or self.api is not None):
            errors.append(
                "an attack profile that challenges navigations or API routes needs a "
                "ProofOfWork layer in the Shield"
            )
        if errors:
            raise ConfigurationError("invalid AttackProfile: " + "; ".join(errors))
        gate = AttackGate(pow_layer, self) if pow_layer is not None else None
        cleared = gate.cleared if gate is not None else None
        out: list[Layer] = []
        for layer in layers:
            promoted = isinstance(layer, Shadowed) and layer.name in self.promote
            inner = unwrap(layer)
            if gate is not None and inner is pow_layer:
                new: Layer = gate
            else:
                new = _Tightened.wrap(inner, self.budget_factor, cleared)
            out.append(new if promoted or not isinstance(layer, Shadowed) else Shadowed(new))
        if gate is not None and not any(unwrap(layer) is pow_layer for layer in layers):
            out.append(gate)  # the challenger was given apart from the layers
        return out

    def describe(self) -> list[str]:
        """What this profile does, one line each (``shieldware explain``, the live view)."""
        lines = []
        if self.navigation:
            lines.append("every HTML navigation meets the proof-of-work interstitial")
        if self.api is not None:
            lines.append(f"API routes ({self.api!r}) need a clearance or a principal")
        if self.budget_factor < 1:
            lines.append(f"token buckets x{self.budget_factor:g} for requests without clearance")
        if self.new_network_bits:
            lines.append(
                f"+{self.new_network_bits} proof-of-work bit(s) for networks with no solve in "
                f"{self.history_ttl / 3600:g} h"
            )
        if self.promote:
            lines.append("enforced: " + ", ".join(self.promote))
        lines.append("clearance holders pass as before")
        return lines


def _variant(pow_layer: ProofOfWork, bits: int) -> ProofOfWork:
    """`pow_layer` covering every request, `bits` harder: same name, secrets, keys and cookie, so
    its clearances and the original's are one and the same."""
    twin = copy.copy(pow_layer)
    twin.match = _every_request
    twin.min_score = None
    # The original's account actions stay actions (a proof each), and nothing else becomes one.
    twin.per_action = False
    twin.actions = pow_layer.is_action
    twin.bits = min(pow_layer.max_bits, pow_layer.bits + bits)
    return twin


def _every_request(facts: Facts) -> bool:
    """The attack chain's proof of work covers every request the gate hands it."""
    return True


class AttackGate:
    """The attack chain's proof of work: navigations and API routes must hold a clearance.

    Stands where the Shield's `ProofOfWork` stands; requests it does not cover are the original
    layer's, unchanged. Records a network's solves (`history_ttl`) so its next newcomers pay the
    base difficulty.
    """

    def __init__(self, pow_layer: ProofOfWork, profile: AttackProfile) -> None:
        self.name = pow_layer.name
        self.pow = pow_layer
        self.profile = profile
        self.known = _variant(pow_layer, 0)
        self.new = _variant(pow_layer, profile.new_network_bits)
        self.ops = frozenset(pow_layer.ops | {Get, Add})
        self.on_store_error = getattr(pow_layer, "on_store_error", None)
        self._navigation = profile.navigation
        self._api = profile.api
        self._kit = pow_layer.kit
        self._prefixes = (pow_layer.v4_prefix, pow_layer.v6_prefix)
        self._clock: Callable[[], float] = pow_layer.clock

    def __repr__(self) -> str:
        return f"AttackGate({self.pow!r}, +{self.profile.new_network_bits} bit(s) for newcomers)"

    def covers(self, facts: Facts) -> bool:
        if self._api is not None and self._api(facts):
            return facts.principal is None
        return self._navigation and is_navigation(facts)

    def cleared(self, facts: Facts) -> bool:
        """The request carries a valid clearance of this layer (signature, binding, expiry)."""
        raw = facts.header(CLEARANCE_HEADER) or facts.cookie(
            tokens.COOKIE_NAMES[1] if facts.secure else tokens.COOKIE
        )
        if not raw:
            return False
        _prefix, bound = self._client(facts)
        return not isinstance(self._kit.read_clearance(raw, now=self._clock(), bound=bound), str)

    def _client(self, facts: Facts) -> tuple[str, str]:
        prefix = facts.client.network(*self._prefixes) or "-"
        return prefix, tokens.binding(prefix, facts.user_agent)

    # -- Layer and Challenger ----------------------------------------------------------------
    def check(self, facts: Facts, progress: Progress) -> Verdict | Flow:
        if facts.path.startswith(BASE_PATH):  # the verify endpoint: the base difficulty floor
            return self._remembering(facts, self.pow.check(facts, progress))
        if not self.covers(facts):
            return self.pow.check(facts, progress)
        return self._gate(facts, progress)

    def challenge(self, facts: Facts, progress: Progress) -> Verdict | Flow:
        return self.pow.challenge(facts, progress)

    def _gate(self, facts: Facts, progress: Progress) -> Flow:
        prefix, _ = self._client(facts)
        chosen = self.known
        if self.new is not self.known and not self._holds_token(facts):
            seen = yield Get(HISTORY_PREFIX + prefix)
            if seen is None:
                chosen = self.new
        verdict = yield from self._remembering(facts, chosen.check(facts, progress))
        return verdict

    def _holds_token(self, facts: Facts) -> bool:
        """A clearance or an answer: the base difficulty floor reads it (no history lookup)."""
        return bool(
            facts.header(CLEARANCE_HEADER)
            or facts.header(ANSWER_HEADER)
            or facts.cookie(tokens.COOKIE)
            or facts.cookie(tokens.COOKIE_NAMES[1])
        )

    def _remembering(self, facts: Facts, out: Verdict | Flow | Ask) -> Flow:
        verdict = yield from as_flow(out)
        if verdict.reason == Reason.SOLVED and self.new is not self.known:
            prefix, _ = self._client(facts)
            yield Add(HISTORY_PREFIX + prefix, self.profile.history_ttl)
        return verdict


class _Tightened:
    """A rate-limit layer at `factor` of its budget, unless the request holds a valid clearance
    (then the original layer decides: same keys, so one client's debt carries over)."""

    def __init__(self, normal: Any, tight: Any, cleared: Callable[[Facts], bool] | None) -> None:
        self.name = normal.name
        self.normal = normal
        self.tight = tight
        self.cleared = cleared
        self.ops = frozenset(getattr(normal, "ops", ())) | frozenset(getattr(tight, "ops", ()))
        self.on_store_error = getattr(normal, "on_store_error", None)

    @classmethod
    def wrap(cls, layer: Layer, factor: float, cleared: Callable[[Facts], bool] | None) -> Layer:
        tight: Layer = tightened(layer, factor)
        if tight is layer:
            return layer
        return cls(layer, tight, cleared)

    def __repr__(self) -> str:
        return f"tightened({self.tight!r})"

    def check(self, facts: Facts, progress: Progress) -> Verdict | Flow | Ask:
        if self.cleared is not None and self.cleared(facts):
            return self.normal.check(facts, progress)  # type: ignore[no-any-return]
        return self.tight.check(facts, progress)  # type: ignore[no-any-return]


def tightened(layer: Any, factor: float) -> Any:
    """`layer` with its budgets multiplied by `factor` (token buckets; a layer may define
    ``tightened(factor)`` itself); the layer itself when it has no budget to tighten."""
    if factor >= 1:
        return layer
    if isinstance(layer, TokenBucket):
        inner = layer._layer
        return _bucket(layer, factor, _limit_options(inner))
    if isinstance(layer, RateLimit):
        return RateLimit(
            [_bucket(rule, factor, {}) for rule in layer.rules],
            name=layer.name,
            **_limit_options(layer),
        )
    own = getattr(layer, "tightened", None)
    if callable(own):
        return own(factor)
    return layer


def _limit_options(layer: RateLimit) -> dict[str, Any]:
    cache = getattr(getattr(layer.blocks, "_cache", None), "maxsize", 0)
    return {
        "headers": layer.headers,
        "on_store_error": layer.on_store_error,
        "jitter": layer.jitter,
        "local_cache": int(cache or 0),
        "status": layer.status,
    }


def _bucket(rule: TokenBucket, factor: float, options: dict[str, Any]) -> TokenBucket:
    rate = Rate(max(1, math.floor(rule.rate.amount * factor)), rule.rate.period)
    burst = max(1, math.floor(rule.burst * factor))
    if isinstance(rule.cost, int):
        burst = max(burst, rule.cost)
    return TokenBucket(
        rate,
        burst=burst,
        key=rule.key,
        cost=rule.cost,
        match=rule.match,
        name=rule.name,
        **options,
    )
