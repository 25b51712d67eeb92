"""The layer contract: what a layer is, what it is handed, and what it answers when the store fails.

This is the surface for people who write layers. A layer has a `name` and a
``check(facts, progress)`` that returns a `Verdict` (a pure layer), a generator that yields
store ops and returns a `Verdict` (a stateful layer, driven like httpx's ``auth_flow``), or an
`Ask` (one op and the function that reads its result: the cheap form of a one-op flow). Layers
import this module, never the chain (`shieldware.policy`), so the chain can build on them.

Optional attributes a layer may declare, read once when a `Shield` is built:

- ``on_store_error``: ``"open"``, ``"closed"`` or None (the default: the Shield's policy). A store
  error a layer does not catch itself is answered by `store_failed` under that policy.
- ``ops``: the op types the layer may yield; the Shield refuses a store that cannot run them.
- ``inert``: True when the layer can never say anything (an `IPList` with empty lists): the
  Shield leaves it out of the chain.
- ``close()``: release background work on shutdown.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, Protocol, runtime_checkable

from .errors import ConfigurationError
from .ops import Op
from .verdict import Action, Reason, Verdict

if TYPE_CHECKING:
    from .facts import Facts
    from .verdict import Decision

__all__ = [
    "Ask",
    "Challenger",
    "FailurePolicy",
    "Flow",
    "Layer",
    "Progress",
    "Reporter",
    "Shadowed",
    "Threshold",
    "as_flow",
    "shadowed",
    "store_failed",
    "unwrap",
    "store_overloaded",
]

#: A stateful check: yields ops, is sent their results, returns the verdict.
Flow = Generator[Op[Any], Any, Verdict]


class Ask(NamedTuple):
    """A check that needs exactly one op: the op, and what turns its result into the verdict.

    The cheap form of a one-step `Flow` (no generator to create and drive), for the layers every
    request meets (the token bucket). A store error goes to the chain's failure policy.
    """

    op: Op[Any]
    then: Callable[[Any], Verdict]


#: What happens when the store fails: let the request through, or refuse it with 503.
FailurePolicy = Literal["open", "closed"]


@dataclass(slots=True)
class Progress:
    """What the chain knows so far, handed to each layer: the score and the verdicts before it."""

    score: float = 0.0
    trail: list[Verdict] = field(default_factory=list)


@runtime_checkable
class Layer(Protocol):
    """A defense layer. `check` returns a `Verdict`, or a generator that yields ops for one."""

    name: str

    def check(self, facts: Facts, progress: Progress) -> Verdict | Flow | Ask: ...


@runtime_checkable
class Challenger(Protocol):
    """A layer that can issue a challenge when a score threshold asks for one."""

    def challenge(self, facts: Facts, progress: Progress) -> Verdict | Flow: ...


@runtime_checkable
class Reporter(Protocol):
    """Receives every decision, enforced or not. Must not raise and must not block for long."""

    def report(self, decision: Decision, facts: Facts) -> None: ...


@dataclass(frozen=True, slots=True)
class Threshold:
    """When the summed weight reaches `score`, take `action` (THROTTLE, CHALLENGE or DENY)."""

    score: float
    action: Action
    name: str = ""

    def __post_init__(self) -> None:
        if not self.action.blocks:
            raise ConfigurationError(f"a threshold must block, not {self.action.value}")

    @property
    def rule(self) -> str:
        return f"threshold/{self.name or self.action.value}"


class Shadowed:
    """A layer whose verdicts are recorded but neither counted nor enforced (see `shadowed`)."""

    __slots__ = ("layer", "name")

    def __init__(self, layer: Layer) -> None:
        self.layer = layer
        self.name = layer.name

    def check(self, facts: Facts, progress: Progress) -> Verdict | Flow | Ask:
        return self.layer.check(facts, progress)

    def __repr__(self) -> str:
        return f"shadowed({self.layer!r})"


def shadowed(layer: Layer) -> Layer:
    """Run `layer` in shadow mode: see what it would do without letting it decide."""
    return Shadowed(layer)


def unwrap(layer: Layer) -> Layer:
    """The layer itself, seen through `shadowed` (what it is, whether it counts or not)."""
    return layer.layer if isinstance(layer, Shadowed) else layer


def as_flow(out: Verdict | Flow | Ask) -> Flow:
    """A check's answer as a flow, for layers that run another layer's check inside their own."""
    if isinstance(out, Verdict):
        return out
    if isinstance(out, Ask):
        return out.then((yield out.op))
    verdict: Verdict = yield from out
    return verdict


def store_failed(rule: str, policy: FailurePolicy) -> Verdict:
    """The one answer to "the store failed and nobody handled it", under `policy`."""
    if policy == "closed":
        return Verdict(
            Action.DENY,
            rule,
            Reason.STORE_FAILED_CLOSED,
            status=503,
            retry_after=1.0,
            degraded=True,
        )
    return Verdict(Action.PASS, rule, Reason.STORE_FAILED_OPEN, degraded=True)


def store_overloaded(rule: str) -> Verdict:
    """The answer to a busy store, whatever the policy: shed the request (503, retry soon).

    Overload is something an attacker can cause at will, so it never lets a request through.
    """
    return Verdict(
        Action.DENY, rule, Reason.STORE_OVERLOADED, status=503, retry_after=1.0, degraded=True
    )


def check_failure_policy(value: object, *, allow_none: bool = True) -> FailurePolicy | None:
    """Validate an ``on_store_error`` option (None: inherit the Shield's)."""
    if value is None and allow_none:
        return None
    if value == "local":
        raise ConfigurationError(
            "on_store_error='local' is a store concern now: keep 'open' or 'closed' here and "
            "wrap the store, FallbackStore(RedisStore(...), workers=N)"
        )
    if value not in ("open", "closed"):
        raise ConfigurationError(f"on_store_error must be 'open' or 'closed', not {value!r}")
    return value
