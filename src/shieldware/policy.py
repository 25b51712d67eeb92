"""The policy chain: ordered layers in, one `Decision` out.

`Shield` compiles its chain once, at construction: each layer's name, check, shadowing and failure
policy become one `Step`; layers that can never speak drop out; a shield with nothing to decide is
`inert` and adapters pass its requests straight through. The chain's rules live once, in the
methods both drivers share (`_count`, `_after_chain`, `_failed`, `_conclude`); `decide` and
`adecide` are plain loops that drive a generator only for a layer that returns one.

Semantics, in order:
1. Layers run in the order given. A PASS verdict adds its weight to the score and the chain goes on.
2. The first decisive verdict (ALLOW, THROTTLE, CHALLENGE, DENY) ends the chain.
3. If none decides, the highest `Threshold` the score reaches decides (a CHALLENGE threshold asks
   the challenger); otherwise ``default/allow``.
4. Shadow verdicts (from a shadowed layer) are recorded but neither counted nor decisive.
5. In ``shadow`` mode the decision is made and reported but never enforced.
6. A store error a layer does not handle is answered by the layer's failure policy (the Shield's
   unless the layer sets its own; a challenger's is ``"closed"``: it never fails into the app).
   A busy store (`StoreOverloaded`) is always shed with 503. A layer that raises anything else is
   logged and answered by the same policy, or re-raised with ``debug=True``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from .clientip import TrustedProxies
from .errors import BadRequest, ConfigurationError, StoreError, StoreOverloaded
from .facts import Facts
from .layer import (
    Ask,
    Challenger,
    FailurePolicy,
    Flow,
    Layer,
    Progress,
    Reporter,
    Threshold,
    check_failure_policy,
    store_failed,
    store_overloaded,
    unwrap,
)
from .quietlog import QuietLog
from .stores import MemoryStore, Store, require_ops, store_from_url
from .verdict import ALLOWED, DEFAULT_ALLOW, Action, Decision, Reason, Verdict

if TYPE_CHECKING:
    from .attack import AttackEvent, AttackProfile, AttackState, Switch

__all__ = ["Mode", "Shield", "Step"]

log = logging.getLogger("shieldware")

#: Seconds `Shield.finish` waits before asking a busy store again to run an after-op (about a
#: second in all): bounded queueing, so a released lease is not lost to a burst.
AFTER_WAITS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.4)

Mode = Literal["enforce", "shadow"]
Check = Callable[[Facts, Progress], "Verdict | Flow | Ask"]


class Step(NamedTuple):
    """One compiled link of the chain."""

    name: str
    check: Check
    shadow: bool
    on_store_error: FailurePolicy


class Shield:
    """The policy chain and everything it needs to decide.

    :param layers: the defense layers, in evaluation order.
    :param store: a `Store`, a store URL (``"memory://"``, ``"redis://127.0.0.1:6379/0"``), or
        None for a bounded `MemoryStore`. Wrap a shared store in `FallbackStore` to keep limits
        per process while it is down.
    :param mode: ``"enforce"`` blocks; ``"shadow"`` decides and reports but never blocks.
    :param thresholds: score thresholds applied when no layer decided.
    :param trusted_proxies: addresses/CIDRs (or a `TrustedProxies`) whose forwarding headers are
        believed. Nothing is trusted by default.
    :param reporters: receive every decision.
    :param on_store_error: what every layer that does not set its own does when the store fails:
        ``"open"`` lets the request through (marked degraded), ``"closed"`` refuses it with 503.
        Challengers default to ``"closed"``.
    :param challenger: who answers a CHALLENGE threshold; the first layer that can, by default.
    :param debug: re-raise a layer's exception instead of answering it with the failure policy
        (for tests and development; never in production).
    :param attack: what the under-attack switch changes (an `AttackProfile`); None: no switch.
        The attack chain is compiled here, beside the normal one; `under_attack` flips it.
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
        debug: bool = False,
        attack: AttackProfile | None = None,
    ) -> None:
        self.layers: tuple[Layer, ...] = tuple(layers)
        errors = _check_layers(self.layers)
        if mode not in ("enforce", "shadow"):
            errors.append(f"mode must be 'enforce' or 'shadow', not {mode!r}")
        try:
            check_failure_policy(on_store_error, allow_none=False)
        except ConfigurationError as exc:
            errors.append(str(exc))
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
        self.debug = debug
        # What a flood can trigger per request is logged at most once a second per kind and rule.
        self._quiet = QuietLog(log)
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
        for layer in self.layers:
            inner = unwrap(layer)
            require_ops(self.store, getattr(inner, "ops", ()), f"layer {layer.name!r}")
        self._steps = tuple(self._step(layer) for layer in self.layers if not _inert(layer))
        self._challenge_step = (
            None
            if self.challenger is None
            else Step("", self.challenger.challenge, False, self._policy_of(self.challenger))
        )
        self._threshold_steps = tuple((t.score, self._threshold_step(t)) for t in self.thresholds)
        self._enforced = mode == "enforce"
        self._inline = bool(getattr(self.store, "runs_inline", False))
        #: The under-attack switch (None without an attack profile): picks the compiled chain.
        self.switch: Switch | None = None if attack is None else self._compile_attack(attack)
        #: Nothing to decide and nobody to tell: adapters pass requests straight to the app.
        self.inert = (
            not self._steps and not self.thresholds and not self.reporters and self.switch is None
        )

    def __repr__(self) -> str:
        names = ", ".join(layer.name for layer in self.layers)
        return f"Shield([{names}], mode={self.mode!r}, store={self.store!r})"

    @classmethod
    def default(cls, secret: Any = None, **options: Any) -> Shield:
        """The recommended chain (see `shieldware.presets`); ``secret`` signs challenges."""
        from .presets import default_shield

        return default_shield(secret, **options)

    # -- compilation -------------------------------------------------------------------------
    def _step(self, layer: Layer) -> Step:
        inner = unwrap(layer)
        return Step(layer.name, layer.check, inner is not layer, self._policy_of(inner))

    def _compile_attack(self, profile: AttackProfile) -> Switch:
        """The attack chain, compiled once beside the normal one, and the switch between them."""
        from .attack import Switch, switch_ops

        layers = profile.compile(self.layers, self.challenger)
        try:
            require_ops(self.store, switch_ops(), "the under-attack switch")
        except ConfigurationError as exc:
            raise ConfigurationError(f"{exc} (or build the Shield with attack=None)") from None
        for layer in layers:
            inner = unwrap(layer)
            require_ops(self.store, getattr(inner, "ops", ()), f"attack layer {layer.name!r}")
        steps = tuple(self._step(layer) for layer in layers if not _inert(layer))
        self.attack_profile = profile
        self.attack_layers = tuple(layers)
        return Switch(
            self.store,
            self._steps,
            steps,
            listeners=self._attack_listeners,
            refresh=profile.refresh,
        )

    def _attack_listeners(self) -> list[Callable[[AttackEvent], None]]:
        return [
            hook
            for hook in (getattr(r, "attack_changed", None) for r in self.reporters)
            if callable(hook)
        ]

    def _need_switch(self) -> Switch:
        if self.switch is None:
            raise ConfigurationError(
                "this Shield has no attack profile: Shield(..., attack=AttackProfile())"
            )
        return self.switch

    # -- the under-attack switch ----------------------------------------------------------------
    def under_attack(
        self,
        on: bool = True,
        *,
        reason: str = "",
        until: str | float | datetime | timedelta | None = None,
        by: str = "python",
    ) -> AttackState:
        """Turn the under-attack profile on (or off) for every worker sharing the store.

        :param reason: why (reported with the flip, shown in the live view).
        :param until: when it turns off by itself: a `datetime`, a `timedelta`, epoch seconds, or
            text (``"30m"``, ``"2h"``, an ISO time).
        :param by: who flips it (``"cli:ann"``, ``"liveview"``, ``"auto"``).
        :returns: the record written. Raises `StoreError` when the store cannot take it.
        """
        return self._need_switch().set(on, reason=reason, until=until, by=by)

    async def aunder_attack(
        self,
        on: bool = True,
        *,
        reason: str = "",
        until: str | float | datetime | timedelta | None = None,
        by: str = "python",
    ) -> AttackState:
        """`under_attack` for async code (the store is reached without blocking the loop)."""
        return await self._need_switch().aset(on, reason=reason, until=until, by=by)

    def attack_status(self) -> AttackState:
        """The switch's record as the store holds it now (``.active(time.time())`` says whether
        the attack profile runs)."""
        return self._need_switch().status()

    def _policy_of(self, layer: object) -> FailurePolicy:
        own = check_failure_policy(getattr(layer, "on_store_error", None))
        if own is not None:
            return own
        # A challenger that cannot reach its store must not wave requests through to the app.
        return "closed" if isinstance(layer, Challenger) else self.on_store_error

    # -- request facts -----------------------------------------------------------------------
    def facts_from_scope(self, scope: Mapping[str, Any]) -> Facts:
        return Facts.from_scope(scope, self.proxies)

    def facts_from_environ(self, environ: Mapping[str, Any]) -> Facts:
        return Facts.from_environ(environ, self.proxies)

    # -- drivers -----------------------------------------------------------------------------
    def decide(self, facts: Facts, *, report: bool = True) -> Decision:
        """Decide synchronously (WSGI, Django under WSGI, scripts).

        :param report: False to decide without telling the reporters (``shieldware explain``).
        """
        progress = Progress()
        switch = self.switch
        if switch is None:
            steps = self._steps
        else:
            if switch.monotonic() >= switch.due:
                switch.refresh()
            steps = switch.steps
        for step in steps:
            if self._count(step, self._run(step, facts, progress), progress):
                break
        else:
            last = self._after_chain(progress)
            if last is not None:
                self._count(last, self._run(last, facts, progress), progress)
        decision = self._conclude(progress)
        if report and self.reporters:
            self._report(decision, facts)
        return decision

    async def adecide(self, facts: Facts) -> Decision:
        """Decide asynchronously (ASGI); the store is reached without blocking the loop."""
        progress = Progress()
        switch = self.switch
        if switch is None:
            steps = self._steps
        else:
            if switch.monotonic() >= switch.due:
                await switch.arefresh()
            steps = switch.steps
        for step in steps:
            # A pure layer answers with a verdict: no coroutine is made for it.
            try:
                out = step.check(facts, progress)
            except Exception as exc:
                verdict = self._failed(step, exc)
            else:
                verdict = out if isinstance(out, Verdict) else await self._adrive(step, out)
            if self._count(step, verdict, progress):
                break
        else:
            last = self._after_chain(progress)
            if last is not None:
                self._count(last, await self._arun(last, facts, progress), progress)
        decision = self._conclude(progress)
        if self.reporters:
            self._report(decision, facts)
        return decision

    def _run(self, step: Step, facts: Facts, progress: Progress) -> Verdict:
        """One step, synchronously: a verdict, never an exception (unless ``debug``)."""
        try:
            out = step.check(facts, progress)
            if type(out) is Verdict:
                return out
            if type(out) is Ask:
                return out.then(self.store.run(out.op))
            flow: Flow = out  # type: ignore[assignment]
            store = self.store
            op = next(flow)
            while True:
                try:
                    result = store.run(op)
                except StoreError as exc:
                    op = flow.throw(exc)
                else:
                    op = flow.send(result)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]
        except Exception as exc:
            return self._failed(step, exc)

    async def _arun(self, step: Step, facts: Facts, progress: Progress) -> Verdict:
        """One step, asynchronously: a verdict, never an exception (unless ``debug``)."""
        try:
            out = step.check(facts, progress)
        except Exception as exc:
            return self._failed(step, exc)
        return out if isinstance(out, Verdict) else await self._adrive(step, out)

    async def _adrive(self, step: Step, out: Flow | Ask) -> Verdict:
        """Run a layer's store ops; a store whose ops never wait is called inline."""
        try:
            store = self.store
            inline = self._inline
            if type(out) is Ask:
                return out.then(store.run(out.op) if inline else await store.arun(out.op))
            flow: Flow = out  # type: ignore[assignment]
            op = next(flow)
            while True:
                try:
                    result = store.run(op) if inline else await store.arun(op)
                except StoreError as exc:
                    op = flow.throw(exc)
                else:
                    op = flow.send(result)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]
        except Exception as exc:
            return self._failed(step, exc)

    # -- the chain's rules (shared by both drivers) ----------------------------------------
    def _count(self, step: Step, verdict: Verdict, progress: Progress) -> bool:
        """Record `verdict` in the trail; True when it ends the chain."""
        if step.shadow or verdict.shadow:
            progress.trail.append(verdict if verdict.shadow else verdict._replace(shadow=True))
            return False
        progress.trail.append(verdict)
        progress.score += verdict.weight
        return verdict.action is not Action.PASS

    def _after_chain(self, progress: Progress) -> Step | None:
        """When no layer decided: the step that answers a reached threshold, if any."""
        for score, step in self._threshold_steps:
            if progress.score >= score:
                return step
        return None

    def _threshold_step(self, threshold: Threshold) -> Step:
        if threshold.action is Action.CHALLENGE and self._challenge_step is not None:
            return self._challenge_step._replace(name=threshold.rule)
        verdict = Verdict(threshold.action, threshold.rule, Reason.SCORE)
        return Step(threshold.rule, lambda _f, _p: verdict, False, self.on_store_error)

    def _failed(self, step: Step, exc: Exception) -> Verdict:
        if isinstance(exc, BadRequest):
            self._quiet.warning(step.name, "shieldware: %s; refused with 400", exc)
            return Verdict(Action.DENY, step.name, Reason.BAD_REQUEST, status=400)
        if isinstance(exc, StoreOverloaded):
            self._quiet.warning(
                step.name, "shieldware: store overloaded in %s; shedding: %s", step.name, exc
            )
            return store_overloaded(step.name)
        if isinstance(exc, StoreError):
            self._quiet.warning(step.name, "shieldware: store failed in %s: %s", step.name, exc)
            return store_failed(step.name, step.on_store_error)
        if self.debug:
            raise exc
        self._quiet.log(
            logging.ERROR,
            step.name,
            "shieldware: layer %s failed; answering %r",
            step.name,
            step.on_store_error,
            exc_info=exc,
        )
        verdict = store_failed(step.name, step.on_store_error)
        return verdict._replace(reason=Reason.LAYER_FAILED)

    def _conclude(self, progress: Progress) -> Decision:
        trail = progress.trail
        if not trail and self._enforced:
            return ALLOWED
        last = trail[-1] if trail else None
        decisive = (
            last
            if last is not None and not last.shadow and last.action is not Action.PASS
            else DEFAULT_ALLOW
        )
        return Decision.from_trail(decisive, tuple(trail), progress.score, self._enforced)

    # -- after the response ------------------------------------------------------------------
    def finish(self, decision: Decision) -> None:
        """Run the decision's after-response ops (lease releases). Never raises.

        A busy store (`StoreOverloaded`) is waited for, a little longer each time and for about
        a second at most per decision, however many ops it holds (`AFTER_WAITS`): a lease given
        back late is better than one held until it expires, locking its client out.
        """
        waits = iter(AFTER_WAITS)  # one budget for the whole decision, however many ops
        for op in decision.after:
            while True:
                try:
                    self.store.run(op)
                except StoreError as exc:
                    wait = next(waits, None) if isinstance(exc, StoreOverloaded) else None
                    if wait is not None:
                        time.sleep(wait)
                        continue
                    self._after_failed(op, exc)
                break

    async def afinish(self, decision: Decision) -> None:
        """`finish` for async adapters."""
        waits = iter(AFTER_WAITS)
        for op in decision.after:
            while True:
                try:
                    await self.store.arun(op)
                except StoreError as exc:
                    wait = next(waits, None) if isinstance(exc, StoreOverloaded) else None
                    if wait is not None:
                        await asyncio.sleep(wait)
                        continue
                    self._after_failed(op, exc)
                break

    def _after_failed(self, op: object, exc: StoreError) -> None:
        self._quiet.warning("after", "shieldware: after-response op %r failed: %s", op, exc)

    def close(self) -> None:
        """Release what the chain holds: layers' background work, then the store's connections.

        Call it on application shutdown (a lifespan handler, ``atexit``); idempotent.
        """
        for layer in self.layers:
            inner = unwrap(layer)
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


def _inert(layer: Layer) -> bool:
    inner = unwrap(layer)
    return getattr(inner, "inert", False) is True


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
