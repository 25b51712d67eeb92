"""What a layer answers (`Verdict`) and what the chain decides (`Decision`).

Both are immutable records that cross from the sans-IO core into adapters, reporters and the app.
They are named tuples rather than frozen dataclasses because one is built per layer per request
and a frozen dataclass costs about eight times as much to construct.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from .ops import Op

__all__ = ["ALLOWED", "DEFAULT_ALLOW", "Action", "Decision", "Reason", "Reply", "Verdict"]


class Action(enum.Enum):
    """What a verdict asks for. Only PASS is non-decisive: the chain goes on after it."""

    PASS = "pass"  # noqa: S105 - an action, not a password
    ALLOW = "allow"
    THROTTLE = "throttle"
    CHALLENGE = "challenge"
    DENY = "deny"

    #: True for the actions that keep the request away from the app (set below, once: a plain
    #: attribute read, where a property would hash the enum member on every request).
    blocks: bool


for _action in Action:
    _action.blocks = _action in (Action.THROTTLE, Action.CHALLENGE, Action.DENY)


class Reason:
    """Every reason a shipped layer or the chain gives, in one place: a verdict's ``reason`` is
    one of these short kebab-case strings (reports, logs and metrics carry them). Your own layers
    may add their own strings in the same style."""

    # the chain
    DEFAULT_ALLOW = "no-rule-matched"
    SCORE = "score-threshold"
    STORE_FAILED_OPEN = "store-failed-open"
    STORE_FAILED_CLOSED = "store-failed-closed"
    STORE_OVERLOADED = "store-overloaded"
    LAYER_FAILED = "layer-failed"
    BAD_REQUEST = "bad-request"
    # IPList, OriginList
    IP_ALLOWED = "ip-allow-listed"
    IP_DENIED = "ip-deny-listed"
    NOT_LISTED = "not-listed"
    ORIGIN_ALLOWED = "origin-allow-listed"
    ORIGIN_CHALLENGED = "origin-challenge-listed"
    ORIGIN_DENIED = "origin-deny-listed"
    # TokenBucket, RateLimit, Quota, Concurrency, PenaltyBox
    NOT_APPLICABLE = "not-applicable"
    WITHIN_LIMIT = "within-limit"
    RATE_LIMITED = "rate-limited"
    RATE_LIMITED_LOCALLY = "rate-limited-locally"
    COST_EXCEEDS_LIMIT = "cost-exceeds-limit"
    LEASE_TAKEN = "lease-taken"
    TOO_MANY_IN_FLIGHT = "too-many-in-flight"
    PENALTY_BOX = "penalty-box"
    # Fingerprint
    NOT_SCORED = "not-scored"
    FINGERPRINT_SCORE = "fingerprint-score"
    GOOD_BOT_VERIFIED = "good-bot-verified"
    GOOD_BOT_SPOOFED = "good-bot-spoofed"
    UA_ALLOWED = "ua-allow-listed"
    UA_DENIED = "ua-deny-listed"
    # Honeypot
    NOT_FILLED = "not-filled"
    HONEYPOT_FILLED = "honeypot-filled"
    # ProofOfWork
    NOT_COVERED = "not-covered"
    CLEARED = "cleared"
    NO_CLEARANCE = "no-clearance"
    CLEARANCE_SPENT = "clearance-spent"
    PREFIX_TRAFFIC_EXCEEDED = "prefix-traffic-exceeded"
    CHALLENGE_RATE_EXCEEDED = "challenge-rate-exceeded"
    CHALLENGE_CEILING_REACHED = "challenge-ceiling-reached"
    REDEEM_RATE_EXCEEDED = "redeem-rate-exceeded"
    SOLVED = "solved"
    WRONG_ANSWER = "wrong-answer"
    WRONG_DIFFICULTY = "wrong-difficulty"
    REPLAYED = "replayed"
    AUTOMATION_TELLS = "automation-tells"
    ASSET = "asset"
    NOT_FOUND = "not-found"
    ACTION_PROVED = "action-proved"
    ACTION_PROOF_REQUIRED = "action-proof-required"
    ACTION_CHALLENGE = "action-challenge"
    NOT_AN_ACTION = "not-an-action"


class Reply(NamedTuple):
    """A complete HTTP response the adapters send instead of calling the app."""

    status: int
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""

    def header(self, name: str) -> str | None:
        """The first value of header `name` (case-insensitive), or None."""
        name = name.lower()
        for key, value in self.headers:
            if key.lower() == name:
                return value
        return None


class Verdict(NamedTuple):
    """One layer's answer about one request.

    :param action: PASS (no decision, maybe a weight) or a decisive action.
    :param rule: where it came from, e.g. ``"ratelimit/login"`` or ``"fingerprint/ua-curl"``.
    :param reason: a short stable reason string (see `Reason`).
    :param weight: added to the request's score (PASS verdicts mostly).
    :param status: HTTP status to use when this verdict blocks; None picks the action's default.
    :param retry_after: seconds until the client may try again, when known.
    :param headers: response headers to add (on a passing response as well as on a reply).
    :param reply: a ready response; the adapters send it instead of rendering one.
    :param after: store operations to run once the response has ended (lease releases).
    :param detail: explanation data for logs and debugging (signals, counters).
    :param shadow: recorded in the trail but neither counted nor enforced.
    :param degraded: decided without the store (it failed); reported as such.
    """

    action: Action
    rule: str
    reason: str
    weight: float = 0.0
    status: int | None = None
    retry_after: float | None = None
    headers: tuple[tuple[str, str], ...] = ()
    reply: Reply | None = None
    after: tuple[Op[Any], ...] = ()
    detail: Mapping[str, Any] = MappingProxyType({})
    shadow: bool = False
    degraded: bool = False


#: The verdict of a request no layer and no threshold objected to.
DEFAULT_ALLOW = Verdict(Action.ALLOW, "default/allow", Reason.DEFAULT_ALLOW)


class Decision(NamedTuple):
    """The chain's answer: the decisive verdict plus the trail that explains it.

    :param verdict: the verdict that decided (or ``default/allow``).
    :param trail: every verdict in evaluation order, the decisive one included.
    :param score: the summed weight of the non-shadow verdicts.
    :param enforced: False in shadow mode: the decision is reported but never blocks.
    :param headers: response headers the counted verdicts asked for, in trail order; none in
        shadow mode (a limit that is only being trialled must not show).
    :param after: store operations to run once the response has ended (lease releases).
    """

    verdict: Verdict = DEFAULT_ALLOW
    trail: tuple[Verdict, ...] = ()
    score: float = 0.0
    enforced: bool = True
    headers: tuple[tuple[str, str], ...] = ()
    after: tuple[Op[Any], ...] = ()

    @classmethod
    def from_trail(
        cls,
        verdict: Verdict,
        trail: tuple[Verdict, ...],
        score: float = 0.0,
        enforced: bool = True,
    ) -> Decision:
        """A decision whose headers and after-ops are gathered from `trail`, as the chain does."""
        if len(trail) == 1:  # the common case: one layer spoke
            only = trail[0]
            headers = only.headers if enforced and not only.shadow else ()
            return cls(verdict, trail, score, enforced, headers, only.after)
        headers = tuple(h for v in trail if not v.shadow for h in v.headers) if enforced else ()
        after = tuple(op for v in trail for op in v.after)
        return cls(verdict, trail, score, enforced, headers, after)

    @property
    def action(self) -> Action:
        return self.verdict.action

    @property
    def answered(self) -> bool:
        """True when the adapters answer instead of the app: a refusal, or a layer's own reply
        (a proof-of-work asset, the verify endpoint's redirect)."""
        verdict = self.verdict
        return self.enforced and (verdict.action.blocks or verdict.reply is not None)

    @property
    def degraded(self) -> bool:
        """True when any layer decided without its store."""
        return any(v.degraded for v in self.trail)

    def explain(self) -> str:
        """A few human lines: the outcome, then each verdict of the trail."""
        mode = "enforced" if self.enforced else "shadow"
        lines = [
            f"{self.action.value} by {self.verdict.rule} ({self.verdict.reason}); "
            f"score {self.score:g}; {mode}"
        ]
        for v in self.trail:
            flags = "".join((" [shadow]" if v.shadow else "", " [degraded]" if v.degraded else ""))
            lines.append(f"  {v.rule}: {v.action.value} {v.reason} weight={v.weight:g}{flags}")
        return "\n".join(lines)


#: The decision of an enforced chain in which nothing had anything to say.
ALLOWED = Decision()
