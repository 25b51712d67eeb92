"""The policy chain: ordered layers in, one `Decision` out.

`Shield.flow` is the only evaluation logic. It is a generator that yields store ops; `decide` drives
it synchronously and `adecide` asynchronously, so no layer and no rule exists twice.

Semantics, in order:
1. Layers run in the order given. A PASS verdict adds its weight to the score and the chain goes on.
2. The first decisive verdict (ALLOW, THROTTLE, CHALLENGE, DENY) ends the chain.
3. If none decides, the highest `Threshold` the score reaches decides; otherwise ``default/allow``.
4. Shadow verdicts (from a shadowed layer) are recorded but neither counted nor decisive.
5. In ``shadow`` mode the decision is made and reported but never enforced.
"""

from __future__ import annotations

import logging
from collections.abc import Generator, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, TypeVar, runtime_checkable

from .clientip import TrustedProxies
from .errors import ConfigurationError, StoreError
from .facts import Facts
from .ops import Op
from .stores import MemoryStore, Store, store_from_url
from .verdict import DEFAULT_ALLOW, Action, Decision, Reason, Verdict

__all__ = [
    "Challenger",
    "Flow",
    "Layer",
    "Mode",
    "Progress",
    "Reporter",
    "Shield",
    "Threshold",
    "shadowed",
]

log = logging.getLogger("shieldware")

R = TypeVar("R")
Flow = Generator[Op[Any], Any, Verdict]
Mode = Literal["enforce", "shadow"]
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

    def check(self, facts: Facts, progress: Progress) -> Verdict | Flow: ...


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


class _Shadowed:
    """A layer whose verdicts are recorded but neither counted nor enforced."""

    def __init__(self, layer: Layer) -> None:
        self.layer = layer
        self.name = layer.name

    def check(self, facts: Facts, progress: Progress) -> Verdict | Flow:
        return self.layer.check(facts, progress)

    def __repr__(self) -> str:
        return f"shadowed({self.layer!r})"


def shadowed(layer: Layer) -> Layer:
    """Run `layer` in shadow mode: see what it would do without letting it decide."""
    return _Shadowed(layer)


