"""The automatic trigger: notice a flood from the decisions themselves, and flip the switch.

An `AttackMonitor` is a reporter: it sees every decision of its Shield (and, through `timed`, the
app's own latency). Per wall-clock second it counts requests, refused or challenged ones, and
the app's mean latency; a second is *hot* when it carries at least `Trigger.min_rate` requests
and one signal fires:

- the refused/challenged share reaches `blocked_share`;
- the request rate reaches `rate_factor` times its recent baseline (an EWMA of calm seconds,
  never below `baseline_floor`);
- the app's mean latency reaches `latency` seconds.

When `hot_seconds` of the last `window` seconds are hot, the switch turns on (through the store,
so every worker follows). It turns off after `calm_period` seconds in a row without a hot second,
and only when it was turned on automatically. That gap is the hysteresis: a bursty flood whose
pauses are shorter than the calm period keeps the switch on, so one flood makes at most one
on/off cycle. A manual flip (anyone but ``"auto"``) holds the monitor back for `hold` seconds.

Memory is constant: one second of counters, a `window`-long ring of hot flags, a few numbers.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import ConfigurationError, StoreError
from ..facts import Facts
from ..verdict import Decision

if TYPE_CHECKING:
    from .state import Switch

__all__ = ["AttackMonitor", "Trigger"]

log = logging.getLogger("shieldware")

AUTO = "auto"
#: Seconds evaluated at most when the clock jumps (beyond, every second is calm anyway).
_CATCH_UP = 3600

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


@dataclass(frozen=True)
class Trigger:
    """The automatic trigger's thresholds (see the module docstring); None turns a signal off.

    :param min_rate: requests in one second (per process) before any signal counts.
    :param blocked_share: share of refused or challenged decisions.
    :param rate_factor: times the baseline request rate.
    :param baseline_floor: the baseline (requests/s) never counts as lower than this.
    :param baseline_alpha: EWMA weight of each calm second.
    :param latency: the app's mean latency in seconds (measured by `AttackMonitor.timed`).
    :param window: / `hot_seconds`: on when `hot_seconds` of the last `window` seconds are hot.
    :param calm_period: seconds in a row without a hot second before the switch turns off.
    :param hold: seconds a manual flip keeps the monitor from flipping.
    """

    min_rate: float = 20.0
    blocked_share: float | None = 0.5
    rate_factor: float | None = 4.0
    baseline_floor: float = 5.0
    baseline_alpha: float = 0.05
    latency: float | None = 1.0
    window: int = 5
    hot_seconds: int = 3
    calm_period: int = 30
    hold: float = 600.0

    def __post_init__(self) -> None:
        errors = []
        if self.min_rate < 1:
            errors.append("min_rate must be at least 1")
        if self.blocked_share is not None and not 0 < self.blocked_share <= 1:
            errors.append("blocked_share must be within (0, 1]")
        if self.rate_factor is not None and self.rate_factor <= 1:
            errors.append("rate_factor must be above 1")
        if self.latency is not None and self.latency <= 0:
            errors.append("latency must be positive")
        if not 0 < self.baseline_alpha <= 1 or self.baseline_floor < 0:
            errors.append("baseline_alpha must be within (0, 1], baseline_floor non-negative")
        if not 1 <= self.hot_seconds <= self.window <= 60:
            errors.append("need 1 <= hot_seconds <= window <= 60")
        if not 1 <= self.calm_period <= 86400 or self.hold < 0:
            errors.append("calm_period must be within 1..86400 s and hold non-negative")
        if self.blocked_share is None and self.rate_factor is None and self.latency is None:
            errors.append("at least one signal (blocked_share, rate_factor, latency) is needed")
        if errors:
            raise ConfigurationError("invalid Trigger: " + "; ".join(errors))

    def describe(self) -> str:
        """The rule in one sentence (``shieldware explain``, the live view)."""
        signals = []
        if self.blocked_share is not None:
            signals.append(f"refused/challenged share >= {self.blocked_share:.0%}")
        if self.rate_factor is not None:
            signals.append(
                f"rate >= {self.rate_factor:g}x baseline (EWMA, floor {self.baseline_floor:g}/s)"
            )
        if self.latency is not None:
            signals.append(f"app latency >= {self.latency:g} s")
        return (
            f"on when {self.hot_seconds} of the last {self.window} s see >= {self.min_rate:g} "
            f"req/s and {' or '.join(signals)}; off after {self.calm_period} s calm "
            f"(if turned on automatically); a manual flip holds it for {self.hold:g} s"
        )


@dataclass(frozen=True, slots=True)
class Second:
    """One evaluated second: what the monitor saw and concluded."""

    t: int
    requests: int
    blocked: int
    latency: float | None
    signals: tuple[str, ...]


class AttackMonitor:
    """Watches a Shield's decisions and flips its under-attack switch (see the module docstring).

    ``monitor = AttackMonitor(shield)`` adds itself to ``shield.reporters``. Wrap the app with
    ``monitor.timed(app)`` (inside the shield's middleware) to measure the app's own latency.

    :param shield: a `Shield` built with an attack profile.
    :param trigger: the thresholds.
    :param clock: wall-clock seconds (a seam for tests; also compared with the switch's record).
    """

    def __init__(
        self, shield: Any, trigger: Trigger | None = None, *, clock: Callable[[], float] = time.time
    ) -> None:
        switch = getattr(shield, "switch", None)
        if switch is None:
            raise ConfigurationError(
                "AttackMonitor needs a Shield built with attack=AttackProfile()"
            )
        self.switch: Switch = switch
        switch.monitor = self
        self.trigger = trigger or Trigger()
        self.clock = clock
        self._lock = threading.Lock()
        self._t = int(clock())
        self._requests = self._blocked = self._latency_n = 0
        self._latency_sum = 0.0
        self._hot: deque[bool] = deque(maxlen=self.trigger.window)
        self._calm = 0
        self._intent: bool | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        #: The EWMA of calm seconds' request rates.
        self.baseline = 0.0
        #: The last evaluated second.
        self.last: Second | None = None
        #: The flips this monitor asked for: (wall time, on), newest last (bounded).
        self.flips: deque[tuple[float, bool]] = deque(maxlen=64)
        if self not in shield.reporters:
            shield.reporters = (*shield.reporters, self)

    def __repr__(self) -> str:
        return f"AttackMonitor({self.trigger!r})"

    # -- feeding -------------------------------------------------------------------------------
    def report(self, decision: Decision, facts: Facts) -> None:
        blocked = decision.verdict.action.blocks
        now = self.clock()
        with self._lock:
            flip = self._advance(int(now)) if int(now) > self._t else None
            self._requests += 1
            if blocked:
                self._blocked += 1
        if flip is not None:
            self._flip(*flip)

    def observe_latency(self, seconds: float) -> None:
        """One response's time in the app (what `timed` measures)."""
        now = self.clock()
        with self._lock:
            flip = self._advance(int(now)) if int(now) > self._t else None
            self._latency_n += 1
            self._latency_sum += seconds
        if flip is not None:
            self._flip(*flip)

    def tick(self) -> None:
        """Evaluate the seconds that ended (reports do it too; call it when traffic stops)."""
        now = int(self.clock())
        with self._lock:
            flip = self._advance(now) if now > self._t else None
        if flip is not None:
            self._flip(*flip)

    # -- the rule ------------------------------------------------------------------------------
    def _advance(self, now: int) -> tuple[bool, str] | None:
        """Close the current second and the empty ones up to `now`; the flip to make, if any."""
        flip = self._evaluate(
            self._t,
            self._requests,
            self._blocked,
            self._latency_sum / self._latency_n if self._latency_n else None,
        )
        for t in range(self._t + 1, min(now, self._t + 1 + _CATCH_UP)):
            flip = self._evaluate(t, 0, 0, None) or flip
        self._t = now
        self._requests = self._blocked = self._latency_n = 0
        self._latency_sum = 0.0
        if flip is not None and flip[0] == self.switch.active:  # on and off again in one jump
            self._intent = None
            return None
        return flip

    def _evaluate(
        self, t: int, requests: int, blocked: int, latency: float | None
    ) -> tuple[bool, str] | None:
        tr = self.trigger
        signals: list[str] = []
        if requests >= tr.min_rate:
            if tr.blocked_share is not None and blocked >= tr.blocked_share * requests:
                signals.append(f"{blocked / requests:.0%} refused/challenged")
            if tr.rate_factor is not None:
                base = max(self.baseline, tr.baseline_floor)
                if requests >= tr.rate_factor * base:
                    signals.append(f"{requests} req/s vs baseline {base:.1f}")
            if tr.latency is not None and latency is not None and latency >= tr.latency:
                signals.append(f"app latency {latency:.2f} s")
        hot = bool(signals)
        self.last = Second(t, requests, blocked, latency, tuple(signals))
        self._hot.append(hot)
        active = self._active()
        if not hot and not active:
            self.baseline += tr.baseline_alpha * (requests - self.baseline)
        self._calm = 0 if hot else self._calm + 1
        if not active:
            if sum(self._hot) >= tr.hot_seconds and not self._held(t):
                self._intent = True
                self._calm = 0
                return True, "auto: " + "; ".join(signals or ("sustained",))
            return None
        state = self.switch.state
        if self._calm >= tr.calm_period and state.by == AUTO:
            self._intent = False
            self._hot.clear()
            return False, f"auto: calm for {self._calm} s"
        return None

    def _active(self) -> bool:
        return self._intent if self._intent is not None else self.switch.active

    def _held(self, t: float) -> bool:
        """A person flipped the switch lately: leave it to them for `hold` seconds."""
        state = self.switch.state
        return bool(state.at) and state.by != AUTO and t - state.at < self.trigger.hold

    # -- flipping ------------------------------------------------------------------------------
    def _flip(self, on: bool, reason: str) -> None:
        self.flips.append((self.clock(), on))
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if loop is None or getattr(self.switch.store, "runs_inline", False):
            try:
                self.switch.set(on, reason=reason, by=AUTO)
            except StoreError as exc:
                log.warning("shieldware: the monitor could not flip the switch: %s", exc)
            finally:
                self._intent = None
            return
        task = loop.create_task(self._aflip(on, reason))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _aflip(self, on: bool, reason: str) -> None:
        try:
            await self.switch.aset(on, reason=reason, by=AUTO)
        except StoreError as exc:
            log.warning("shieldware: the monitor could not flip the switch: %s", exc)
        finally:
            self._intent = None

    # -- latency -------------------------------------------------------------------------------
    def timed(self, app: ASGIApp) -> ASGIApp:
        """`app`, its HTTP responses timed into `observe_latency` (start to last body chunk).

        Put it inside the shield's middleware: ``ShieldMiddleware(monitor.timed(app), ...)``,
        so only the app's own time is measured.
        """
        observe = self.observe_latency
        clock = time.perf_counter

        async def timed_app(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            started = clock()
            done = False

            async def timing(message: Message) -> None:
                nonlocal done
                if (
                    not done
                    and message["type"] == "http.response.body"
                    and not message.get("more_body")
                ):
                    done = True
                    observe(clock() - started)
                await send(message)

            try:
                await app(scope, receive, timing)
            finally:
                if not done:
                    observe(clock() - started)

        return timed_app

    def timed_wsgi(self, app: Callable[..., Iterable[bytes]]) -> Callable[..., Iterable[bytes]]:
        """`timed` for a WSGI app (the time until it returns its body iterable)."""
        observe = self.observe_latency
        clock = time.perf_counter

        def timed_app(environ: Any, start_response: Any) -> Iterable[bytes]:
            started = clock()
            try:
                return app(environ, start_response)
            finally:
                observe(clock() - started)

        return timed_app

    # -- reading -------------------------------------------------------------------------------
    def describe(self) -> list[str]:
        """The rule and what the monitor sees now, for people."""
        lines = [self.trigger.describe()]
        last = self.last
        now = (
            f"last second: {last.requests} req, {last.blocked} refused/challenged"
            + (f", app {last.latency * 1000:.0f} ms" if last.latency is not None else "")
            + (f" -> hot ({'; '.join(last.signals)})" if last.signals else " -> calm")
            if last is not None
            else "no traffic seen yet"
        )
        lines.append(
            f"{now}; baseline {self.baseline:.1f} req/s; "
            f"{sum(self._hot)} of the last {len(self._hot)} s hot; calm for {self._calm} s"
        )
        return lines