class Shield:
    """The policy chain and everything it needs to decide.

    :param layers: the defense layers, in evaluation order.
    :param store: a `Store`, a store URL (``"memory://"``, ``"redis://127.0.0.1:6379/0"``), or
        None for a bounded `MemoryStore`.
    :param mode: ``"enforce"`` blocks; ``"shadow"`` decides and reports but never blocks.
    :param thresholds: score thresholds applied when no layer decided.
    :param trusted_proxies: addresses/CIDRs (or a `TrustedProxies`) whose forwarding headers are
        believed. Nothing is trusted by default.
    :param reporters: receive every decision.
    :param on_store_error: ``"open"`` lets the request through when the store fails and no layer
        handled the failure itself; ``"closed"`` refuses it with 503.
    :param challenger: who answers a CHALLENGE threshold; the first layer that can, by default.
    """

    def __init__(
        self,
        layers: Iterable[Layer] = (),
        *,
        store: Store | str | None = None,
        mode: Mode = "enforce",
        thresholds: Iterable[Threshold] = (),
        trusted_proxies: TrustedProxies | Iterable[str] = (),
        reporters: Iterable[Reporter] = (),
        on_store_error: FailurePolicy = "open",
        challenger: Challenger | None = None,
    ) -> None:
        self.layers: tuple[Layer, ...] = tuple(layers)
        errors = _check_layers(self.layers)
        if mode not in ("enforce", "shadow"):
            errors.append(f"mode must be 'enforce' or 'shadow', not {mode!r}")
        if on_store_error not in ("open", "closed"):
            errors.append(f"on_store_error must be 'open' or 'closed', not {on_store_error!r}")
        self.thresholds = tuple(sorted(thresholds, key=lambda t: t.score, reverse=True))
        self.challenger = challenger or next(
            (layer for layer in self.layers if isinstance(layer, Challenger)), None
        )
        if self.challenger is None and any(t.action is Action.CHALLENGE for t in self.thresholds):
            errors.append("a CHALLENGE threshold needs a challenger (a ProofOfWork layer)")
        if errors:
            raise ConfigurationError("invalid Shield: " + "; ".join(errors))
        self.mode: Mode = mode
        self.on_store_error: FailurePolicy = on_store_error
        self.store: Store = (
            MemoryStore()
            if store is None
            else store_from_url(store)
            if isinstance(store, str)
            else store
        )
        self.proxies = (
            trusted_proxies
            if isinstance(trusted_proxies, TrustedProxies)
            else TrustedProxies(trusted_proxies)
        )
        self.reporters: tuple[Reporter, ...] = tuple(reporters)
        #: Nothing to decide and nobody to tell: adapters pass requests straight to the app.
        self.inert = not self.layers and not self.thresholds and not self.reporters

    def __repr__(self) -> str:
        names = ", ".join(layer.name for layer in self.layers)
        return f"Shield([{names}], mode={self.mode!r}, store={self.store!r})"

    @classmethod
    def default(cls, secret: Any = None, **options: Any) -> Shield:
        """The recommended chain (see `shieldware.presets`); ``secret`` signs challenges."""
        from .presets import default_shield

        return default_shield(secret, **options)

    # -- request facts -----------------------------------------------------------------------
    def facts_from_scope(self, scope: Mapping[str, Any]) -> Facts:
        return Facts.from_scope(scope, self.proxies)

    def facts_from_environ(self, environ: Mapping[str, Any]) -> Facts:
        return Facts.from_environ(environ, self.proxies)

    # -- evaluation ------------------------------------------------------------------------
    def flow(self, facts: Facts) -> Generator[Op[Any], Any, Decision]:
        """Evaluate the chain, yielding store ops; the driver sends back their results."""
        progress = Progress()
        trail = progress.trail
        decisive: Verdict | None = None
        for layer in self.layers:
            try:
                out = layer.check(facts, progress)
                if isinstance(out, Verdict):
                    verdict = out
                else:
                    verdict = yield from out
            except Exception as exc:
                verdict = self._failed(layer.name, exc)
            if verdict.shadow or isinstance(layer, _Shadowed):
                trail.append(verdict if verdict.shadow else _as_shadow(verdict))
                continue
            trail.append(verdict)
            progress.score += verdict.weight
            if verdict.action is not Action.PASS:
                decisive = verdict
                break
        if decisive is None and self.thresholds:
            decisive = yield from self._threshold(facts, progress)
            if decisive is not None:
                trail.append(decisive)
        return Decision(
            decisive or DEFAULT_ALLOW, tuple(trail), progress.score, self.mode == "enforce"
        )

    def _threshold(
        self, facts: Facts, progress: Progress
    ) -> Generator[Op[Any], Any, Verdict | None]:
        for threshold in self.thresholds:
            if progress.score < threshold.score:
                continue
            if threshold.action is Action.CHALLENGE and self.challenger is not None:
                verdict = yield from self._run(
                    threshold.rule, self.challenger.challenge, facts, progress
                )
                return verdict
            return Verdict(threshold.action, threshold.rule, Reason.SCORE)
        return None

    def _run(self, name: str, check: Any, facts: Facts, progress: Progress) -> Flow:
        """Run a check that may yield ops, turning failures into verdicts, never raising."""
        try:
            out = check(facts, progress)
            if isinstance(out, Verdict):
                return out
            verdict: Verdict = yield from out
            return verdict
        except Exception as exc:
            return self._failed(name, exc)

    def _failed(self, name: str, exc: Exception) -> Verdict:
        if isinstance(exc, StoreError):
            log.warning("shieldware: store failed in %s: %s", name, exc)
            if self.on_store_error == "closed":
                return Verdict(
                    Action.DENY,
                    name,
                    Reason.STORE_FAILED_CLOSED,
                    status=503,
                    retry_after=1.0,
                    degraded=True,
                )
            return Verdict(Action.PASS, name, Reason.STORE_FAILED_OPEN, degraded=True)
        log.error("shieldware: layer %s failed; letting the request through", name, exc_info=exc)
        return Verdict(Action.PASS, name, Reason.LAYER_FAILED, degraded=True)

    # -- drivers -----------------------------------------------------------------------------
    def decide(self, facts: Facts) -> Decision:
        """Decide synchronously (WSGI, Django under WSGI, scripts)."""
        gen = self.flow(facts)
        store = self.store
        try:
            op = next(gen)
            while True:
                try:
                    result = store.run(op)
                except StoreError as exc:
                    op = gen.throw(exc)
                else:
                    op = gen.send(result)
        except StopIteration as stop:
            decision: Decision = stop.value
        if self.reporters:
            self._report(decision, facts)
        return decision

    async def adecide(self, facts: Facts) -> Decision:
        """Decide asynchronously (ASGI); the store is reached without blocking the loop."""
        gen = self.flow(facts)
        store = self.store
        # A store whose ops never wait (the memory store) is called without a coroutine per op.
        inline = getattr(store, "runs_inline", False)
        try:
            op = next(gen)
            while True:
                try:
                    result = store.run(op) if inline else await store.arun(op)
                except StoreError as exc:
                    op = gen.throw(exc)
                else:
                    op = gen.send(result)
        except StopIteration as stop:
            decision: Decision = stop.value
        if self.reporters:
            self._report(decision, facts)
        return decision

    def finish(self, decision: Decision) -> None:
        """Run the decision's after-response ops (lease releases). Never raises."""
        for op in decision.after:
            try:
                self.store.run(op)
            except StoreError as exc:
                log.warning("shieldware: after-response op %r failed: %s", op, exc)

    async def afinish(self, decision: Decision) -> None:
        """`finish` for async adapters."""
        for op in decision.after:
            try:
                await self.store.arun(op)
            except StoreError as exc:
                log.warning("shieldware: after-response op %r failed: %s", op, exc)

    def close(self) -> None:
        """Release what the chain holds: layers' background work, then the store's connections.

        Call it on application shutdown (a lifespan handler, ``atexit``); idempotent.
        """
        for layer in self.layers:
            inner = layer.layer if isinstance(layer, _Shadowed) else layer
            close = getattr(inner, "close", None)
            if callable(close):
                try:
                    close()
                except Exception:
                    log.exception("shieldware: closing layer %s failed", layer.name)
        self.store.close()

    async def aclose(self) -> None:
        """`close` for async apps: also closes the store's asyncio connections on this loop."""
        aclose = getattr(self.store, "aclose", None)
        if callable(aclose):
            await aclose()
        self.close()

    def _report(self, decision: Decision, facts: Facts) -> None:
        for reporter in self.reporters:
            try:
                reporter.report(decision, facts)
            except Exception:
                log.exception("shieldware: reporter %r failed", reporter)


def _as_shadow(verdict: Verdict) -> Verdict:
    return verdict._replace(shadow=True)


def _check_layers(layers: Sequence[Any]) -> list[str]:
    errors: list[str] = []
    seen: set[str] = set()
    for index, layer in enumerate(layers):
        if not isinstance(layer, Layer):
            errors.append(f"layer #{index} ({layer!r}) has no `name` and `check(facts, progress)`")
            continue
        if layer.name in seen:
            errors.append(f"two layers are named {layer.name!r}; names must be unique")
        seen.add(layer.name)
    return errors
